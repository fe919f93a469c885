"""Apply a plan (DESIGN §3 rule 6): bounded concurrency, one result per item, never abort.

Order matters: users first (a team member must exist before it is added), then teams, then
memberships (removals before a user may be deleted), then deprovisioning. Every step is
wrapped so that a refusal, a timeout or a bug fails only its own item; the next sync plans
the same step again because the difference is still there. The ledger is updated as steps
succeed and handed to `checkpoint` after each batch, so a crash loses at most a batch.

A target that batches writes (`Batching`: SCIM Bulk) is handed `batch_size` writes at once,
its creates in one call (`create_users`, `apply_together`: no task each, which was most of
the CPU of an initial sync into Bulk), and then teams come first: a new user's additions to
teams go with its create (`add_created_members`), so one request can carry both.

One failure does stop everything: TargetUnavailable (the target refuses the token, or is
gone). Then the requests still in flight are cancelled, nothing more is sent, the ledger of
what was written is checkpointed, and every step not done is reported Skipped with the reason.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, TypeVar

from gwsync.api.attributes import MANAGER
from gwsync.api.report import Action, ReportItem, Result
from gwsync.sync.ledger import Ledger
from gwsync.sync.ports import (
    WRITE_BATCH,
    Batching,
    GroupExternalIds,
    Target,
    TargetError,
    TargetUnavailable,
    UserAttributes,
)
from gwsync.sync.steps import ITEM_FIELDS, MemberStep, Plan, TeamStep, UserStep

log = logging.getLogger(__name__)

BATCH = WRITE_BATCH
MEMBER_CHUNK = 100
STARTS = 500
"""Jobs started per turn of the event loop: with a batching target (thousands of writes at
once), the first Bulk requests are sent while the next writes are being prepared."""
WRITING_USER_ACTIONS = frozenset({Action.CREATE, Action.UPDATE, Action.RENAME, Action.ADOPT})
REMOVALS = frozenset({Action.DEPROVISION, Action.DELETE})

S = TypeVar("S", UserStep, TeamStep)
T = TypeVar("T")
NOT_APPLIED = "Not applied: the sync stopped: "
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
    stopped: TargetUnavailable | None = None  # set when the target refused to go on
    unwritten: set[str] = field(default_factory=set)  # target ids whose user step did not succeed
    with_manager: set[str] = field(default_factory=set)  # Google ids written with a manager made now
    handed: dict[str, str] = field(default_factory=dict)  # re-hire's Google id -> deleted account's
    batch: int = BATCH  # writes started at once
    batching: bool = False  # the target is Batching: creates are handed over together
    joined: dict[str, list[MemberStep]] = field(
        default_factory=dict
    )  # Google id -> additions with its create
    joined_items: dict[int, ReportItem] = field(default_factory=dict)  # id(MemberStep) -> its item

    async def saved(self) -> None:
        if self.checkpoint is not None:
            await self.checkpoint(self.ledger.copy())


def outcome(item: ReportItem, error: BaseException | None = None, **update: object) -> ReportItem:
    """The item of a step written (or failed): a copy, the planned item left as it was."""
    return updated(item, {**result_fields(item, error), **update})


def result_fields(item: ReportItem, error: BaseException | None = None) -> dict[str, object]:
    """What a write's outcome sets on its item: Succeeded, or Failed with the target's reason."""
    if error is None:
        return {"result": Result.SUCCEEDED}
    if isinstance(error, TargetError):
        details = str(error)
    else:
        log.exception("Unexpected error applying %s %s", item.type, item.key, exc_info=error)
        details = f"Unexpected error: {type(error).__name__}: {error}"
    return {"result": Result.FAILED, "details": details}


def updated(item: ReportItem, update: Mapping[str, object]) -> ReportItem:
    """`item.model_copy(update=update)` (which does not validate the values either), lighter:
    the copy of an item that sets every field shares steps.ITEM_FIELDS instead of copying its
    set of field names, 728 of the copy's 1,150 bytes. An initial sync of 100,000 users keeps
    an item per user until its report is stored (issue 23: 526 MiB at the peak in the
    operator, over the Deployment's 512Mi)."""
    if item.__pydantic_fields_set__ != ITEM_FIELDS:
        return item.model_copy(update=dict(update))
    copied = ReportItem.__new__(ReportItem)
    object.__setattr__(copied, "__dict__", {**item.__dict__, **update})
    object.__setattr__(copied, "__pydantic_fields_set__", ITEM_FIELDS)
    object.__setattr__(copied, "__pydantic_extra__", None)
    object.__setattr__(copied, "__pydantic_private__", None)
    return copied


def sharing_fields(item: ReportItem) -> ReportItem:
    """The item itself, its set of field names swapped for steps.ITEM_FIELDS when it names
    every field (as the planner's items do): one shared set instead of 728 bytes per item,
    for items kept from Google's read to the report's end (sync.early's creates)."""
    if item.__pydantic_fields_set__ == ITEM_FIELDS:
        object.__setattr__(item, "__pydantic_fields_set__", ITEM_FIELDS)
    return item


def not_applied(run: Run, item: ReportItem) -> ReportItem:
    """An item the sync never got to because the target refused to go on."""
    if item.result is not Result.PLANNED:  # held by the guard: it keeps its reason
        return item
    if item.action is Action.UNCHANGED:  # nothing to write anyway
        return outcome(item)
    details = f"{NOT_APPLIED}{run.stopped}"
    return item.model_copy(update={"result": Result.SKIPPED, "details": details})


async def all_or_stop(run: Run, jobs: Sequence[Awaitable[T]]) -> list[T | None]:
    """Run `jobs` together; on TargetUnavailable cancel the rest (None for each job not done).

    asyncio.gather alone lets the siblings of a failed job go on writing after it returns.
    """
    tasks: list[asyncio.Future[T]] = []
    for start in range(0, len(jobs), STARTS):
        tasks += [asyncio.ensure_future(job) for job in jobs[start : start + STARTS]]
        if start + STARTS < len(jobs):  # let the writes these queued go out while more start
            await asyncio.sleep(0)
    stopped = await first_stop(tasks)
    if stopped is not None:
        run.stopped = run.stopped or stopped
    return [
        task.result() if task.done() and not task.cancelled() and task.exception() is None else None
        for task in tasks
    ]


def prepared(run: Run, step: UserStep) -> ReportItem | tuple[UserAttributes | None, tuple[str, ...]]:
    """What `step` writes: the desired attributes and fields (a manager created in this sync
    resolved), or its item when it writes nothing or cannot be written."""
    item = step.item
    if item.result is not Result.PLANNED:  # held by the guard
        return item
    if item.action not in WRITING_USER_ACTIONS | REMOVALS:
        return outcome(item)
    if run.unwritten and run.unwritten.intersection(step.after):  # its userName was not freed
        # Failed, not Skipped: the person is not written, the sync is partial, the next retries.
        name = step.desired.user_name if step.desired is not None else item.key
        details = f"Not written: {name} is still held by a user whose rename did not succeed."
        return item.model_copy(update={"result": Result.FAILED, "details": details})
    desired, fields = step.desired, step.fields
    if step.manager is not None and desired is not None:  # a manager created in this sync
        manager_id = run.ledger.users.get(step.manager.source_id or "")
        if manager_id is not None:
            desired = desired.with_value(MANAGER, manager_id)
            run.with_manager.add(item.source_id or "")
        else:  # not there yet (a cycle, or its creation failed): set_manager tries afterwards
            fields = tuple(name for name in fields if name != MANAGER)
    return desired, fields


async def apply_user(run: Run, step: UserStep) -> ReportItem:
    ready = prepared(run, step)
    if isinstance(ready, ReportItem):
        return ready
    desired, fields = ready
    item = step.item
    gid = item.source_id or ""
    try:
        if item.action is Action.CREATE:
            assert desired is not None
            joined = run.joined.get(gid)
            if joined:  # its additions to teams go with it (a task they can name)
                create = asyncio.ensure_future(run.target.create_user(desired))
                additions = asyncio.ensure_future(add_joined(run, create, joined))
                try:
                    target_id = await create
                finally:
                    await additions
            else:
                target_id = await run.target.create_user(desired)
            run.ledger.users[gid] = target_id
            return outcome(item, target_id=target_id)
        assert step.target_id is not None
        if item.action is Action.DELETE:
            await run.target.delete_user(step.target_id)
            run.ledger.users.pop(gid, None)
            run.ledger.pending.pop(gid, None)
        elif item.action is Action.DEPROVISION:
            await run.target.deactivate_user(step.target_id)
            run.ledger.pending.pop(gid, None)  # done: its grace period is over
        else:
            assert desired is not None
            await run.target.update_user(step.target_id, desired, fields)
            run.ledger.users[gid] = step.target_id
            if gid in run.handed:  # a re-hire: the user is the new account's now
                run.ledger.users.pop(run.handed[gid], None)
        return outcome(item)
    except TargetUnavailable:
        raise
    except Exception as exc:
        return outcome(item, exc)


async def apply_together(run: Run, steps: Sequence[UserStep]) -> list[ReportItem | None]:
    """A batching target's user steps at once: the creates handed over together
    (`Batching.create_users`, no task each), the other steps as jobs; as all_or_stop, the
    first TargetUnavailable withdraws or cancels the rest (None for each step not done)."""
    target = run.target
    assert isinstance(target, Batching)
    results: list[ReportItem | None] = [None] * len(steps)
    creating: list[tuple[int, UserAttributes]] = []
    jobs: list[int] = []
    for i, step in enumerate(steps):
        ready = prepared(run, step) if step.item.action is Action.CREATE else None
        if ready is None:
            jobs.append(i)
        elif isinstance(ready, ReportItem):
            results[i] = ready
        else:
            assert ready[0] is not None
            creating.append((i, ready[0]))
    created: list[asyncio.Future[str]] = []
    additions: list[asyncio.Future[None]] = []
    for start in range(0, len(creating), STARTS):
        chunk = creating[start : start + STARTS]
        try:
            handed = await target.create_users([desired for _, desired in chunk])
        except Exception as exc:  # each of these creates fails (or stops the sync) with it
            handed = [failed_with(exc) for _ in chunk]
        for (i, _), create in zip(chunk, handed, strict=True):
            joined = run.joined.get(steps[i].item.source_id or "")
            if joined:  # its additions to teams go with it, in the same request
                additions.append(asyncio.ensure_future(add_joined(run, create, joined)))
        created += handed
        await asyncio.sleep(0)  # let the Bulk requests these filled go out while more are queued
    tasks = [asyncio.ensure_future(apply_user(run, steps[i])) for i in jobs]
    waiting: list[asyncio.Future[Any]] = [*created, *tasks, *additions]
    stopped = await first_stop(waiting)
    if stopped is not None:
        run.stopped = run.stopped or stopped
    for (i, _), create in zip(creating, created, strict=True):
        error = None if create.cancelled() else create.exception()
        if create.cancelled() or isinstance(error, TargetUnavailable):
            continue
        item = steps[i].item
        if error is not None:
            results[i] = outcome(item, error)
        else:
            run.ledger.users[item.source_id or ""] = create.result()
            results[i] = outcome(item, target_id=create.result())
    for i, task in zip(jobs, tasks, strict=True):
        if task.done() and not task.cancelled() and task.exception() is None:
            results[i] = task.result()
    return results


def failed_with(error: Exception) -> asyncio.Future[str]:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    future.set_exception(error)
    return future


async def first_stop(futures: Sequence[asyncio.Future[Any]]) -> TargetUnavailable | None:
    """Wait for every one of `futures`; at the first that raises TargetUnavailable, cancel
    the others (and wait for them) and return it."""
    if not futures:
        return None
    ended: asyncio.Future[TargetUnavailable | None] = asyncio.get_running_loop().create_future()
    left = len(futures)

    def done(future: asyncio.Future[Any]) -> None:
        nonlocal left
        left -= 1
        error = None if future.cancelled() else future.exception()  # read: never "not retrieved"
        if ended.done():
            return
        if isinstance(error, TargetUnavailable):
            ended.set_result(error)
        elif not left:
            ended.set_result(None)

    for future in futures:
        future.add_done_callback(done)
    try:
        stopped = await ended
    except asyncio.CancelledError:
        for future in futures:
            future.cancel()
        raise
    if stopped is not None:
        for future in futures:
            future.cancel()
        await asyncio.gather(*futures, return_exceptions=True)
    return stopped


async def apply_users(run: Run, steps: Sequence[UserStep]) -> list[ReportItem]:
    """The user steps wave by wave (renames.order_user_names), items in plan order."""
    items: dict[int, ReportItem] = {}
    together = apply_together if run.batching else None
    for wave in sorted({step.wave for step in steps}):
        indexed = [(i, step) for i, step in enumerate(steps) if step.wave == wave]
        done = await in_batches(run, "users", [step for _, step in indexed], apply_user, together)
        for (i, step), item in zip(indexed, done, strict=True):
            items[i] = item
            if item.result is not Result.SUCCEEDED and step.target_id is not None:
                run.unwritten.add(step.target_id)
    late = [
        (i, step)
        for i, step in enumerate(steps)
        if step.manager is not None
        and items[i].result is Result.SUCCEEDED
        and (step.item.source_id or "") not in run.with_manager
    ]
    if late and run.stopped is None:
        finished = await all_or_stop(run, [set_manager(run, step, items[i]) for i, step in late])
        for (i, _), result in zip(late, finished, strict=True):
            items[i] = result if result is not None else items[i]
    return [items[i] for i in range(len(steps))]


async def set_manager(run: Run, step: UserStep, item: ReportItem) -> ReportItem:
    """The manager of a user written before its manager existed (a cycle), or a note why not."""
    assert step.manager is not None and step.desired is not None
    email = step.manager.email
    manager_id = run.ledger.users.get(step.manager.source_id or "")
    own_id = item.target_id or step.target_id
    if manager_id is None or own_id is None:
        note = f"Manager {email} was not written in this sync, so the manager is left empty until the next."
        return item.model_copy(update={"details": f"{item.details} {note}".strip()})
    try:
        await run.target.update_user(own_id, step.desired.with_value(MANAGER, manager_id), (MANAGER,))
    except TargetUnavailable:
        raise
    except Exception as exc:
        failed = outcome(item, exc)
        details = f"Written, but setting manager {email} failed: {failed.details}"
        return failed.model_copy(update={"details": details})
    note = f"Manager {email} set once it was created."
    return item.model_copy(update={"details": f"{item.details} {note}".strip()})


async def apply_team(run: Run, step: TeamStep) -> ReportItem:
    if step.item.result is not Result.PLANNED:  # failed in the plan (its Google group is gone)
        return step.item
    try:
        if step.group_id is None:
            group_id = await create_team(run.target, step)
        else:
            group_id = step.group_id
        run.groups[step.team] = group_id
        run.ledger.teams[step.team] = group_id
        if step.renamed_from is not None:  # the group is this team's now, renamed or not yet
            run.ledger.teams.pop(step.renamed_from, None)
            sent = run.ledger.team_sources.pop(step.renamed_from, None)
            if sent is not None:
                run.ledger.team_sources.setdefault(step.team, sent)
        if step.display_name is not None and step.group_id is not None:
            await run.target.rename_group(step.group_id, step.display_name)
    except TargetUnavailable:
        raise
    except Exception as exc:
        return outcome(step.item, exc)
    refused = ""
    if step.external_id is not None and step.group_id is not None:
        try:
            assert isinstance(run.target, GroupExternalIds)
            await run.target.set_group_external_id(step.group_id, step.external_id)
        except TargetUnavailable:
            raise
        except TargetError as exc:
            if exc.status is None or not 400 <= exc.status < 500:
                return outcome(step.item, exc)  # not an answer about the id: tried again next sync
            # A refusal of the id itself: the team is there and syncs; the id is not sent again.
            refused = f" The target refused its externalId ({exc}); gwsync does not send it again."
    if step.external_id is not None:
        run.ledger.team_sources[step.team] = step.external_id  # sent once, kept or not
    details = f"{step.item.details}{refused}".strip()
    return outcome(step.item, target_id=group_id, details=details)


async def create_team(target: Target, step: TeamStep) -> str:
    """The team's group, carrying its Google group's id where the target keeps one."""
    if step.external_id is not None and isinstance(target, GroupExternalIds):
        return await target.create_group_with_external_id(step.team, step.external_id)
    return await target.create_group(step.team)


async def add_joined(run: Run, create: asyncio.Future[str], steps: Sequence[MemberStep]) -> None:
    """A new user's additions to teams, sent with its create (one PATCH per team); the items
    go to `run.joined_items`. Skipped when the user was not created, as in apply_members."""
    for step in steps:
        error: BaseException | None = None
        try:
            assert isinstance(run.target, Batching)
            await run.target.add_created_members(run.groups[step.team], [create])
        except TargetUnavailable as exc:
            run.stopped = run.stopped or exc
            run.joined_items[id(step)] = not_applied(run, step.item)
            continue
        except Exception as exc:
            error = exc
        await asyncio.wait([create])  # the request answered both; the create's task ends after
        if create.cancelled() or create.exception() is not None:
            skipped = {"result": Result.SKIPPED, "details": "Not applied: the user could not be written."}
            run.joined_items[id(step)] = step.item.model_copy(update=skipped)
        else:
            run.joined_items[id(step)] = outcome(step.item, error, target_id=create.result())


def joined_item(run: Run, step: MemberStep) -> ReportItem:
    """The item of an addition handed to a create; a create that never ran did not send it."""
    item = run.joined_items.get(id(step))
    if item is not None:
        return item
    if run.stopped is not None:
        return not_applied(run, step.item)
    skipped = {"result": Result.SKIPPED, "details": "Not applied: the user could not be written."}
    return step.item.model_copy(update=skipped)


def join_additions(run: Run, plan: Plan) -> list[MemberStep]:
    """Hand each created user's additions to teams that exist to its create (`Run.joined`);
    the membership steps left for apply_members."""
    created = {
        step.item.source_id
        for step in plan.users
        if step.item.action is Action.CREATE and step.item.result is Result.PLANNED
    }
    rest: list[MemberStep] = []
    for step in plan.members:
        if (
            step.add
            and step.source_id in created
            and step.team in run.groups
            and step.item.result is Result.PLANNED
        ):
            run.joined.setdefault(step.source_id, []).append(step)
        else:
            rest.append(step)
    return rest


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
        if run.stopped is not None:  # another team's request met the refusal: send nothing more
            items.extend(not_applied(run, step.item) for step, _ in chunk)
            continue
        try:
            assert group_id is not None
            await (run.target.add_members if add else run.target.remove_members)(group_id, ids)
        except TargetUnavailable as exc:
            # Chunks already written keep their items; this one and the rest are not applied.
            run.stopped = run.stopped or exc
            items.extend(not_applied(run, step.item) for step, _ in chunk)
            continue
        except Exception as exc:
            error = exc
        items.extend(outcome(step.item, error, target_id=user_id) for step, user_id in chunk)
    return items


async def in_batches(
    run: Run,
    phase: str,
    steps: Sequence[S],
    apply: Callable[[Run, S], Awaitable[ReportItem]],
    together: Callable[[Run, Sequence[S]], Awaitable[list[ReportItem | None]]] | None = None,
) -> list[ReportItem]:
    """`steps` `run.batch` at a time, each a job (or each batch handed to `together`), the
    ledger checkpointed after each batch that wrote something."""
    items: list[ReportItem] = []
    for start in range(0, len(steps), run.batch):
        batch = steps[start : start + run.batch]
        if run.stopped is not None:
            items.extend(not_applied(run, step.item) for step in batch)
            continue
        if together is not None:
            results = await together(run, batch)
        else:
            results = await all_or_stop(run, [apply(run, step) for step in batch])
        items.extend(
            result if result is not None else not_applied(run, step.item)
            for step, result in zip(batch, results, strict=True)
        )
        if any(item.result is Result.SUCCEEDED and item.data_changed for item in items[start:]):
            await run.saved()
        if run.progress is not None:
            run.progress(phase, len(items), len(steps))
    return items


@dataclass
class Applied:
    """What apply did: every item with its result, the updated ledger, and why it stopped."""

    items: list[ReportItem]
    ledger: Ledger
    stopped: str | None = None  # the target's refusal (TargetUnavailable), one sentence


async def apply_plan(
    plan: Plan,
    target: Target,
    ledger: Ledger,
    *,
    checkpoint: Checkpoint | None = None,
    progress: Progress | None = None,
) -> Applied:
    """Apply every step; return the items with their results and the updated ledger."""
    # Users as planned: ledger entries whose target user still exists, plus those re-adopted
    # by externalId (no write needed); entries of users deleted by hand in the target go.
    # Removals waiting for the grace period are the plan's (plan.plan_users).
    kept = Ledger(
        dict(plan.managed), dict(ledger.teams), dict(plan.pending), team_sources=dict(ledger.team_sources)
    )
    run = Run(target, kept, checkpoint, progress)
    # A re-hire's target user stays the deleted account's in the ledger until the adoption is
    # written: if it fails, or the sync stops first, the user still carries the old id and the
    # next sync plans the re-hire again (the ledger never names a user carrying another id).
    owners = {target_id: gid for gid, target_id in ledger.users.items()}
    for step in plan.users:
        gid, old = step.item.source_id or "", owners.get(step.target_id or "")
        if step.item.action is Action.ADOPT and old is not None and old != gid and gid in run.ledger.users:
            run.ledger.users[old] = run.ledger.users.pop(gid)
            run.handed[gid] = old
    batch_size = target.batch_size if isinstance(target, Batching) else None
    members: Sequence[MemberStep] = plan.members
    if batch_size:  # teams first, so that new users join them in the requests creating them
        run.batch, run.batching = batch_size, True
        teams = await in_batches(run, "teams", plan.teams, apply_team)
        members = join_additions(run, plan)
        users = await apply_users(run, plan.users)
    else:
        users = await apply_users(run, plan.users)
        teams = await in_batches(run, "teams", plan.teams, apply_team)
    groups = [list(g) for _, g in groupby(members, key=lambda m: (m.team, m.add))]
    if run.stopped is None:
        results = await all_or_stop(run, [apply_members(run, g) for g in groups])
    else:
        results = [None] * len(groups)
    member_items = [
        item
        for group, result in zip(groups, results, strict=True)
        for item in (result if result is not None else [not_applied(run, step.item) for step in group])
    ]
    member_items += [joined_item(run, step) for steps in run.joined.values() for step in steps]
    if run.progress is not None:
        run.progress("memberships", len(member_items), len(plan.members))
    removals = await in_batches(run, "removals", plan.removals, apply_user)
    if run.stopped is not None:
        await run.saved()  # what was written before the target refused
    stopped = str(run.stopped) if run.stopped is not None else None
    return Applied([*users, *teams, *member_items, *removals], run.ledger, stopped)
