"""Fewer garbage collections while syncs run (issue 12: half of a large sync's CPU was the GC).

Python's cyclic collector runs a young collection every 700 net allocations, and each full
collection scans every object the process holds. A sync makes hundreds of thousands of
objects that live until it ends (the two reads, the plan, the writes waiting for their Bulk
request), so they are scanned again and again: measured on an initial sync of 10,000 users
into a Bulk target, 1.3-1.6 of gwsync's 3.0-3.2 CPU seconds were spent in collections
(bench/README.md, SCIM Bulk). Little of what a sync makes is cyclic: reference counting frees
it, the collector finds next to nothing.

`fewer_collections()` raises the young threshold while at least one sync runs in the process
and puts the previous thresholds back when the last one ends, however syncs overlap (the
operator runs one per GoogleProvisioning, at the same time). Cyclic garbage still goes, only
in fewer, larger collections.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 100_000
"""Net allocations between two young collections while a sync runs (Python's default: 700)."""


class _Collections:
    running = 0
    saved: tuple[int, int, int] = (700, 10, 10)


@contextmanager
def fewer_collections() -> Iterator[None]:
    if _Collections.running == 0:
        _Collections.saved = gc.get_threshold()
        young, older, oldest = _Collections.saved
        gc.set_threshold(max(young, YOUNG_THRESHOLD), older, oldest)
    _Collections.running += 1
    try:
        yield
    finally:
        _Collections.running -= 1
        if _Collections.running == 0:
            gc.set_threshold(*_Collections.saved)
