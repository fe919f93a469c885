"""While syncs run the collector runs less often and threads switch sooner; once the last one
ends the interpreter is as it was."""

import gc
import sys

from gwsync.sync.interpreter import OLDER_THRESHOLD, SWITCH_INTERVAL, YOUNG_THRESHOLD, tuned_for_syncs


def settings() -> tuple[tuple[int, int, int], float]:
    return gc.get_threshold(), sys.getswitchinterval()


def test_overlapping_syncs_put_the_settings_back_when_the_last_one_ends() -> None:
    before = settings()
    first, second = tuned_for_syncs(), tuned_for_syncs()
    first.__enter__()
    young, older, oldest = before[0]
    thresholds = (max(young, YOUNG_THRESHOLD), max(older, OLDER_THRESHOLD), oldest)
    tuned = (thresholds, min(before[1], SWITCH_INTERVAL))
    assert settings() == tuned
    second.__enter__()
    first.__exit__(None, None, None)  # the first ends while the second still runs
    assert settings() == tuned
    second.__exit__(None, None, None)
    assert settings() == before


def test_a_sync_that_raises_puts_them_back_too() -> None:
    before = settings()
    try:
        with tuned_for_syncs():
            raise RuntimeError("the sync failed")
    except RuntimeError:
        pass
    assert settings() == before
