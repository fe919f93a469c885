"""One sync (DESIGN §3): read the source → read the target → plan → guard → apply → report.

Usable without Kubernetes: the controller, `gwsync sync` and the benchmarks all call
`run_sync`. The engine owns no state: it takes the ledger and returns the updated one.
The source and the target are read at the same time (the source's blocking read in a
thread; the target's users and groups listed together), since over the internet each read is
mostly waiting. A source that cannot be read completely fails the sync before anything is
removed (a partial read would look like departures): only creates nothing could change were
written by then, into a batching target (sync.early), and they are kept and reported; the
target read it overlapped is cancelled and its result dropped. When both reads fail, the
source's failure is the one reported, as when they ran one after the other.

A whole sync has a deadline, spec.syncTimeout (`sync_deadline`, around what the controller and
`gwsync sync` run): a target that stalls, or trickles its answers, cannot hold a sync (and its
lock) for ever.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from gwsync.api.provisioning import GoogleProvisioningSpec, SyncPhase, SyncSummary
from gwsync.api.report import Action, ReportItem, Result
from gwsync.sync.apply import apply_plan
from gwsync.sync.early import EarlyCreates, EarlyPlan, recorded, source_failed
from gwsync.sync.guards import DEFAULT_APPROVE_HINT, guard_removals
from gwsync.sync.interpreter import tuned_for_syncs
from gwsync.sync.ledger import Ledger
from gwsync.sync.mapping import source_fields
from gwsync.sync.plan import make_plan, member_selection, source_groups, team_groups, trusted_entries
from gwsync.sync.ports import (
    GroupExternalIds,
    GroupMemberScope,
    Source,
    SourceUnavailable,
    Target,
    TargetError,
    TargetGroup,
    TargetUnavailable,
    TargetUser,
)
from gwsync.sync.steps import Plan, UserStep
from gwsync.sync.summary import describe, not_applied, summarize


@dataclass
class SyncOutcome:
    """The result of one sync, ready for a SyncReport and the ledger store."""

    phase: SyncPhase
    message: str
    items: list[ReportItem] = field(default_factory=list)
    summary: SyncSummary = field(default_factory=SyncSummary)
    ledger: Ledger = field(default_factory=Ledger.empty)
    held: list[str] = field(default_factory=list)
    target_unavailable: str | None = None
    """Set when the target refused to go on (TargetUnavailable: a refused token, a target gone):
    the one-sentence reason, for the TargetReachable=False condition. The sync is Failed."""


class SyncTimedOut(Exception):
    """The sync ran past spec.syncTimeout and was stopped; the message is the report's sentence."""


@contextlib.asynccontextmanager
async def sync_deadline(spec: GoogleProvisioningSpec) -> AsyncIterator[None]:
    """Stop the block once spec.syncTimeout has passed: SyncTimedOut.

    Everything under way is cancelled, so nothing planned is written after the deadline: the
    requests in flight are dropped and apply's writes not sent yet are never sent (the creates
    handed over during the read too, sync.early). What was written before stays, as after a
    killed process: the ledger holds it up to its last checkpoint, and the next sync adopts the
    rest by externalId. A blocking read in a thread (Google's) cannot be cancelled: it ends on
    its own, and what it returns is dropped.
    """
    limit = asyncio.timeout(spec.sync_deadline.total_seconds())
    try:
        async with limit:
            yield
    except TimeoutError:
        if not limit.expired():  # a timeout of its own inside the block, not the deadline
            raise
        raise SyncTimedOut(
            f"The sync did not finish within {spec.sync_timeout} (spec.syncTimeout) and was stopped: "
            "nothing more was written, what it wrote before stays, and the next sync goes on from "
            "there; if a sync of this size needs longer, raise spec.syncTimeout."
        ) from None


async def run_sync(
    source: Source,
    target: Target,
    spec: GoogleProvisioningSpec,
    ledger: Ledger,
    *,
    dry_run: bool = False,
    approved_removals: Collection[str] = (),
    checkpoint: Callable[[Ledger], Awaitable[None]] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    approve_hint: str = DEFAULT_APPROVE_HINT,
    now: datetime | None = None,
) -> SyncOutcome:
    """Run one sync of `spec` from `source` to `target`; never raises for item failures.
    `now`: the sync's time, for the grace period of leavers (default: the clock's now)."""
    with tuned_for_syncs():
        return await _run_sync(
            source, target, spec, ledger, dry_run, approved_removals, checkpoint, progress, approve_hint, now
        )


