"""gwsync.testing.lightscim, the fast server of the benchmarks and rate-limit tests, is a SCIM
target the real engine and adapter sync whole: create, team and members, zero writes when
nothing changed, then a rename, an update, a leaver and a member removed, as on scim2-server.
A benchmark against a server that dropped or mangled writes would measure nothing."""

from dataclasses import replace

from gwsync.api.report import Action, Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.lightscim import LightScim, run_light_scim
from gwsync.testing.memory import StaticSource

from .conftest import members, org, person, spec

TEAMS = {"enabled": True, "mappings": [{"team": "Engineering", "groups": ["eng@acme.com"]}]}


def stored(scim: LightScim) -> dict[str, tuple[str, bool, str | None]]:
    """userName -> (id, active, title) as the server holds them."""
    return {
        u["userName"]: (u["id"], u.get("active", True), u.get("title")) for u in scim.users.resources.values()
    }


async def test_a_whole_sync_cycle_against_the_light_server() -> None:
    people = [person(i) for i in range(5)]
    with run_light_scim() as scim:
        async with ScimTarget(scim.url, scim.token) as target:
            first = await run_sync(
                StaticSource(org(people, {"eng@acme.com": people[:3]})),
                target,
                spec(teams=TEAMS),
                Ledger.empty(),
            )
            created, team = stored(scim), members(scim)
            scim.reset_log()
            quiet = await run_sync(
                StaticSource(org(people, {"eng@acme.com": people[:3]})),
                target,
                spec(teams=TEAMS),
                first.ledger,
            )
            quiet_writes = [r for r in scim.log if r.write]

            renamed = replace(people[0], primary_email="ada@acme.com")
            promoted = replace(people[1], title="Staff Engineer")
            after = [renamed, promoted, people[2], people[3]]  # user4 left
            third = await run_sync(
                StaticSource(org(after, {"eng@acme.com": [renamed, promoted]})),
                target,
                spec(teams=TEAMS),
                quiet.ledger,
            )

    assert first.phase == "Succeeded", first.message
    assert sorted(created) == [f"user{i}@acme.com" for i in range(5)]
    assert team == {"user0@acme.com", "user1@acme.com", "user2@acme.com"}
    assert quiet.phase == "Succeeded" and {i.action for i in quiet.items} == {Action.UNCHANGED}
    assert quiet_writes == []

    assert third.phase == "Succeeded", third.message
    assert all(i.result is Result.SUCCEEDED for i in third.items if i.action is not Action.UNCHANGED)
    now = stored(scim)
    assert now["ada@acme.com"][0] == created["user0@acme.com"][0]  # renamed in place
    assert now["user1@acme.com"][2] == "Staff Engineer"
    assert now["user4@acme.com"][1] is False  # deactivated, not deleted
    assert members(scim) == {"ada@acme.com", "user1@acme.com"}
