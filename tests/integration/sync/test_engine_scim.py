"""run_sync against the real scim2-server: the acceptance behaviours of DESIGN §3."""

from dataclasses import replace

import pytest

from gwsync.api.report import Action, ReportItem, Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.memory import StaticSource
from gwsync.testing.scim import Fault, ScimServer

from .conftest import org, person, spec

TEAMS = {
    "enabled": True,
    "mappings": [{"team": "Engineering", "groups": ["eng@acme.com", "eng-contractors@acme.com"]}],
}


def by_key(items: list[ReportItem]) -> dict[str, ReportItem]:
    return {item.key: item for item in items}


async def test_initial_sync_creates_users_and_teams_then_a_second_sync_writes_nothing(
    scim: ScimServer, target: ScimTarget
) -> None:
    people = [person(i) for i in range(5)]
    source = StaticSource(org(people, {"eng@acme.com": people[:3]}))
    first = await run_sync(source, target, spec(teams=TEAMS), Ledger.empty())

    assert first.phase == "Succeeded"
    assert first.summary.users.created == 5 and first.summary.teams.created == 1
    assert first.summary.memberships.added == 3
    assert scim.group_members("Engineering") == {"user0@acme.com", "user1@acme.com", "user2@acme.com"}
    jane = scim.user_by_name("user0@acme.com")
    assert jane["externalId"] == "100000" and jane["title"] == "Engineer"
    assert jane["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"] == "R&D"
    assert len(first.ledger.users) == 5 and "Engineering" in first.ledger.teams

    scim.reset_log()
    second = await run_sync(source, target, spec(teams=TEAMS), first.ledger)
    assert second.phase == "Succeeded"
    assert {item.action for item in second.items} == {Action.UNCHANGED}
    assert len(second.items) == 6  # five users and one team
    assert scim.writes == []


async def test_attribute_changes_are_updates_and_an_email_change_is_one_rename(
    scim: ScimServer, target: ScimTarget
) -> None:
    people = [person(1), person(2)]
    first = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())
    changed = [
        replace(
            people[0],
            given_name="Janet",
            title="Staff Engineer",
            department="Sales",
            employee_type="Contractor",
            photo_etag="e2",
        ),
        replace(people[1], primary_email="renamed@acme.com"),
    ]
    scim.reset_log()
    second = await run_sync(StaticSource(org(changed)), target, spec(), first.ledger)

    items = by_key(second.items)
    update = items["user1@acme.com"]
    assert update.action is Action.UPDATE and update.result is Result.SUCCEEDED
    assert {(c.field, c.from_, c.to) for c in update.changes} == {
        ("name.givenName", "Given1", "Janet"),
        ("displayName", "Given1 Family1", "Janet Family1"),
        ("title", "Engineer", "Staff Engineer"),
        ("department", "R&D", "Sales"),
        ("userType", "Employee", "Contractor"),
        ("photos", "https://photos.example/1.jpg#etag=e1", "https://photos.example/1.jpg#etag=e2"),
    }
    rename = items["renamed@acme.com"]
    assert rename.action is Action.RENAME
    assert rename.details == "Email changed from user2@acme.com to renamed@acme.com."
    assert [i.action for i in second.items].count(Action.CREATE) == 0
    assert len(scim.users()) == 2 and scim.user_by_name("renamed@acme.com")["externalId"] == "100002"
    assert [w.method for w in scim.writes] == ["PATCH", "PATCH"]
    assert scim.user_by_name("user1@acme.com")["title"] == "Staff Engineer"


async def test_leavers_are_deactivated_by_default_and_deleted_with_delete(
    scim: ScimServer, target: ScimTarget
) -> None:
    people = [person(i) for i in range(4)]
    first = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())
    # user1 deleted from Google, user2 suspended, user3 out of the chosen groups.
    later = org(
        [people[0], replace(people[2], suspended=True), people[3]], {"all@acme.com": [people[0], people[2]]}
    )
    groups_spec = {"from": "Groups", "groups": ["all@acme.com"]}
    second = await run_sync(StaticSource(later), target, spec(members=groups_spec), first.ledger)

    items = by_key(second.items)
    assert {k: (i.action, i.details) for k, i in items.items() if i.action is Action.DEPROVISION} == {
        "user1@acme.com": (Action.DEPROVISION, "Deleted from Google; deactivated (active=false)."),
        "user2@acme.com": (Action.DEPROVISION, "Suspended in Google; deactivated (active=false)."),
        "user3@acme.com": (Action.DEPROVISION, "No longer in the chosen groups; deactivated (active=false)."),
    }
    assert [u["active"] for u in sorted(scim.users(), key=lambda u: u["userName"])] == [
        True,
        False,
        False,
        False,
    ]
    assert second.summary.users.deprovisioned == 3

    third = await run_sync(
        StaticSource(later),
        target,
        spec(members=groups_spec, deprovision={"action": "Delete", "maxPercent": 100}),
        second.ledger,
    )
    assert [i.action for i in third.items].count(Action.DELETE) == 3
    assert [u["userName"] for u in scim.users()] == ["user0@acme.com"]
    assert list(third.ledger.users) == ["100000"]


