"""Users planned while Google is still being read (issue 12).

Google's user pages are a chain of page tokens: a sync of 100,000 users waits 20 s or more
for them, with little else to do once the target has been read. Most people of a daily sync
have nothing to write, and comparing each with its target user is most of the plan's time
after the read; in an initial sync, everyone is a create. So the reader hands each page over
as it is read (`Source.read(on_page=)`), and each person is planned there and then with the
planner's own `plan_user`: a person the ledger ties to a target user is kept when its step
writes nothing, a person the ledger does not know is kept as a create. The plan takes such a
step instead of planning the person again only when nothing differs from what it was made
with: the same Person object, the same target user (none for a create: no adoption by name,
no re-hire), no duplicate, the default mapping, the same unsupported fields
(`plan.plan_users`). Anything else is planned after the read, as before.

Pages that come before the target has been read wait for it, and are settled once it is
(`ready`, on a worker thread): the work is never done on the event loop's thread (other syncs
share it). The hand-over between the threads is locked, and one page is settled at a time.

Into a target that batches writes (SCIM Bulk), a create the plan cannot decide otherwise is
written at once (`EarlyCreates`), a full request at a time, while Google is still read: a
person gwsync has never managed, chosen by spec.members (everyone), active (or suspended users
included), whose Google id no target user carries as externalId and whose email no target
user has as userName (no adoption, no re-hire, no duplicate), with the default mapping the
target declares. An initial sync of 10,000 users then writes as it reads instead of after.
Such a step, once written, is a fact the plan takes as it is (`plan.plan_users`). A failed
read removes nothing, and the users created while it went on are kept and reported.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence

from gwsync.api.attributes import DEFAULT_MAPPINGS, effective_mappings
from gwsync.api.provisioning import GoogleProvisioningSpec, MemberSource
from gwsync.api.report import Action, ReportItem, Result
from gwsync.directory import Person
from gwsync.sync.apply import result_fields, sharing_fields
from gwsync.sync.ledger import Ledger
from gwsync.sync.mapping import supported_mappings
from gwsync.sync.plan import UserMapping, plan_user
from gwsync.sync.ports import Batching, Target, TargetError, TargetUnavailable, TargetUser
from gwsync.sync.steps import Plan, Settled, UserStep
from gwsync.sync.summary import counted
from gwsync.text import address_key

log = logging.getLogger(__name__)

Write = Callable[[list[UserStep]], None]
"""Takes the creates that may be written at once (on the reader's thread)."""


class EarlyPlan:
    """Steps of users with nothing to write, and creates, made while the source is read."""

    def __init__(self, spec: GoogleProvisioningSpec, ledger: Ledger) -> None:
        self.enabled = effective_mappings(spec.attributes) is DEFAULT_MAPPINGS
        self.settled: Settled = {}
        self.unsupported: frozenset[str] = frozenset()
        self._ledger = ledger
        self._lock = threading.Lock()
        self._settling = threading.Lock()
        self._users: dict[str, TargetUser] | None = None  # target id -> user, once read
        self._waiting: list[Sequence[Person]] = []
        self._write: Write | None = None
        self._everyone = spec.members.from_ is not MemberSource.GROUPS
        self._suspended = spec.members.include_suspended
        self._names: set[str] = set()  # the target's userNames, as address_key compares them
        self._external: set[str] = set()  # the externalIds the target's users carry
        self._written: set[str] = set()  # Google ids handed to `_write`

    def page(self, people: Sequence[Person]) -> None:
        """One page of the source's users, on the reader's thread: settled there, or kept
        for `ready` when the target is not read yet."""
        if not self.enabled:
            return
        with self._lock:
            if self._users is None:
                self._waiting.append(people)
                return
        self._settle(people)

    def ready(
        self, users: Sequence[TargetUser], unsupported: frozenset[str], write: Write | None = None
    ) -> None:
        """The target's users are read: the pages that came before are settled now, on the
        caller's thread (a worker's: `asyncio.to_thread`, never the event loop's). `write`
        (EarlyCreates.hand): given, the creates that may be written at once go to it."""
        if not self.enabled:
            return
        index = {user.id: user for user in users}
        if write is not None and self._everyone:
            self._names = {address_key(user.user_name) for user in users}
            self._external = {user.external_id for user in users if user.external_id}
        else:
            write = None
        with self._lock:
            self.unsupported, self._users, self._write = unsupported, index, write
            pages, self._waiting = self._waiting, []
        for each in pages:
            self._settle(each)

    def _settle(self, people: Sequence[Person]) -> None:
        with self._settling:  # `ready`'s thread and the reader's: one page at a time
            self._settle_page(people)

    def _settle_page(self, people: Sequence[Person]) -> None:
        assert self._users is not None
        mapping, managed, unsupported = UserMapping(), self._ledger.users, self.unsupported
        creates: list[UserStep] = []
        for person in people:
            target_id = managed.get(person.id)
            if target_id is None:  # new to gwsync: a create, unless the plan adopts a user
                create = plan_user(person, None, False, mapping=mapping)
                sharing_fields(create.item)  # kept until the report is stored: light
                self.settled[person.id] = (person, create)
                if self._write is not None and self._writable(person):
                    self._written.add(person.id)
                    creates.append(create)
                continue
            current = self._users.get(target_id)
            if current is None:
                continue
            step: UserStep = plan_user(person, current, False, None, (), unsupported, mapping)
            if step.item.action is Action.UNCHANGED and step.desired is None:
                self.settled[person.id] = (person, step)
        if creates and self._write is not None:
            self._write(creates)

    def _writable(self, person: Person) -> bool:
        """A create nothing in the plan can turn into something else (see the module)."""
        return (
            person.id not in self._written
            and (self._suspended or not person.inactive)
            and person.id not in self._external
            and address_key(person.primary_email) not in self._names
        )

    def wrote(self, done: Sequence[UserStep]) -> None:
        """Steps written while the source was read (EarlyCreates.finish), their items done."""
        for step in done:
            gid = step.item.source_id or ""
            self.settled[gid] = (self.settled[gid][0], step)

    def facts(self) -> Settled:
        """The steps already written: what the plan takes whatever else changed."""
        return {gid: pair for gid, pair in self.settled.items() if pair[1].item.result is not Result.PLANNED}

    def clear(self) -> None:
        """Let the people and target users go once the plan is made."""
        with self._lock:
            self.settled, self._users, self._waiting, self._write = {}, {}, [], None
            self._names, self._external = set(), set()


class EarlyCreates:
    """Creates written while the source is read, into a target that batches writes: handed
    over from the reader's thread (`hand`), sent from the event loop a full request
    (`Batching.request_size`) at a time; what is left when the read ends goes with apply."""

    def __init__(self, target: Batching, size: int) -> None:
        self._target, self._size = target, size
        self._loop = asyncio.get_running_loop()
        self._waiting: list[UserStep] = []
        self._handing: list[asyncio.Task[None]] = []
        self._closed = False
        self._refused = False  # the target refused to go on: the rest is withdrawn, left to apply
        self.handed: list[tuple[UserStep, asyncio.Future[str]]] = []

    @classmethod
    def into(cls, target: Target, dry_run: bool) -> "EarlyCreates | None":
        """For `target` once read, when it batches writes, read completely (no note) and
        declares the default mapping's schemas; None otherwise (and in a dry run)."""
        if dry_run or not isinstance(target, Batching) or target.notes:
            return None
        size = target.request_size
        kept, _ = supported_mappings(DEFAULT_MAPPINGS, target.user_extensions)
        if not size or kept is not DEFAULT_MAPPINGS:
            return None
        return cls(target, size)

    def hand(self, steps: list[UserStep]) -> None:
        """`Write`, on the reader's thread: the steps go to the event loop."""
        with contextlib.suppress(RuntimeError):  # a closed loop: the sync is over, nothing is written
            self._loop.call_soon_threadsafe(self._take, steps)

    def _take(self, steps: list[UserStep]) -> None:
        if self._closed or self._refused:  # apply meets the refusal and stops the sync
            return
        self._waiting += steps
        full = len(self._waiting) - len(self._waiting) % self._size
        if full:
            chunk, self._waiting = self._waiting[:full], self._waiting[full:]
            self._handing.append(asyncio.ensure_future(self._create(chunk)))

    def _answered(self, first: asyncio.Future[str]) -> None:
        """A request's first create is done: when the target refused to go on, the creates
        not sent yet are withdrawn (apply writes them, or stops at the same refusal)."""
        if first.cancelled() or not isinstance(first.exception(), TargetUnavailable):
            return
        self._refused = True
        for _, future in self.handed:
            future.cancel()

    async def _create(self, chunk: list[UserStep]) -> None:
        desired = [step.desired for step in chunk if step.desired is not None]
        if len(desired) != len(chunk):  # never: a create desires its attributes
            return
        try:
            created = await self._target.create_users(desired)
        except (TargetError, TargetUnavailable):  # apply writes them, and reports what fails
            return
        except Exception:  # a bug: logged; apply still writes them
            log.exception("Handing %d creates to the target during the read failed", len(chunk))
            return
        self.handed += zip(chunk, created, strict=True)
        created[0].add_done_callback(self._answered)

    async def finish(self) -> list[UserStep]:
        """Once the read is over: each create handed over, done, as its step with the item's
        result (Succeeded with the target id, or Failed). Those not written (withdrawn, or the
        target refused to go on) are left out, still planned: apply writes them."""
        self._closed = True
        await asyncio.gather(*self._handing)
        if self.handed:
            await asyncio.wait([future for _, future in self.handed])
        done: list[UserStep] = []
        handed, self.handed = self.handed, []  # the futures go with this call
        for step, future in handed:
            error = None if future.cancelled() else future.exception()
            if future.cancelled() or isinstance(error, TargetUnavailable):
                continue
            created = future.result() if error is None else None
            # The item is finished in place, as apply_writes finishes an unchanged user's: a
            # copy would hold two items per user at the end of the read (issue 23: 100 MB in
            # an initial sync of 100,000 users). The step is the one EarlyPlan keeps for the plan.
            item = step.item
            for name, value in {**result_fields(item, error), "target_id": created}.items():
                setattr(item, name, value)
            done.append(step)
        return done

    def cancel(self) -> None:
        """The sync is cancelled: nothing more is sent (creates already sent may still land;
        the next sync finds them by externalId)."""
        self._closed = True
        for task in self._handing:
            task.cancel()
        for _, future in self.handed:
            if not future.cancel() and not future.cancelled():
                future.exception()  # read: no "never retrieved" warning


def recorded(plan: Plan, written: Sequence[UserStep]) -> None:
    """Written steps the plan holds count as managed; one it did not take (never, but a
    create is a fact) is added to its users, so the report and the ledger keep it."""
    taken = {id(step) for step in plan.users}
    for step in written:
        item = step.item
        if item.result is Result.SUCCEEDED and item.target_id:
            plan.managed[item.source_id or ""] = item.target_id
        if id(step) not in taken:
            plan.users.append(step)


def source_failed(
    error: Exception, ledger: Ledger, written: Sequence[UserStep]
) -> tuple[str, list[ReportItem], Ledger]:
    """The message, items and ledger of a sync whose source read failed after creates were
    written: nothing is removed, the users created are kept (ledger and report)."""
    if not written:
        return f"Google could not be read completely, so nothing was changed: {error}", [], ledger
    items = [step.item for step in written]
    created = {i.source_id or "": i.target_id for i in items if i.result is Result.SUCCEEDED and i.target_id}
    failed = len(items) - len(created)
    kept = counted(
        len(created), "user created while it was read is kept", "users created while it was read are kept"
    )
    if failed:
        kept += f"; {counted(failed, 'create', 'creates')} failed and will be retried by the next sync"
    message = f"Google could not be read completely, so nothing was removed ({kept}): {error}"
    saved = Ledger({**ledger.users, **created}, dict(ledger.teams), dict(ledger.pending))
    saved.team_sources = dict(ledger.team_sources)
    return message, items, saved
