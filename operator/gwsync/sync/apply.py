"""Apply a plan (DESIGN §3 rule 6): bounded concurrency, one result per item, never abort.

Order matters: users first (a team member must exist before it is added), then teams, then
memberships (removals before a user may be deleted), then deprovisioning. Every step is
wrapped so that a refusal, a timeout or a bug fails only its own item; the next sync plans
the same step again because the difference is still there. The ledger is updated as steps
succeed and handed to `checkpoint` after each batch, so a crash loses at most a batch.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import TypeVar

from gwsync.api.report import Action, ReportItem, Result
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import MemberStep, Plan, TeamStep, UserStep
from gwsync.sync.ports import Target, TargetError, TargetUnavailable

log = logging.getLogger(__name__)

BATCH = 200
MEMBER_CHUNK = 100
WRITING_USER_ACTIONS = frozenset({Action.CREATE, Action.UPDATE, Action.RENAME, Action.ADOPT})
REMOVALS = frozenset({Action.DEPROVISION, Action.DELETE})

S = TypeVar("S", UserStep, TeamStep)
Checkpoint = Callable[[Ledger], Awaitable[None]]
Progress = Callable[[str, int, int], None]


@dataclass
class Run:
    """What apply needs along the way: the target, the growing ledger and the hooks."""

    target: Target
    ledger: Ledger
    checkpoint: Checkpoint | None = None
    progress: Progress | None = None
    groups: dict[str, str] = field(default_factory=dict)  # team -> target group id

    async def saved(self) -> None:
        if self.checkpoint is not None:
            await self.checkpoint(self.ledger.copy())


def outcome(item: ReportItem, error: BaseException | None = None, **update: object) -> ReportItem:
    if error is None:
        return item.model_copy(update={"result": Result.SUCCEEDED, **update})
    if isinstance(error, TargetError):
        details = str(error)
    else:
        log.exception("Unexpected error applying %s %s", item.type, item.key, exc_info=error)
        details = f"Unexpected error: {type(error).__name__}: {error}"
    return item.model_copy(update={"result": Result.FAILED, "details": details, **update})


async def apply_user(run: Run, step: UserStep) -> ReportItem:
    item = step.item
    if item.result is not Result.PLANNED:  # held by the guard
        return item
    if item.action not in WRITING_USER_ACTIONS | REMOVALS:
        return outcome(item)
    gid = item.source_id or ""
    try:
        if item.action is Action.CREATE:
            assert step.desired is not None
            target_id = await run.target.create_user(step.desired)
            run.ledger.users[gid] = target_id
            return outcome(item, target_id=target_id)
        assert step.target_id is not None
        if item.action is Action.DELETE:
            await run.target.delete_user(step.target_id)
            run.ledger.users.pop(gid, None)
        elif item.action is Action.DEPROVISION:
            await run.target.deactivate_user(step.target_id)
        else:
            assert step.desired is not None
            await run.target.update_user(step.target_id, step.desired, step.fields)
            run.ledger.users[gid] = step.target_id
        return outcome(item)
    except TargetUnavailable:
        raise
    except Exception as exc:
        return outcome(item, exc)


async def apply_team(run: Run, step: TeamStep) -> ReportItem:
    try:
        if step.group_id is None:
            group_id = await run.target.create_group(step.team)
        else:
            group_id = step.group_id
        run.groups[step.team] = group_id
        run.ledger.teams[step.team] = group_id
        return outcome(step.item, target_id=group_id)
    except TargetUnavailable:
        raise
    except Exception as exc:
        return outcome(step.item, exc)


async def apply_members(run: Run, steps: Sequence[MemberStep]) -> list[ReportItem]:
    """One request per chunk of one team and one direction; the chunk's items share its fate."""
    team, add = steps[0].team, steps[0].add
    group_id = run.groups.get(team)
    ready: list[tuple[MemberStep, str]] = []
    items: list[ReportItem] = []
    for step in steps:
        user_id = run.ledger.users.get(step.source_id)
        if step.item.result is not Result.PLANNED:
            items.append(step.item)
        elif group_id is None or user_id is None:
            missing = f"team {team}" if group_id is None else "the user"
            skipped = {"result": Result.SKIPPED, "details": f"Not applied: {missing} could not be written."}
            items.append(step.item.model_copy(update=skipped))
        else:
            ready.append((step, user_id))
    for start in range(0, len(ready), MEMBER_CHUNK):
        chunk = ready[start : start + MEMBER_CHUNK]
        ids = [user_id for _, user_id in chunk]
        error: Exception | None = None
        try:
            assert group_id is not None
            await (run.target.add_members if add else run.target.remove_members)(group_id, ids)
        except TargetUnavailable:
            raise
        except Exception as exc:
            error = exc
        items.extend(outcome(step.item, error, target_id=user_id) for step, user_id in chunk)
    return items


async def in_batches(
    run: Run, phase: str, steps: Sequence[S], apply: Callable[[Run, S], Awaitable[ReportItem]]
) -> list[ReportItem]:
    items: list[ReportItem] = []
    for start in range(0, len(steps), BATCH):
        batch = steps[start : start + BATCH]
        items.extend(await asyncio.gather(*(apply(run, step) for step in batch)))
        if any(item.result is Result.SUCCEEDED and item.data_changed for item in items[start:]):
            await run.saved()
        if run.progress is not None:
            run.progress(phase, len(items), len(steps))
    return items


async def apply_plan(
    plan: Plan,
    target: Target,
    ledger: Ledger,
    *,
    checkpoint: Checkpoint | None = None,
    progress: Progress | None = None,
) -> tuple[list[ReportItem], Ledger]:
    """Apply every step; return the items with their results and the updated ledger."""
    # Users as planned: ledger entries whose target user still exists, plus those re-adopted
    # by externalId (no write needed); entries of users deleted by hand in the target go.
    run = Run(target, Ledger(dict(plan.managed), dict(ledger.teams)), checkpoint, progress)
    users = await in_batches(run, "users", plan.users, apply_user)
    teams = await in_batches(run, "teams", plan.teams, apply_team)
    groups = [list(g) for _, g in groupby(plan.members, key=lambda m: (m.team, m.add))]
    member_items = [
        item for batch in await asyncio.gather(*(apply_members(run, g) for g in groups)) for item in batch
    ]
    if run.progress is not None:
        run.progress("memberships", len(member_items), len(plan.members))
    removals = await in_batches(run, "removals", plan.removals, apply_user)
    return [*users, *teams, *member_items, *removals], run.ledger
