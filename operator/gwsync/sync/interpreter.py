"""The interpreter tuned while syncs run (issue 12): fewer garbage collections, quicker thread switches.

Fewer collections. Python's cyclic collector runs a young collection every 700 net
allocations, and each full collection scans every object the process holds. A sync makes
hundreds of thousands of objects that live until it ends (the two reads, the plan, the writes
waiting for their Bulk request), so they are scanned again and again: measured on an initial
sync of 10,000 users into a Bulk target, 1.3-1.6 of gwsync's 3.0-3.2 CPU seconds were spent in
collections (bench/README.md, SCIM Bulk). Little of what a sync makes is cyclic: reference
counting frees it, the collector finds next to nothing. So the young threshold is raised:
cyclic garbage still goes, only in fewer, larger collections.

Quicker thread switches. The Google read is a chain of page requests made by one thread
while another turns the pages into people (sources.google). When a thread that was waiting on
the network wants the interpreter lock back, Python lets the running thread keep it for up to
the switch interval (5 ms by default), several times per page: measured on the daily sync of
100,000 users, a page took 115-121 ms instead of 106-107 ms alone (p90 144 ms). At 0.5 ms it
takes 110-115 ms (p90 114 ms), about 1.4 s less over the 200 pages.

`tuned_for_syncs()` sets both while at least one sync runs in the process and puts the
previous values back when the last one ends, however syncs overlap (the operator runs one per
GoogleProvisioning, at the same time).
"""

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 100_000
"""Net allocations between two young collections while a sync runs (Python's default: 700)."""
SWITCH_INTERVAL = 0.0005
"""Seconds a thread may keep the interpreter lock when another asks for it (default: 0.005)."""


class _Saved:
    running = 0
    thresholds: tuple[int, int, int] = (700, 10, 10)
    switch_interval = 0.005


@contextmanager
def tuned_for_syncs() -> Iterator[None]:
    if _Saved.running == 0:
        _Saved.thresholds, _Saved.switch_interval = gc.get_threshold(), sys.getswitchinterval()
        young, older, oldest = _Saved.thresholds
        gc.set_threshold(max(young, YOUNG_THRESHOLD), older, oldest)
        sys.setswitchinterval(min(_Saved.switch_interval, SWITCH_INTERVAL))
    _Saved.running += 1
    try:
        yield
    finally:
        _Saved.running -= 1
        if _Saved.running == 0:
            gc.set_threshold(*_Saved.thresholds)
            sys.setswitchinterval(_Saved.switch_interval)
