"""What the target adapter noticed while reading reaches the report (issue 16, bug 7).

A target whose listing looks incomplete (it reported more users than it served) must not make
managed users look deleted by hand: the adapter says so in `notes`, the engine repeats it in
the outcome's message and keeps the ledger entries of the users it could not see.
"""

import asyncio

from gwsync.api.report import Result
from gwsync.directory import Directory, Person
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.testing.memory import MemoryTarget, StaticSource

from .test_plan_properties import make_spec

NOTE = "The target reported totalResults=3 but 2 users were read."


def org(n: int) -> Directory:
    people = [Person(id=str(i), primary_email=f"p{i}@acme.com") for i in range(n)]
    return Directory("C1", "acme.com", {p.id: p for p in people}, {})


def test_notes_from_reading_the_target_are_in_the_message_and_keep_the_ledger_whole() -> None:
    spec = make_spec(from_groups=False, teams=False, delete=False)
    target = MemoryTarget()
    source = StaticSource(org(3))

    async def scenario() -> None:
        first = await run_sync(source, target, spec, Ledger.empty())
        assert first.phase == "Succeeded" and len(first.ledger.users) == 3
        [hidden] = [tid for tid, user in target.users.items() if user.user_name == "p2@acme.com"]
        target.unlisted = {hidden}  # a paging bug: one user is never served
        target.notes = [NOTE]
        second = await run_sync(source, target, spec, first.ledger)

        assert second.message.endswith(" " + NOTE)
        assert second.ledger == first.ledger  # p2 is not "deleted by hand": its entry stays
        [failed] = [i for i in second.items if i.result is Result.FAILED]
        assert failed.key == "p2@acme.com"  # its re-creation is refused, reported, retried

        target.unlisted, target.notes = set(), []
        third = await run_sync(source, target, spec, second.ledger)
        assert third.phase == "Succeeded" and NOTE not in third.message
        assert third.ledger == first.ledger

    asyncio.run(scenario())


def test_a_doubtful_read_keeps_the_removals_pending_in_their_grace_period() -> None:
    spec = make_spec(from_groups=False, teams=False, delete=False, grace="72h")
    target = MemoryTarget()

    async def scenario() -> None:
        first = await run_sync(StaticSource(org(3)), target, spec, Ledger.empty())
        left = await run_sync(StaticSource(org(2)), target, spec, first.ledger)  # p2 leaves
        assert list(left.ledger.pending) == ["2"]
        [hidden] = [tid for tid, user in target.users.items() if user.user_name == "p1@acme.com"]
        target.unlisted, target.notes = {hidden}, [NOTE]
        doubtful = await run_sync(StaticSource(org(2)), target, spec, left.ledger)
        # The grace period of p2 goes on: its first absence is not forgotten (nor restarted).
        assert doubtful.ledger.pending == left.ledger.pending

    asyncio.run(scenario())
