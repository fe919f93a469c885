"""Freeing a userName never runs ahead of the removal brake (issue 16, bug 4), plain values."""

import asyncio

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action, Result
from gwsync.directory import Directory, Person
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.testing.memory import MemoryTarget, StaticSource

from .test_plan_properties import make_spec


def org(*people: Person) -> Directory:
    return Directory("C1", "acme.com", {p.id: p for p in people}, {})


def test_a_departing_user_whose_removal_is_held_keeps_its_address() -> None:
    alice, bob = Person(id="1", primary_email="alice@acme.com"), Person(id="2", primary_email="bob@acme.com")
    target = MemoryTarget()
    base = make_spec(from_groups=False, teams=False, delete=False)
    braked = GoogleProvisioningSpec.model_validate(
        {**base.model_dump(by_alias=True), "deprovision": {"maxCount": 0, "maxPercent": 100}}
    )

    async def scenario() -> None:
        first = await run_sync(StaticSource(org(alice, bob)), target, base, Ledger.empty())
        alice_id = first.ledger.users["1"]
        # Alice's account is deleted and Bob gets her address, but removals are held.
        bob_now = Person(id="2", primary_email="alice@acme.com")
        held = await run_sync(StaticSource(org(bob_now)), target, braked, first.ledger)

        assert held.phase == "Blocked"
        assert (target.users[alice_id].user_name, target.users[alice_id].active) == ("alice@acme.com", True)
        [aside] = [i for i in held.items if i.key == f"departed+{alice_id}@acme.com"]
        assert (aside.action, aside.result) == (Action.RENAME, Result.SKIPPED)
        assert aside.details == "Not applied: held with the removal of this user."
        [rename] = [i for i in held.items if i.source_id == "2"]
        assert (rename.action, rename.result) == (Action.RENAME, Result.FAILED)
        assert rename.details == (
            "Not written: alice@acme.com is still held by a user whose rename did not succeed."
        )
        assert held.summary.users.held == 1 and held.summary.users.failed == 1

        # Approved: alice is moved aside and deactivated, bob renamed, in one sync.
        released = await run_sync(
            StaticSource(org(bob_now)), target, braked, held.ledger, approved_removals=["1"]
        )
        assert released.phase == "Succeeded", released.message
        assert target.users[alice_id].user_name == f"departed+{alice_id}@acme.com"
        assert target.users[alice_id].active is False
        assert target.users[first.ledger.users["2"]].user_name == "alice@acme.com"

    asyncio.run(scenario())


def test_three_people_rotating_addresses_converge_in_one_sync() -> None:
    people = [Person(id=str(i), primary_email=f"p{i}@acme.com") for i in range(3)]
    rotated = [Person(id=str(i), primary_email=f"p{(i + 1) % 3}@acme.com") for i in range(3)]
    target = MemoryTarget()
    spec = make_spec(from_groups=False, teams=False, delete=False)

    async def scenario() -> None:
        first = await run_sync(StaticSource(org(*people)), target, spec, Ledger.empty())
        second = await run_sync(StaticSource(org(*rotated)), target, spec, first.ledger)
        assert second.phase == "Succeeded", second.message
        assert [i.key for i in second.items if i.action is Action.RENAME] == [
            "gwsync-tmp+0@acme.com",
            "p0@acme.com",
            "p1@acme.com",
            "p2@acme.com",
        ]
        assert {u.user_name: u.external_id for u in target.users.values()} == {
            "p1@acme.com": "0",
            "p2@acme.com": "1",
            "p0@acme.com": "2",
        }
        third = await run_sync(StaticSource(org(*rotated)), target, spec, second.ledger)
        assert {i.action for i in third.items} == {Action.UNCHANGED}

    asyncio.run(scenario())
