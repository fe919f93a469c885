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


def test_one_of_a_kind_is_singular_and_more_are_plural() -> None:
    one = SyncSummary.model_validate(
        {
            "users": {"created": 1, "failed": 1, "held": 1, "unchanged": 1},
            "teams": {"created": 1, "adopted": 1},
            "memberships": {"added": 1, "removed": 1},
        }
    )
    assert describe(one, dry_run=False, held_reason="1 removal exceeds maxCount 0", skipped=1) == (
        "1 user created, 1 team created, 1 team adopted, 1 member added, 1 member removed; 1 item failed "
        "and will be retried by the next sync; 1 item not applied; 1 removal held (1 removal exceeds "
        "maxCount 0) until approved (1 user unchanged)."
    )
    two = SyncSummary.model_validate(
        {"users": {"created": 2, "unchanged": 2}, "teams": {"created": 2}, "memberships": {"added": 2}}
    )
    assert describe(two, dry_run=True, held_reason=None) == (
        "Dry run, would apply: 2 users created, 2 teams created, 2 members added (2 users unchanged)."
    )