async def _run_sync(
    source: Source,
    target: Target,
    spec: GoogleProvisioningSpec,
    ledger: Ledger,
    dry_run: bool,
    approved_removals: Collection[str],
    checkpoint: Callable[[Ledger], Awaitable[None]] | None,
    progress: Callable[[str, int, int], None] | None,
    approve_hint: str,
    now: datetime | None,
) -> SyncOutcome:
    # What a failure before the target is read keeps: nothing of a ledger of unknown origin,
    # since the ledger a sync returns is saved (and signed) as this operator's.
    fallback = ledger if ledger.verified else Ledger.empty()
    early = EarlyPlan(spec, fallback)
    creating: list[EarlyCreates] = []  # the creates written during the read, once the target is read

    async def read_target_early() -> tuple[list[TargetUser], list[TargetGroup]]:
        if isinstance(target, GroupMemberScope):
            target.read_members_of(fallback.teams.values())
        users, groups = await read_target(target)
        creates = EarlyCreates.into(target, dry_run)
        creating.extend([creates] if creates is not None else [])
        write = creates.hand if creates is not None else None
        await asyncio.to_thread(early.ready, users, target.unsupported_fields, write)
        return users, groups

    target_read = asyncio.ensure_future(read_target_early())
    try:
        directory = await asyncio.to_thread(
            source.read,
            source_groups(spec),
            source_fields(spec.attributes),
            early.page,
            member_selection(spec, ledger),
            team_groups(spec),
        )
    except BaseException as exc:
        target_read.cancel()
        await asyncio.gather(target_read, return_exceptions=True)
        if not isinstance(exc, SourceUnavailable):
            for creates in creating:
                creates.cancel()
            raise
        written = await creating[0].finish() if creating else []
        message, items, saved = source_failed(exc, fallback, written)
        return SyncOutcome("Failed", message, items, summarize(items), saved)
    try:
        users, groups = await target_read
    except TargetError as exc:
        return SyncOutcome(
            "Failed",
            f"The target could not be read, so nothing was changed: {exc}",
            ledger=fallback,
            target_unavailable=str(exc) if isinstance(exc, TargetUnavailable) else None,
        )
    written = await creating[0].finish() if creating else []  # every hand-over is made by now
    ledger = trusted_entries(ledger, users)
    early.wrote(written)
    notes = list(target.notes)
    if progress is not None:
        progress("read", len(users), len(directory.people))
    extensions = target.user_extensions
    unsupported = target.unsupported_fields
    settled = early.settled if early.unsupported == unsupported else early.facts()
    keeps_ids = isinstance(target, GroupExternalIds) and target.keeps_group_external_ids
    plan = make_plan(
        directory,
        spec,
        ledger,
        users,
        groups,
        unsupported,
        now,
        extensions=extensions,
        settled=settled,
        group_external_ids=keeps_ids,
    )
    recorded(plan, written)
    early.clear()
    seen = {user.id for user in users} if notes else set()
    # The plan holds what apply needs: let the reads go (issue 12, point 5: 100,000 people and
    # as many target users need not outlive the plan).
    del directory, users, groups, target_read, settled, written
    verdict = guard_removals(plan, spec.deprovision, approved_removals, approve_hint)
    stopped: str | None = None
    if dry_run:
        items, new_ledger = plan.items, ledger
    else:
        items, new_ledger, stopped = await apply_writes(plan, target, ledger, checkpoint, progress)
    summary = summarize(items)
    failed = any(item.result is Result.FAILED for item in items)
    phase: SyncPhase = "Blocked" if verdict.reason else "PartiallySucceeded" if failed else "Succeeded"
    message = describe(summary, dry_run=dry_run, held_reason=verdict.reason, skipped=not_applied(items))
    if stopped is not None:
        phase, message = "Failed", f"{stopped} The sync stopped: {message[0].lower()}{message[1:]}"
    if target.write_notes or plan.notes:  # what the target did with the writes (or cannot store)
        message = " ".join([message, *dict.fromkeys([*target.write_notes, *plan.notes])])
    if notes:
        # The read may be incomplete: users not seen are not taken as deleted by hand.
        message = " ".join([message, *notes])
        kept = {g: t for g, t in ledger.users.items() if t not in seen and g not in new_ledger.users}
        new_ledger = replace(new_ledger, users={**new_ledger.users, **kept}) if kept else new_ledger
    return SyncOutcome(phase, message, items, summary, new_ledger, verdict.held, stopped)


