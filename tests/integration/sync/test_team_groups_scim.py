"""Teams and their Google groups end to end (issue 26, points 3 and 4): the real Google client
reads the emulator, the engine plans, scim2-server stores.

A team carries its Google group's id as externalId (written once), and a mapped group deleted
from Google fails its team's item only, while a chosen group deleted still fails the sync.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from gwsync.api.report import Action, ItemType, Result
from gwsync.sources.google import GoogleDirectory
from gwsync.sync.engine import SyncOutcome, run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.google import GoogleEmulator, google_emulator_in_thread, group_resource
from gwsync.testing.org import Org, OrgCustomer, OrgGroup, OrgUser
from gwsync.testing.scim import Fault, ScimServer

from .conftest import spec

ADMIN = "admin@acme.example"
ENG = OrgGroup(email="eng@acme.example", name="Engineering", members=["ana@acme.example", "bo@acme.example"])
SALES = OrgGroup(email="sales@acme.example", name="Sales", members=["cy@acme.example"])
ENG_ID = group_resource(ENG)["id"]
TEAMS = {
    "enabled": True,
    "mappings": [
        {"team": "Engineering", "groups": ["eng@acme.example"]},
        {"team": "Sales", "groups": ["sales@acme.example"]},
    ],
}
GONE = (
    "Group sales@acme.example does not exist in this Google Workspace organization; fix the group email "
    "in members.groups or teams.mappings."
)


def user(n: int, email: str) -> OrgUser:
    return OrgUser(
        id=f"1{n:020d}", primary_email=email, given_name=email.split("@", maxsplit=1)[0], family_name="Acme"
    )


def acme(groups: list[OrgGroup], hires: int = 0) -> Org:
    people = [
        user(1, ADMIN),
        user(2, "ana@acme.example"),
        user(3, "bo@acme.example"),
        user(4, "cy@acme.example"),
    ]
    people += [user(10 + n, f"new{n}@acme.example") for n in range(hires)]
    return Org(
        customer=OrgCustomer(id="C03acme01", primary_domain="acme.example"),
        admins=[ADMIN],
        users=people,
        groups=groups,
    )


@pytest.fixture
def emulator() -> Iterator[GoogleEmulator]:
    with google_emulator_in_thread(acme([ENG, SALES])) as served:
        yield served


async def sync(emulator: GoogleEmulator, scim: ScimServer, ledger: Ledger, **overrides: Any) -> SyncOutcome:
    reader = GoogleDirectory.from_service_account_key(
        emulator.service_account_key(), admin_email=ADMIN, api_endpoint=emulator.url, retry_base=0.01
    )
    async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
        return await run_sync(reader, target, spec(**{"teams": TEAMS, **overrides}), ledger)


def team(outcome: SyncOutcome, name: str) -> Any:
    [item] = [i for i in outcome.items if i.type is ItemType.TEAM and i.key == name]
    return item


def rename_in_target(scim: ScimServer, group_id: str, name: str) -> None:
    """What an administrator of the target does to a group gwsync manages."""
    patch = [{"op": "replace", "path": "displayName", "value": name}]
    scim.call(
        "PATCH",
        f"/Groups/{group_id}",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": patch},
    )


def group(scim: ScimServer, name: str) -> dict[str, Any]:
    [found] = [g for g in scim.groups() if g["displayName"] == name]
    return found


async def test_a_team_carries_its_google_groups_id_and_a_second_sync_writes_nothing(
    emulator: GoogleEmulator, scim: ScimServer
) -> None:
    first = await sync(emulator, scim, Ledger.empty())
    assert first.phase == "Succeeded", first.message
    assert group(scim, "Engineering").get("externalId") == ENG_ID
    assert group(scim, "Sales").get("externalId") == group_resource(SALES)["id"]
    # The ids cost one groups.get per mapping, asking for the id alone.
    assert sorted(r.params.get("fields") for r in emulator.requests("groups")) == ["id", "id"]

    scim.reset_log()
    second = await sync(emulator, scim, first.ledger)
    assert {i.action for i in second.items} == {Action.UNCHANGED}
    assert scim.writes == []


async def test_an_adopted_team_gets_the_id_in_one_write_and_keeps_it(
    emulator: GoogleEmulator, scim: ScimServer
) -> None:
    existing = scim.seed_group("Engineering")
    scim.reset_log()
    first = await sync(emulator, scim, Ledger.empty())
    item = team(first, "Engineering")
    assert (item.action, item.result, item.target_id) == (Action.ADOPT, Result.SUCCEEDED, existing)
    assert [(c.field, c.from_, c.to) for c in item.changes] == [("externalId", None, ENG_ID)]
    assert group(scim, "Engineering").get("externalId") == ENG_ID
    carrying = [w for w in scim.writes if w.path == f"/v2/Groups/{existing}"]
    assert len(carrying) == 2  # the externalId, then the members (one PATCH each)

    scim.reset_log()
    second = await sync(emulator, scim, first.ledger)
    assert scim.writes == [] and team(second, "Engineering").action is Action.UNCHANGED


async def test_a_team_renamed_in_the_target_is_found_again_by_its_external_id(
    emulator: GoogleEmulator, scim: ScimServer
) -> None:
    first = await sync(emulator, scim, Ledger.empty())
    renamed = group(scim, "Engineering")["id"]
    rename_in_target(scim, renamed, "R&D")
    # The ledger is lost: the team is found by the Google group id it carries, not created again,
    # and its group is given the team's name again.
    again = await sync(emulator, scim, Ledger(users=first.ledger.users))
    item = team(again, "Engineering")
    assert (item.action, item.result, item.target_id) == (Action.ADOPT, Result.SUCCEEDED, renamed), item
    assert item.details == "Existing group R&D adopted as the team and renamed Engineering."
    assert sorted(g["displayName"] for g in scim.groups()) == ["Engineering", "Sales"]


async def test_a_team_renamed_in_the_spec_keeps_its_group_and_members_under_the_new_name(
    emulator: GoogleEmulator, scim: ScimServer
) -> None:
    first = await sync(emulator, scim, Ledger.empty())
    kept = group(scim, "Engineering")["id"]
    renamed = {
        **TEAMS,
        "mappings": [
            {"team": "Platform", "groups": ["eng@acme.example"]},
            {"team": "Sales", "groups": ["sales@acme.example"]},
        ],
    }
    scim.reset_log()

    second = await sync(emulator, scim, first.ledger, teams=renamed)

    assert second.phase == "Succeeded", second.message
    item = team(second, "Platform")
    assert (item.action, item.result, item.target_id) == (Action.RENAME, Result.SUCCEEDED, kept)
    assert (
        item.details
        == "Team renamed from Engineering in the spec: its group Engineering is renamed Platform."
    )
    assert [(c.field, c.from_, c.to) for c in item.changes] == [("displayName", "Engineering", "Platform")]
    assert sorted(g["displayName"] for g in scim.groups()) == ["Platform", "Sales"]  # no second group
    assert scim.group_members("Platform") == {"ana@acme.example", "bo@acme.example"}
    assert [(w.method, w.path) for w in scim.writes] == [("PATCH", f"/v2/Groups/{kept}")]  # the name alone
    assert (second.ledger.teams.get("Platform"), "Engineering" in second.ledger.teams) == (kept, False)
    assert second.summary.teams.updated == 1

    scim.reset_log()
    third = await sync(emulator, scim, second.ledger, teams=renamed)
    assert scim.writes == [] and team(third, "Platform").action is Action.UNCHANGED


async def test_a_group_renamed_in_the_target_is_given_the_teams_name_again(
    emulator: GoogleEmulator, scim: ScimServer
) -> None:
    first = await sync(emulator, scim, Ledger.empty())
    eng = group(scim, "Engineering")["id"]
    rename_in_target(scim, eng, "R&D")

    second = await sync(emulator, scim, first.ledger)

    item = team(second, "Engineering")
    assert (item.action, item.result, item.target_id) == (Action.RENAME, Result.SUCCEEDED, eng)
    assert item.details == "Group R&D, renamed in the target, is given the team's name again."
    assert sorted(g["displayName"] for g in scim.groups()) == ["Engineering", "Sales"]


async def test_a_team_renamed_to_the_name_of_another_group_adopts_that_group(
    emulator: GoogleEmulator, scim: ScimServer
) -> None:
    first = await sync(emulator, scim, Ledger.empty())
    eng = group(scim, "Engineering")["id"]
    platform = scim.seed_group("Platform")
    renamed = {**TEAMS, "mappings": [{"team": "Platform", "groups": ["eng@acme.example"]}]}

    second = await sync(emulator, scim, first.ledger, teams=renamed)

    item = team(second, "Platform")
    assert (item.action, item.target_id) == (Action.ADOPT, platform)  # never two groups of one name
    assert group(scim, "Engineering")["id"] == eng  # left as it was


async def test_a_target_refusing_a_groups_external_id_is_asked_once_and_the_sync_succeeds(
    emulator: GoogleEmulator, scim: ScimServer
) -> None:
    existing = scim.seed_group("Engineering")
    refusal = Fault(
        400, method="PATCH", path=f"/Groups/{existing}", body="externalId", times=None, detail="No externalId"
    )
    refused_create = Fault(
        400, method="POST", path="/Groups", body="externalId", times=None, detail="No externalId"
    )
    scim.set_faults([refusal, refused_create])
    first = await sync(emulator, scim, Ledger.empty())
    assert first.phase == "Succeeded", first.message
    item = team(first, "Engineering")
    assert (item.action, item.result) == (Action.ADOPT, Result.SUCCEEDED)
    assert item.details == (
        "Existing group Engineering adopted as the team. The target refused its externalId (Target refused "
        "setting the team's externalId: 400: No externalId); gwsync does not send it again."
    )
    assert scim.group_members("Engineering") == {"ana@acme.example", "bo@acme.example"}
    # The new team is created without it, once, and the report says so.
    assert team(first, "Sales").result is Result.SUCCEEDED and "externalId" not in group(scim, "Sales")
    assert (
        "The target refused team Sales with an externalId (Target refused creating team Sales: 400: No "
        "externalId); gwsync created it without one and does not send it again."
    ) in first.message

    second = await sync(emulator, scim, first.ledger)
    assert (refusal.hits, refused_create.hits) == (1, 1)
    assert {i.action for i in second.items} == {Action.UNCHANGED}


async def test_a_mapped_group_deleted_from_google_fails_its_team_only(
    emulator: GoogleEmulator, scim: ScimServer
) -> None:
    first = await sync(emulator, scim, Ledger.empty())
    assert scim.group_members("Sales") == {"cy@acme.example"}
    # sales@ is deleted from Google; ana leaves Engineering; a new hire joins it.
    emulator.org = acme(
        [ENG.model_copy(update={"members": ["bo@acme.example", "new0@acme.example"]})], hires=1
    )

    second = await sync(emulator, scim, first.ledger)

    assert second.phase == "PartiallySucceeded", second.message
    sales = team(second, "Sales")
    assert (sales.action, sales.result, sales.details) == (Action.UNCHANGED, Result.FAILED, GONE)
    assert f"Team Sales was left as it is: {GONE}" in second.message
    assert scim.group_members("Sales") == {"cy@acme.example"}  # left as it is, not emptied
    notable = [i for i in second.items if i.action is not Action.UNCHANGED or i.result is Result.FAILED]
    changes = sorted((i.key, i.action.value, i.result.value) for i in notable)
    assert changes == [
        ("Engineering/ana@acme.example", "RemoveMember", "Succeeded"),
        ("Engineering/new0@acme.example", "AddMember", "Succeeded"),
        ("Sales", "Unchanged", "Failed"),
        ("new0@acme.example", "Create", "Succeeded"),
    ]
    assert scim.group_members("Engineering") == {"bo@acme.example", "new0@acme.example"}
    assert second.ledger.teams == first.ledger.teams  # the team stays managed for when it is fixed


async def test_a_chosen_group_deleted_from_google_still_fails_the_sync_before_anything_is_removed(
    emulator: GoogleEmulator, scim: ScimServer
) -> None:
    members = {"from": "Groups", "groups": ["eng@acme.example", "sales@acme.example"]}
    first = await sync(emulator, scim, Ledger.empty(), members=members)
    assert first.phase == "Succeeded", first.message
    emulator.org = acme([ENG])
    scim.reset_log()

    second = await sync(emulator, scim, first.ledger, members=members)

    assert second.phase == "Failed"
    assert GONE in second.message
    assert scim.writes == []