@pytest.mark.parametrize("gap", [0, 1], ids=["same-sync", "after-deactivation"])
async def test_a_new_account_with_a_departed_email_takes_over_its_target_user(
    scim: ScimServer, target: ScimTarget, gap: int
) -> None:
    # user1 leaves (account deleted), then a new account is created with the same address.
    people = [person(0), person(1)]
    ledger = (await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())).ledger
    for _ in range(gap):  # the departure synced first: user1 deactivated
        ledger = (await run_sync(StaticSource(org(people[:1])), target, spec(), ledger)).ledger
    rehired = replace(person(1), id="109999", given_name="Renée")
    second = await run_sync(StaticSource(org([people[0], rehired])), target, spec(), ledger)

    item = by_key(second.items)["user1@acme.com"]
    assert (item.action, item.result, item.source_id) == (Action.ADOPT, Result.SUCCEEDED, "109999")
    assert item.details == (
        "New Google account with the email of deleted account 100001: its target user user1@acme.com "
        "now belongs to this account."
    )
    [user] = [u for u in scim.users() if u["userName"] == "user1@acme.com"]
    assert (user["externalId"], user["active"], user["name"]["givenName"]) == ("109999", True, "Renée")
    assert second.ledger.users == {"100000": ledger.users["100000"], "109999": user["id"]}
    third = await run_sync(StaticSource(org([people[0], rehired])), target, spec(), second.ledger)
    assert {i.action for i in third.items} == {Action.UNCHANGED}


async def test_a_re_hire_whose_adoption_fails_is_planned_again_and_never_half_claimed(
    scim: ScimServer, target: ScimTarget
) -> None:
    # Found by the chaos soak (seed 777001): the adoption's write was refused, yet the ledger
    # already named the new account for the user (still carrying the deleted account's id) and
    # the new account's memberships were written to it.
    people = [person(0), person(1)]
    teams = {"eng@acme.com": people}
    first = await run_sync(StaticSource(org(people, teams)), target, spec(teams=TEAMS), Ledger.empty())
    rehired = replace(person(1), id="109999", given_name="Renée")
    again = {"eng@acme.com": [people[0], rehired]}
    user1 = first.ledger.users["100001"]
    scim.set_faults([Fault(500, method="PATCH", path=f"/Users/{user1}", times=None)])
    refused = await run_sync(
        StaticSource(org([people[0], rehired], again)), target, spec(teams=TEAMS), first.ledger
    )

    items = by_key(refused.items)
    assert (items["user1@acme.com"].action, items["user1@acme.com"].result) == (Action.ADOPT, Result.FAILED)
    assert refused.ledger.users == first.ledger.users  # still the deleted account's user
    assert scim.user_by_name("user1@acme.com")["externalId"] == "100001"

    scim.set_faults([])
    retried = await run_sync(
        StaticSource(org([people[0], rehired], again)), target, spec(teams=TEAMS), refused.ledger
    )
    assert by_key(retried.items)["user1@acme.com"].result is Result.SUCCEEDED
    assert retried.ledger.users == {"100000": first.ledger.users["100000"], "109999": user1}
    assert scim.user_by_name("user1@acme.com")["externalId"] == "109999"
    assert scim.group_members("Engineering") == {"user0@acme.com", "user1@acme.com"}


async def test_existing_user_is_adopted_and_unmanaged_users_are_never_touched(
    scim: ScimServer, target: ScimTarget
) -> None:
    existing = scim.seed_user("user1@acme.com", displayName="Old Name")
    scim.seed_user("contractor@partner.com", displayName="Not from Google")
    scim.seed_user("other@acme.com", externalId="okta-77")
    scim.reset_log()
    outcome = await run_sync(StaticSource(org([person(1)])), target, spec(), Ledger.empty())

    (item,) = outcome.items
    assert item.action is Action.ADOPT and item.target_id == existing
    assert outcome.ledger.users == {"100001": existing}
    assert len(scim.users()) == 3
    assert scim.user_by_name("user1@acme.com")["externalId"] == "100001"
    assert "active" not in scim.user_by_name("contractor@partner.com")
    assert [w.path for w in scim.writes] == [f"/v2/Users/{existing}"]


