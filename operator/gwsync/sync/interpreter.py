"""The interpreter tuned while syncs run (issue 12): fewer full garbage collections, quicker thread switches.

Collections. Python's cyclic collector runs a young collection every 700 net allocations, a
middle one every 10 young ones and a full one, scanning every object the process holds, every
10 middle ones. A sync makes hundreds of thousands of objects that live until it ends (the two
reads, the plan, the writes waiting for their Bulk request), so they were scanned again and
again: 1.3-1.6 of the 3.0-3.2 CPU seconds of an initial sync of 10,000 users into a Bulk target
(bench/README.md, SCIM Bulk), and, in the daily sync of 100,000 users, pauses of 50-100 ms
(middle) and 0.5 s (full) in which the thread reading Google's pages could not go on: each
pause lengthened the chain of 200 page requests. While a sync runs, young collections come
every 10,000 allocations (short) and the middle and full ones after 1,000 times as many young
ones, which a sync does not reach. Little of what a sync makes is cyclic: reference counting
frees it (the SCIM adapter lets each answer go as soon as its body is read, so a page's body
never waits for a collection); what little is cyclic and outlives a young collection waits
for the end of the sync.

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

YOUNG_THRESHOLD = 10_000
"""Net allocations between two young collections while a sync runs (Python's default: 700)."""
OLDER_THRESHOLD = 1000
"""Young collections between two middle ones (default: 10); ten middle ones make a full one."""
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
        gc.set_threshold(max(young, YOUNG_THRESHOLD), max(older, OLDER_THRESHOLD), oldest)
        sys.setswitchinterval(min(_Saved.switch_interval, SWITCH_INTERVAL))
    _Saved.running += 1
    try:
        yield
    finally:
        _Saved.running -= 1
        if _Saved.running == 0:
            gc.set_threshold(*_Saved.thresholds)
            sys.setswitchinterval(_Saved.switch_interval)
