"""While syncs run the collector runs less often; once the last one ends it is as it was."""

import gc

from gwsync.sync.collector import YOUNG_THRESHOLD, fewer_collections


def test_overlapping_syncs_put_the_thresholds_back_when_the_last_one_ends() -> None:
    before = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    assert gc.get_threshold()[0] == max(before[0], YOUNG_THRESHOLD)
    second.__enter__()
    first.__exit__(None, None, None)  # the first ends while the second still runs
    assert gc.get_threshold()[0] == max(before[0], YOUNG_THRESHOLD)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before


def test_a_sync_that_raises_puts_them_back_too() -> None:
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise RuntimeError("the sync failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