async def test_two_groups_one_team_and_unmapped_teams_untouched(scim: ScimServer, target: ScimTarget) -> None:
    alice, bob = person(1), person(2)
    manual = scim.seed_user("manual@acme.com")
    scim.seed_group("Sales", [manual])
    both = {"eng@acme.com": [alice, bob], "eng-contractors@acme.com": [alice]}
    first = await run_sync(StaticSource(org([alice, bob], both)), target, spec(teams=TEAMS), Ledger.empty())
    assert scim.group_members("Engineering") == {"user1@acme.com", "user2@acme.com"}

    one = {"eng@acme.com": [bob], "eng-contractors@acme.com": [alice]}  # alice left eng@ only
    second = await run_sync(StaticSource(org([alice, bob], one)), target, spec(teams=TEAMS), first.ledger)
    assert scim.group_members("Engineering") == {"user1@acme.com", "user2@acme.com"}
    assert all(i.type.value != "Membership" for i in second.items)

    none = {"eng@acme.com": [bob], "eng-contractors@acme.com": []}  # and now from both
    third = await run_sync(StaticSource(org([alice, bob], none)), target, spec(teams=TEAMS), second.ledger)
    assert scim.group_members("Engineering") == {"user2@acme.com"}
    assert [(i.key, i.action) for i in third.items if i.type.value == "Membership"] == [
        ("Engineering/user1@acme.com", Action.REMOVE_MEMBER)
    ]
    assert scim.group_members("Sales") == {"manual@acme.com"}


async def test_removals_above_the_threshold_are_held_until_approved(
    scim: ScimServer, target: ScimTarget
) -> None:
    people = [person(i) for i in range(10)]
    first = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())
    later = org([*people[:6], person(20)])  # four leave, one joins
    limits = spec(deprovision={"maxCount": 3, "maxPercent": 100})
    hint = "kubectl annotate gprov/acme gwsync.io/approve-deprovisioning=acme-20250101-000000 --overwrite"
    blocked = await run_sync(StaticSource(later), target, limits, first.ledger, approve_hint=hint)

    assert blocked.phase == "Blocked"
    held = [i for i in blocked.items if i.result is Result.SKIPPED]
    assert len(held) == 4 and blocked.summary.users.held == 4
    assert held[0].details == f"Held: 4 removals exceed maxCount 3; approve with {hint}"
    assert blocked.summary.users.created == 1
    assert all(u["active"] for u in scim.users())
    assert sorted(blocked.held) == sorted(p.id for p in people[6:])

    released = await run_sync(
        StaticSource(later), target, limits, blocked.ledger, approved_removals=blocked.held
    )
    assert released.phase == "Succeeded" and released.summary.users.deprovisioned == 4
    assert sum(not u["active"] for u in scim.users()) == 4


async def test_percent_threshold_holds_removals(target: ScimTarget) -> None:
    people = [person(i) for i in range(10)]
    first = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())
    blocked = await run_sync(
        StaticSource(org(people[:8])), target, spec(deprovision={"maxPercent": 10}), first.ledger
    )
    assert blocked.phase == "Blocked"
    assert blocked.message.endswith(
        "2 removals held (2 removals (20% of 10 managed users) exceed maxPercent 10) "
        "until approved (8 users unchanged)."
    )


async def test_empty_ledger_re_adopts_by_external_id_and_keeps_departed(
    scim: ScimServer, target: ScimTarget
) -> None:
    people = [person(i) for i in range(3)]
    await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())
    # The ledger is lost, and user2 has left Google meanwhile.
    scim.reset_log()
    outcome = await run_sync(StaticSource(org(people[:2])), target, spec(), Ledger.empty())

    assert outcome.phase == "Succeeded"
    # Adopt, not Unchanged (issue 24): the report shows they are taken back into the ledger.
    assert {(i.action, i.result) for i in outcome.items} == {(Action.ADOPT, Result.SUCCEEDED)}
    assert outcome.items[0].details == (
        "Found by its externalId, not in the ledger (a sync stopped before saving it, or the ledger was "
        "lost): taken into the ledger, nothing written."
    )
    assert outcome.message == "2 adopted (0 users unchanged)."
    assert sorted(outcome.ledger.users) == ["100000", "100001"]
    assert scim.writes == []
    assert all(u["active"] for u in scim.users())


async def test_source_unavailable_fails_without_touching_the_target(
    scim: ScimServer, target: ScimTarget
) -> None:
    ledger = Ledger({"1": "x"})
    outcome = await run_sync(
        StaticSource(org([]), failure="users.list page 3 failed"), target, spec(), ledger
    )
    assert outcome.phase == "Failed"
    assert outcome.message == (
        "Google could not be read completely, so nothing was changed: users.list page 3 failed"
    )
    assert outcome.ledger is ledger and scim.writes == []  # the target may have been read meanwhile


async def test_dry_run_plans_without_writing(scim: ScimServer, target: ScimTarget) -> None:
    outcome = await run_sync(
        StaticSource(org([person(1)])), target, spec(teams=TEAMS), Ledger.empty(), dry_run=True
    )
    assert {i.result for i in outcome.items} == {Result.PLANNED}
    assert outcome.message == "Dry run, would apply: 1 user created, 1 team created (0 users unchanged)."
    assert scim.writes == [] and outcome.ledger == Ledger.empty()
