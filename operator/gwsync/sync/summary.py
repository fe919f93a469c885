"""Counts and the one-sentence message of a sync (DESIGN §2 SyncReport summary), from items."""

from collections import Counter
from collections.abc import Iterable

from gwsync.api.provisioning import MembershipCounts, SyncSummary, TeamCounts, UserCounts
from gwsync.api.report import Action, ItemType, ReportItem, Result

DONE = frozenset({Result.SUCCEEDED, Result.PLANNED})
HELD = "Held"
"""How the details of an item held by the removal brake start (guards.py); other Skipped items
were not applied (the sync stopped, or a step they needed did not succeed)."""
USER_COUNTS = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.RENAME: "renamed",
    Action.ADOPT: "adopted",
    Action.DEPROVISION: "deprovisioned",
    Action.DELETE: "deprovisioned",
    Action.PENDING_REMOVAL: "pending_removal",
    Action.UNCHANGED: "unchanged",
}


def summarize(items: Iterable[ReportItem]) -> SyncSummary:
    """The counts of `items`; counted in plain counters, since a daily sync has 100,000 of them."""
    users: Counter[str] = Counter()
    teams: Counter[str] = Counter()
    memberships: Counter[str] = Counter()
    for item in items:
        kind, result = item.type, item.result
        if kind is ItemType.USER:
            if result is Result.FAILED:
                users["failed"] += 1
            elif result is Result.SKIPPED:
                users["held"] += item.details.startswith(HELD)
            else:
                users[USER_COUNTS[item.action]] += 1
        elif kind is ItemType.TEAM:
            if result is Result.FAILED:
                teams["failed"] += 1
            elif result is Result.SKIPPED:
                pass
            elif item.action is Action.CREATE:
                teams["created"] += 1
            elif item.action is Action.ADOPT:  # an existing group: never "created"
                teams["adopted"] += 1
            elif item.action in (Action.UPDATE, Action.RENAME):  # its externalId or name written
                teams["updated"] += 1
            else:
                teams["unchanged"] += 1
        elif result is Result.FAILED:
            memberships["failed"] += 1
        elif result in DONE:
            memberships["added" if item.action is Action.ADD_MEMBER else "removed"] += 1
    return SyncSummary(
        users=UserCounts(**users), teams=TeamCounts(**teams), memberships=MembershipCounts(**memberships)
    )


def not_applied(items: Iterable[ReportItem]) -> int:
    """Items skipped for another reason than the removal brake."""
    return sum(item.result is Result.SKIPPED and not item.details.startswith(HELD) for item in items)


def counted(count: int, singular: str, plural: str) -> str:
    """`1 user created`, `2 users created`: the count with the words English wants after it."""
    return f"{count} {singular if count == 1 else plural}"


def describe(summary: SyncSummary, *, dry_run: bool, held_reason: str | None, skipped: int = 0) -> str:
    """One sentence: what changed (or would), what failed, what was not applied and what was held."""
    u, t, m = summary.users, summary.teams, summary.memberships
    parts = [
        counted(n, *words)
        for n, words in (
            (u.created, ("user created", "users created")),
            (u.updated, ("updated", "updated")),
            (u.renamed, ("renamed", "renamed")),
            (u.adopted, ("adopted", "adopted")),
            (u.deprovisioned, ("deprovisioned", "deprovisioned")),
            (t.created, ("team created", "teams created")),
            (t.adopted, ("team adopted", "teams adopted")),
            (t.updated, ("team updated", "teams updated")),
            (m.added, ("member added", "members added")),
            (m.removed, ("member removed", "members removed")),
        )
        if n
    ]
    changed = ", ".join(parts) if parts else "nothing else to change" if held_reason else "nothing to change"
    text = f"Dry run, would apply: {changed}" if dry_run else changed[0].upper() + changed[1:]
    failed = u.failed + t.failed + m.failed
    if failed:
        text += f"; {counted(failed, 'item', 'items')} failed and will be retried by the next sync"
    if skipped:
        text += f"; {counted(skipped, 'item', 'items')} not applied"
    if u.pending_removal:
        text += "; " + counted(
            u.pending_removal,
            "removal pending until its grace period ends",
            "removals pending until their grace period ends",
        )
    if held_reason:
        text += f"; {counted(u.held, 'removal', 'removals')} held ({held_reason}) until approved"
    return text + f" ({counted(u.unchanged, 'user', 'users')} unchanged)."
