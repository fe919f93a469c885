"""Counts and the one-sentence message of a sync (DESIGN §2 SyncReport summary), from items."""

from collections.abc import Iterable

from gwsync.api.provisioning import SyncSummary
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
    summary = SyncSummary()
    for item in items:
        if item.type is ItemType.USER:
            count_user(summary, item)
        elif item.type is ItemType.TEAM:
            teams = summary.teams
            if item.result is Result.FAILED:
                teams.failed += 1
            elif item.result is Result.SKIPPED:
                pass
            elif item.action is Action.CREATE:
                teams.created += 1
            elif item.action is Action.ADOPT:  # an existing group: never "created"
                teams.adopted += 1
            else:
                teams.unchanged += 1
        else:
            memberships = summary.memberships
            if item.result is Result.FAILED:
                memberships.failed += 1
            elif item.result in DONE and item.action is Action.ADD_MEMBER:
                memberships.added += 1
            elif item.result in DONE:
                memberships.removed += 1
    return summary


def count_user(summary: SyncSummary, item: ReportItem) -> None:
    users = summary.users
    if item.result is Result.FAILED:
        users.failed += 1
    elif item.result is Result.SKIPPED:
        users.held += item.details.startswith(HELD)
    else:
        name = USER_COUNTS[item.action]
        setattr(users, name, getattr(users, name) + 1)


def not_applied(items: Iterable[ReportItem]) -> int:
    """Items skipped for another reason than the removal brake."""
    return sum(item.result is Result.SKIPPED and not item.details.startswith(HELD) for item in items)


def describe(summary: SyncSummary, *, dry_run: bool, held_reason: str | None, skipped: int = 0) -> str:
    """One sentence: what changed (or would), what failed, what was not applied and what was held."""
    u, t, m = summary.users, summary.teams, summary.memberships
    parts = [
        f"{n} {label}"
        for n, label in (
            (u.created, "users created"),
            (u.updated, "updated"),
            (u.renamed, "renamed"),
            (u.adopted, "adopted"),
            (u.deprovisioned, "deprovisioned"),
            (t.created, "teams created"),
            (t.adopted, "teams adopted"),
            (m.added, "members added"),
            (m.removed, "members removed"),
        )
        if n
    ]
    changed = ", ".join(parts) if parts else "nothing else to change" if held_reason else "nothing to change"
    text = f"Dry run, would apply: {changed}" if dry_run else changed[0].upper() + changed[1:]
    failed = u.failed + t.failed + m.failed
    if failed:
        text += f"; {failed} items failed and will be retried by the next sync"
    if skipped:
        text += f"; {skipped} items not applied"
    if u.pending_removal:
        text += f"; {u.pending_removal} removals pending until their grace period ends"
    if held_reason:
        text += f"; {u.held} removals held ({held_reason}) until approved"
    return text + f" ({u.unchanged} users unchanged)."
