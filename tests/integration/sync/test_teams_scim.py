"""Mapped teams that already exist in the target: adopted, counted and matched as people expect."""

from gwsync.api.report import Action, ItemType, Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.memory import StaticSource
from gwsync.testing.scim import ScimServer

from .conftest import org, person, spec

TEAMS = {"enabled": True, "mappings": [{"team": "Engineering", "groups": ["eng@acme.com"]}]}


async def test_an_adopted_team_whose_adopted_member_is_already_in_it_changes_nothing_it_counts(
    scim: ScimServer, target: ScimTarget
) -> None:
    # Another tool provisioned user1 and put it in Engineering; gwsync takes both over.
    existing = scim.seed_user("user1@acme.com", displayName="Given1 Family1")
    group = scim.seed_group("Engineering", [existing])
    alice = person(1)
    scim.reset_log()
    outcome = await run_sync(
        StaticSource(org([alice], {"eng@acme.com": [alice]})), target, spec(teams=TEAMS), Ledger.empty()
    )

    assert outcome.phase == "Succeeded", outcome.message
    [team] = [i for i in outcome.items if i.type is ItemType.TEAM]
    assert (team.action, team.result, team.target_id) == (Action.ADOPT, Result.SUCCEEDED, group)
    assert [i for i in outcome.items if i.type is ItemType.MEMBERSHIP] == []
    assert outcome.summary.teams.created == 0 and outcome.summary.memberships.added == 0
    assert outcome.summary.teams.adopted == 1 and "1 team adopted" in outcome.message
    assert "teams created" not in outcome.message and "members added" not in outcome.message
    assert scim.group_members("Engineering") == {"user1@acme.com"}
    assert [w.path for w in scim.writes] == [f"/v2/Users/{existing}"]  # the user's adoption only


async def test_a_team_name_matches_an_existing_group_whatever_its_case(
    scim: ScimServer, target: ScimTarget
) -> None:
    existing = scim.seed_group("engineering")
    alice = person(1)
    source = StaticSource(org([alice], {"eng@acme.com": [alice]}))
    outcome = await run_sync(source, target, spec(teams=TEAMS), Ledger.empty())

    [team] = [i for i in outcome.items if i.type is ItemType.TEAM]
    assert (team.action, team.target_id) == (Action.ADOPT, existing)
    assert team.details == "Existing group engineering adopted as the team."
    assert [g["displayName"] for g in scim.groups()] == ["engineering"]
    assert scim.group_members("engineering") == {"user1@acme.com"}
    assert outcome.ledger.teams == {"Engineering": existing}

    again = await run_sync(source, target, spec(teams=TEAMS), outcome.ledger)
    assert {i.action for i in again.items} == {Action.UNCHANGED}


async def test_the_exact_name_wins_over_a_case_variant(scim: ScimServer, target: ScimTarget) -> None:
    scim.seed_group("ENGINEERING")
    exact = scim.seed_group("Engineering")
    outcome = await run_sync(StaticSource(org([person(1)])), target, spec(teams=TEAMS), Ledger.empty())
    [team] = [i for i in outcome.items if i.type is ItemType.TEAM]
    assert (team.action, team.target_id) == (Action.ADOPT, exact)
    assert len(scim.groups()) == 2
