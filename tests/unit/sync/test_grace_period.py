"""A grace period for leavers (issue 14, point 3), planned at chosen times, applied in memory.

Each sync here is what the engine does (plan, guard, apply) with `now` given, and the ledger
goes through its JSON form between syncs, as it does through its ConfigMap across restarts.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action, ItemType, ReportItem, Result
from gwsync.directory import Directory, Person
from gwsync.sync.apply import apply_plan
from gwsync.sync.guards import guard_removals
from gwsync.sync.ledger import Ledger, LedgerError
from gwsync.sync.plan import make_plan
from gwsync.sync.summary import describe, summarize
from gwsync.testing.memory import MemoryTarget

T0 = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
ANN, BOB = Person(id="1", primary_email="ann@acme.com"), Person(id="2", primary_email="bob@acme.com")
TEAM = {"enabled": True, "mappings": [{"team": "Eng", "groups": ["eng@acme.com"]}]}


def spec(grace: str | None = "72h", **deprovision: Any) -> GoogleProvisioningSpec:
    return GoogleProvisioningSpec.model_validate(
        {
            "google": {"adminEmail": "admin@acme.com", "credentialsSecretRef": {"name": "g", "key": "k"}},
            "target": {"scim": {"url": "http://127.0.0.1/v2", "tokenSecretRef": {"name": "s", "key": "t"}}},
            "teams": TEAM,
            "deprovision": {"maxPercent": 100, **({"gracePeriod": grace} if grace else {}), **deprovision},
        }
    )


def org(*people: Person) -> Directory:
    return Directory(
        "C1", "acme.com", {p.id: p for p in people}, {"eng@acme.com": frozenset(p.id for p in people)}
    )


class Run:
    """A target and the ledger as stored (JSON) between syncs."""

    def __init__(self) -> None:
        self.target = MemoryTarget()
        self.stored = Ledger.empty().to_json()

    def sync(
        self, directory: Directory, at: datetime, provisioning: GoogleProvisioningSpec
    ) -> list[ReportItem]:
        async def one() -> list[ReportItem]:
            ledger = Ledger.from_json(self.stored)  # a restart reads it back
            users, groups = await self.target.list_users(), await self.target.list_groups()
            plan = make_plan(directory, provisioning, ledger, users, groups, now=at)
            self.verdict = guard_removals(plan, provisioning.deprovision)
            applied = await apply_plan(plan, self.target, ledger)
            self.stored = applied.ledger.to_json()
            return applied.items

        return asyncio.run(one())

    @property
    def ledger(self) -> Ledger:
        return Ledger.from_json(self.stored)


def user_items(items: list[ReportItem]) -> dict[str, tuple[Action, str]]:
    return {i.key: (i.action, i.details) for i in items if i.type is ItemType.USER}


def test_a_leaver_is_pending_with_its_date_and_back_in_time_nothing_was_written() -> None:
    run = Run()
    run.sync(org(ANN, BOB), T0 - timedelta(days=1), spec())
    writes = run.target.writes
    suspended = Person(id="2", primary_email="bob@acme.com", suspended=True)

    items = run.sync(org(ANN, suspended), T0, spec())
    [bob] = [i for i in items if i.key == "bob@acme.com"]
    assert (bob.action, bob.result, bob.data_changed) == (Action.PENDING_REMOVAL, Result.SUCCEEDED, True)
    assert bob.details == (
        "Suspended in Google; will be deactivated by the first sync after 2026-11-28T18:00:00Z unless "
        "back by then (gracePeriod 72h, absent since 2026-11-25T18:00:00Z)."
    )
    assert [i for i in items if i.type is ItemType.MEMBERSHIP] == []  # keeps its team meanwhile
    assert run.ledger.pending == {"2": "2026-11-25T18:00:00Z"}
    summary = summarize(items)
    assert summary.users.pending_removal == 1 and summary.users.deprovisioned == 0
    assert describe(summary, dry_run=False, held_reason=None) == (
        "Nothing to change; 1 removal pending until its grace period ends (1 user unchanged)."
    )

    later = run.sync(org(ANN, suspended), T0 + timedelta(hours=71, minutes=59, seconds=59), spec())
    [bob] = [i for i in later if i.key == "bob@acme.com"]
    assert (bob.action, bob.data_changed) == (Action.PENDING_REMOVAL, False)  # the same date, not a new one
    assert "after 2026-11-28T18:00:00Z" in bob.details

    back = run.sync(org(ANN, BOB), T0 + timedelta(hours=71, minutes=59, seconds=59), spec())
    assert {i.action for i in back} == {Action.UNCHANGED}
    assert run.target.writes == writes  # nothing written from the departure to the return
    assert run.ledger.pending == {}


def test_a_leaver_still_away_when_the_period_ends_is_removed_by_the_next_sync() -> None:
    run = Run()
    run.sync(org(ANN, BOB), T0 - timedelta(days=1), spec())
    bob_id = run.ledger.users["2"]
    run.sync(org(ANN), T0, spec())  # Bob's account is deleted
    assert run.target.users[bob_id].active and bob_id in run.target.groups["g3"].members

    due = run.sync(org(ANN), T0 + timedelta(hours=72), spec())
    assert user_items(due)["bob@acme.com"] == (
        Action.DEPROVISION,
        "Deleted from Google (absent since 2026-11-25T18:00:00Z, gracePeriod 72h over); "
        "deactivated (active=false).",
    )
    removed = [i for i in due if i.action is Action.REMOVE_MEMBER]
    assert [(i.key, i.details, i.result) for i in removed] == [
        ("Eng/bob@acme.com", "No longer in eng@acme.com (mapped to Eng).", Result.SUCCEEDED)
    ]
    assert not run.target.users[bob_id].active and bob_id not in run.target.groups["g3"].members
    writes = run.target.writes

    # Deactivated: nothing is pending any more, and the next sync has nothing to do.
    assert run.ledger.pending == {}
    after = run.sync(org(ANN), T0 + timedelta(hours=96), spec())
    assert user_items(after)["bob@acme.com"][0] is Action.UNCHANGED
    assert run.target.writes == writes


def test_delete_waits_too_and_a_user_already_deactivated_does_not() -> None:
    delete = spec(action="Delete")
    run = Run()
    run.sync(org(ANN, BOB), T0, delete)
    run.sync(org(BOB), T0, delete)
    waiting = run.sync(org(BOB), T0 + timedelta(hours=1), delete)
    assert user_items(waiting)["ann@acme.com"][0] is Action.PENDING_REMOVAL
    assert (
        "will be deleted by the first sync after 2026-11-28T18:00:00Z"
        in user_items(waiting)["ann@acme.com"][1]
    )
    due = run.sync(org(BOB), T0 + timedelta(hours=72), delete)
    assert user_items(due)["ann@acme.com"][0] is Action.DELETE
    assert run.ledger.pending == {} and "1" not in run.ledger.users

    # Deactivated already (by hand, or before the grace period was set): no wait, no write.
    run = Run()
    run.sync(org(ANN, BOB), T0, spec(grace=None))
    run.sync(org(BOB), T0, spec(grace=None))
    writes = run.target.writes
    items = run.sync(org(BOB), T0 + timedelta(hours=1), spec())
    assert user_items(items)["ann@acme.com"] == (
        Action.UNCHANGED,
        "Deleted from Google; already deactivated.",
    )
    assert run.ledger.pending == {} and run.target.writes == writes


def test_pending_removals_count_toward_the_safety_brake_only_when_due() -> None:
    braked = spec(maxCount=0)
    run = Run()
    run.sync(org(ANN, BOB), T0, braked)
    items = run.sync(org(ANN), T0 + timedelta(hours=1), braked)
    assert run.verdict.reason is None
    assert user_items(items)["bob@acme.com"][0] is Action.PENDING_REMOVAL

    held = run.sync(org(ANN), T0 + timedelta(hours=73), braked)
    assert run.verdict.reason == "1 removal exceeds maxCount 0" and run.verdict.held == ["2"]
    [bob] = [i for i in held if i.key == "bob@acme.com"]
    assert (bob.action, bob.result) == (Action.DEPROVISION, Result.SKIPPED)
    # Held, the removal stays due: the date it was first seen absent is kept.
    assert run.ledger.pending == {"2": "2026-11-25T19:00:00Z"}


def test_without_a_grace_period_a_leaver_is_removed_at_once_and_nothing_is_pending() -> None:
    run = Run()
    run.sync(org(ANN, BOB), T0, spec(grace=None))
    items = run.sync(org(ANN), T0, spec(grace=None))
    assert user_items(items)["bob@acme.com"] == (
        Action.DEPROVISION,
        "Deleted from Google; deactivated (active=false).",
    )
    assert run.ledger.pending == {} and b"pending" not in run.stored


def test_the_ledger_keeps_pending_removals_and_loads_older_ledgers() -> None:
    ledger = Ledger({"1": "a"}, {"T": "g"}, {"1": "2026-11-25T18:00:00Z"})
    assert Ledger.from_json(ledger.to_json()) == ledger
    assert Ledger.from_json(b'{"version":1,"users":{"1":"a"},"teams":{}}') == Ledger({"1": "a"})
    assert Ledger({"1": "a"}).to_json() == b'{"teams":{},"users":{"1":"a"},"version":1}'  # as before
    assert ledger.copy() == ledger and ledger.copy().pending is not ledger.pending
    for pending in ('{"1": "yesterday"}', '{"1": "2026-11-25T18:00:00"}', '{"1": 5}', "[]"):
        with pytest.raises(LedgerError, match="pending removals"):
            Ledger.from_json(f'{{"version":1,"users":{{}},"teams":{{}},"pending":{pending}}}')
