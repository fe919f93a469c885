"""The grace period for leavers through the engine and scim2-server (issue 14, point 3).

The engine plans at the clock's time; the ledger goes through its JSON form between syncs, as
through its ConfigMap across an operator restart. "72 hours later" is the stored ledger with
the first absence moved 72 hours back: the data a restart three days later would read.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gwsync.api.report import Action, ItemType, Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.memory import StaticSource
from gwsync.testing.scim import ScimServer

from .conftest import org, person, spec

TEAMS = {"enabled": True, "mappings": [{"team": "Engineering", "groups": ["eng@acme.com"]}]}
GRACE = spec(teams=TEAMS, deprovision={"maxPercent": 100, "gracePeriod": "72h"})


def restarted(ledger: Ledger, hours_later: float = 0) -> Ledger:
    """The ledger as a restart `hours_later` reads it: from JSON, its pending removals older."""
    stored = Ledger.from_json(ledger.to_json())
    shift = timedelta(hours=hours_later)
    older = {gid: (datetime.fromisoformat(at) - shift).isoformat() for gid, at in stored.pending.items()}
    return replace(stored, pending=older)


async def test_a_user_who_leaves_and_comes_back_within_the_period_causes_no_write(
    scim: ScimServer, target: ScimTarget
) -> None:
    ann, bob = person(1), person(2)
    everyone = StaticSource(org([ann, bob], {"eng@acme.com": [ann, bob]}))
    first = await run_sync(everyone, target, GRACE, Ledger.empty())
    assert first.phase == "Succeeded", first.message
    scim.reset_log()

    suspended = replace(bob, suspended=True)
    away = await run_sync(
        StaticSource(org([ann, suspended], {"eng@acme.com": [ann]})), target, GRACE, first.ledger
    )
    [pending] = [i for i in away.items if i.source_id == bob.id]
    assert (pending.action, pending.result, pending.data_changed) == (
        Action.PENDING_REMOVAL,
        Result.SUCCEEDED,
        True,
    )
    assert pending.details.startswith("Suspended in Google; will be deactivated by the first sync after ")
    assert [i for i in away.items if i.type is ItemType.MEMBERSHIP] == []
    assert away.phase == "Succeeded" and away.summary.users.pending_removal == 1
    assert "1 removal pending until its grace period ends" in away.message
    assert set(away.ledger.pending) == {bob.id}

    back = await run_sync(everyone, target, GRACE, restarted(away.ledger, hours_later=71))
    assert {i.action for i in back.items} == {Action.UNCHANGED}
    assert back.ledger.pending == {}
    assert scim.writes == []  # scim2-server's request log: reads only, from the departure to the return
    assert scim.user_by_name("user2@acme.com")["active"] is True
    assert scim.group_members("Engineering") == {"user1@acme.com", "user2@acme.com"}


async def test_a_user_still_away_when_the_period_ends_is_removed_by_the_first_sync_after_it(
    scim: ScimServer, target: ScimTarget
) -> None:
    ann, bob = person(1), person(2)
    first = await run_sync(
        StaticSource(org([ann, bob], {"eng@acme.com": [ann, bob]})), target, GRACE, Ledger.empty()
    )
    gone = StaticSource(org([ann], {"eng@acme.com": [ann]}))  # Bob's account is deleted
    away = await run_sync(gone, target, GRACE, first.ledger)
    since = datetime.fromisoformat(away.ledger.pending[bob.id])
    assert since <= datetime.now(UTC)
    scim.reset_log()

    still = await run_sync(gone, target, GRACE, restarted(away.ledger, hours_later=71.9))
    assert [i.action for i in still.items if i.source_id == bob.id] == [Action.PENDING_REMOVAL]
    assert scim.writes == []

    due = await run_sync(gone, target, GRACE, restarted(still.ledger, hours_later=72))
    assert due.phase == "Succeeded", due.message
    [removal] = [i for i in due.items if i.type is ItemType.USER and i.source_id == bob.id]
    assert (removal.action, removal.result) == (Action.DEPROVISION, Result.SUCCEEDED)
    assert removal.details.startswith("Deleted from Google (absent since ")
    assert removal.details.endswith(", gracePeriod 72h over); deactivated (active=false).")
    [membership] = [i for i in due.items if i.type is ItemType.MEMBERSHIP]
    assert (membership.action, membership.details) == (
        Action.REMOVE_MEMBER,
        "No longer in eng@acme.com (mapped to Engineering).",
    )
    assert scim.user_by_name("user2@acme.com")["active"] is False
    assert scim.group_members("Engineering") == {"user1@acme.com"}
    assert due.ledger.pending == {} and due.summary.users.deprovisioned == 1
    assert len(scim.writes) == 2  # the group's member removal and the deactivation
