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

Pages that come before the target has been read wait for it (`ready`), and are settled with
the next page: the work is always done on the reader's thread, never on the event loop's
(other syncs share it). The hand-over between the two threads is locked.
"""

import threading
from collections.abc import Sequence

from gwsync.api.attributes import DEFAULT_MAPPINGS, effective_mappings
from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action
from gwsync.directory import Person
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import Settled, UserMapping, UserStep, plan_user
from gwsync.sync.ports import TargetUser


class EarlyPlan:
    """Steps of users with nothing to write, and creates, made while the source is read."""

    def __init__(self, spec: GoogleProvisioningSpec, ledger: Ledger) -> None:
        self.enabled = effective_mappings(spec.attributes) is DEFAULT_MAPPINGS
        self.settled: Settled = {}
        self.unsupported: frozenset[str] = frozenset()
        self._ledger = ledger
        self._lock = threading.Lock()
        self._users: dict[str, TargetUser] | None = None  # target id -> user, once read
        self._waiting: list[Sequence[Person]] = []

    def page(self, people: Sequence[Person]) -> None:
        """One page of the source's users, on the reader's thread: settled there, with the
        pages that came before the target was read."""
        if not self.enabled:
            return
        with self._lock:
            if self._users is None:
                self._waiting.append(people)
                return
            pages, self._waiting = [*self._waiting, people], []
        for each in pages:
            self._settle(each)

    def ready(self, users: Sequence[TargetUser], unsupported: frozenset[str]) -> None:
        """The target's users are read (on the event loop: it only hands them over)."""
        if not self.enabled:
            return
        index = {user.id: user for user in users}
        with self._lock:
            self.unsupported, self._users = unsupported, index

    def _settle(self, people: Sequence[Person]) -> None:
        assert self._users is not None
        mapping, managed, unsupported = UserMapping(), self._ledger.users, self.unsupported
        for person in people:
            target_id = managed.get(person.id)
            if target_id is None:  # new to gwsync: a create, unless the plan adopts a user
                self.settled[person.id] = (person, plan_user(person, None, False, mapping=mapping))
                continue
            current = self._users.get(target_id)
            if current is None:
                continue
            step: UserStep = plan_user(person, current, False, None, (), unsupported, mapping)
            if step.item.action is Action.UNCHANGED and step.desired is None:
                self.settled[person.id] = (person, step)

    def clear(self) -> None:
        """Let the people and target users go once the plan is made."""
        with self._lock:
            self.settled, self._users, self._waiting = {}, {}, []
