"""Renames to addresses someone else holds (issue 16, bug 4), against scim2-server.

scim2-server refuses a userName in use (409), like most targets. An address held by a departed,
deactivated user is freed by renaming that user out of the way (`departed+<targetId>@domain`,
reversible: its work email keeps the old address); swaps and chains are ordered so that each
write finds its address free, through a temporary userName when two people swap.
"""

from dataclasses import replace

from gwsync.api.report import Action, ReportItem, Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.memory import StaticSource
from gwsync.testing.scim import ScimServer

from .conftest import org, person, spec


def by_key(items: list[ReportItem]) -> dict[str, ReportItem]:
    return {item.key: item for item in items}


async def test_an_address_held_by_a_departed_deactivated_user_is_freed_for_a_rename(
    scim: ScimServer, target: ScimTarget
) -> None:
    alice, bob = person(1), person(2)
    first = await run_sync(StaticSource(org([alice, bob])), target, spec(), Ledger.empty())
    gone = await run_sync(StaticSource(org([bob])), target, spec(), first.ledger)  # alice deleted
    alice_id = first.ledger.users[alice.id]
    assert scim.user_by_name("user1@acme.com")["active"] is False

    # Bob takes alice's old address.
    renamed = replace(bob, primary_email="user1@acme.com")
    outcome = await run_sync(StaticSource(org([renamed])), target, spec(), gone.ledger)

    assert outcome.phase == "Succeeded", outcome.message
    [moved, stays] = [i for i in outcome.items if i.source_id == alice.id]
    assert (moved.key, moved.action, moved.result, moved.target_id) == (
        f"departed+{alice_id}@acme.com",
        Action.RENAME,
        Result.SUCCEEDED,
        alice_id,
    )
    assert (stays.key, stays.action) == ("user1@acme.com", Action.UNCHANGED)  # as read this sync
    assert stays.details == "Deleted from Google; already deactivated."
    assert [(c.field, c.from_, c.to) for c in moved.changes] == [
        ("userName", "user1@acme.com", f"departed+{alice_id}@acme.com")
    ]
    assert moved.details == (
        f"Deleted from Google and deactivated: renamed from user1@acme.com to departed+{alice_id}@acme.com "
        "to free the address for user1@acme.com (its work email keeps user1@acme.com; rename it back "
        "to restore it)."
    )
    [rename] = [i for i in outcome.items if i.source_id == bob.id]
    assert (rename.action, rename.result, rename.source_id) == (Action.RENAME, Result.SUCCEEDED, bob.id)
    assert scim.user_by_name("user1@acme.com")["externalId"] == bob.id
    departed = scim.user_by_name(f"departed+{alice_id}@acme.com")
    assert (departed["externalId"], departed["active"]) == (alice.id, False)
    assert departed["emails"][0]["value"] == "user1@acme.com"
    assert outcome.summary.users.renamed == 2

    again = await run_sync(StaticSource(org([renamed])), target, spec(), outcome.ledger)
    assert {i.action for i in again.items} == {Action.UNCHANGED}


async def test_two_people_swapping_addresses_are_renamed_through_a_temporary_user_name(
    scim: ScimServer, target: ScimTarget
) -> None:
    alice, bob, carol = person(1), person(2), person(3)
    first = await run_sync(StaticSource(org([alice, bob, carol])), target, spec(), Ledger.empty())
    swapped = [
        replace(alice, primary_email="user2@acme.com"),
        replace(bob, primary_email="user1@acme.com"),
        carol,
    ]
    scim.reset_log()
    outcome = await run_sync(StaticSource(org(swapped)), target, spec(), first.ledger)

    assert outcome.phase == "Succeeded", outcome.message
    steps = [(i.key, i.action, i.result) for i in outcome.items if i.action is Action.RENAME]
    assert steps == [
        ("gwsync-tmp+100001@acme.com", Action.RENAME, Result.SUCCEEDED),
        ("user1@acme.com", Action.RENAME, Result.SUCCEEDED),
        ("user2@acme.com", Action.RENAME, Result.SUCCEEDED),
    ]
    items = by_key(outcome.items)
    assert items["gwsync-tmp+100001@acme.com"].details == (
        "Renamed from user1@acme.com to the temporary gwsync-tmp+100001@acme.com first, so that "
        "user1@acme.com is free for the account renamed to it."
    )
    assert items["user2@acme.com"].details == (
        "Email changed from user1@acme.com to user2@acme.com (through gwsync-tmp+100001@acme.com)."
    )
    assert scim.user_by_name("user1@acme.com")["externalId"] == bob.id
    assert scim.user_by_name("user2@acme.com")["externalId"] == alice.id
    assert [w.method for w in scim.writes] == ["PATCH"] * 3
    assert outcome.summary.users.renamed == 3

    again = await run_sync(StaticSource(org(swapped)), target, spec(), outcome.ledger)
    assert {i.action for i in again.items} == {Action.UNCHANGED}


async def test_a_chain_of_renames_and_a_new_account_taking_the_first_address(
    scim: ScimServer, target: ScimTarget
) -> None:
    # user1 -> user2's address, user2 -> user3's, user3 -> a new one, and someone new gets user1@.
    people = [person(1), person(2), person(3)]
    first = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())
    later = [
        replace(people[0], primary_email="user2@acme.com"),
        replace(people[1], primary_email="user3@acme.com"),
        replace(people[2], primary_email="user9@acme.com"),
        person(4, email="user1@acme.com"),
    ]
    scim.set_faults([], delay=0.01)  # server latency: concurrent writes would overtake each other
    outcome = await run_sync(StaticSource(org(later)), target, spec(), first.ledger)

    assert outcome.phase == "Succeeded", outcome.message
    assert outcome.summary.users.renamed == 3 and outcome.summary.users.created == 1
    assert {u["userName"]: u["externalId"] for u in scim.users()} == {
        "user1@acme.com": "100004",
        "user2@acme.com": "100001",
        "user3@acme.com": "100002",
        "user9@acme.com": "100003",
    }