def writes_nothing(step: UserStep) -> bool:
    """An unchanged user, as planned, a user only taken into the ledger (renames.refound), or a
    create written while the source was read (sync.early): apply has nothing to send for it."""
    action, result = step.item.action, step.item.result
    return (
        (action is Action.UNCHANGED and result is Result.PLANNED)
        or (action is Action.ADOPT and result is Result.PLANNED and step.desired is None)
        or (action is Action.CREATE and result is not Result.PLANNED)
    )


async def apply_writes(
    plan: Plan,
    target: Target,
    ledger: Ledger,
    checkpoint: Callable[[Ledger], Awaitable[None]] | None,
    progress: Callable[[str, int, int], None] | None,
) -> tuple[list[ReportItem], Ledger, str | None]:
    """Apply the plan; its unchanged users do not go through apply (issue 12, point 5).

    A daily sync of 100,000 users writes about 1,000 of them. Apply would give each of the
    99,000 others a task and a copy of its item, and its batches of 200 steps would hold 2
    writes each, so the writes went about 2 at a time instead of `maxConcurrency`. The
    unchanged ones succeed as apply has them succeed (nothing to send, whether or not the
    target stops answering): their planned items, marked Succeeded in place (the plan is not
    used after this), keep their places among the user items. Progress counts them as done.
    """
    quiet = [writes_nothing(step) for step in plan.users]
    skipped = sum(quiet)
    counted = progress
    if skipped and progress is not None:
        told = progress
        told("users", skipped, len(quiet))

        def shifted(stage: str, done: int, total: int) -> None:
            shift = skipped if stage == "users" else 0
            told(stage, done + shift, total + shift)

        counted = shifted
    writing = replace(
        plan, users=[step for step, nothing in zip(plan.users, quiet, strict=True) if not nothing]
    )
    applied = await apply_plan(writing, target, ledger, checkpoint=checkpoint, progress=counted)
    written = iter(applied.items[: len(writing.users)])
    users: list[ReportItem] = []
    for step, nothing in zip(plan.users, quiet, strict=True):
        if nothing:
            if step.item.result is Result.PLANNED:  # unchanged (a create written early is done)
                step.item.result = Result.SUCCEEDED
            users.append(step.item)
        else:
            users.append(next(written))
    return [*users, *applied.items[len(writing.users) :]], applied.ledger, applied.stopped


async def read_target(target: Target) -> tuple[list[TargetUser], list[TargetGroup]]:
    """The target's users and groups, listed at the same time; the first failure cancels the other."""
    listing_users = asyncio.ensure_future(target.list_users())
    listing_groups = asyncio.ensure_future(target.list_groups())
    try:
        await asyncio.wait((listing_users, listing_groups), return_when=asyncio.FIRST_EXCEPTION)
        for task in (listing_users, listing_groups):  # the failure, whichever listing had it
            if task.done() and (failure := task.exception()) is not None:
                raise failure
        return listing_users.result(), listing_groups.result()
    finally:
        for task in (listing_users, listing_groups):
            task.cancel()
        await asyncio.gather(listing_users, listing_groups, return_exceptions=True)


def notable_items(items: Iterable[ReportItem], limit: int = 200) -> list[ReportItem]:
    """The items worth showing in status: failed first, then the changed ones, in order."""
    listed = list(items)
    failed = [item for item in listed if item.result is Result.FAILED]
    changed = [
        item for item in listed if item.result is not Result.FAILED and item.action is not Action.UNCHANGED
    ]
    return [*failed, *changed][:limit]
