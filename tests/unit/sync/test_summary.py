"""The one-sentence outcome of a sync, as people read it in reports, status and the CLI."""

from gwsync.api.provisioning import SyncSummary
from gwsync.sync.summary import describe


def summary(**users: int) -> SyncSummary:
    return SyncSummary.model_validate({"users": users})


def test_changes_are_listed_with_the_unchanged_count() -> None:
    text = describe(summary(created=2, renamed=1, unchanged=7), dry_run=False, held_reason=None)
    assert text == "2 users created, 1 renamed (7 users unchanged)."


def test_a_dry_run_says_what_it_would_apply() -> None:
    assert describe(summary(unchanged=3), dry_run=True, held_reason=None) == (
        "Dry run, would apply: nothing to change (3 users unchanged)."
    )


def test_held_removals_alone_do_not_read_as_nothing_to_change() -> None:
    text = describe(summary(held=4, unchanged=5), dry_run=False, held_reason="4 removals exceed maxCount 2")
    assert text == (
        "Nothing else to change; 4 removals held (4 removals exceed maxCount 2) until approved "
        "(5 users unchanged)."
    )
