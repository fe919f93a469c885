"""Planner properties on an in-memory target: apply the plan, plan again -> only Unchanged."""

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action, ItemType, Result
from gwsync.directory import Directory, Person
from gwsync.sync.engine import SyncOutcome, notable_items, run_sync
from gwsync.sync.ledger import Ledger, LedgerError
from gwsync.sync.ports import UserAttributes
from gwsync.testing.memory import MemoryTarget, StaticSource

GROUPS = ["a@acme.com", "b@acme.com"]


def make_spec(
    from_groups: bool, teams: bool, delete: bool, grace: str | None = None
) -> GoogleProvisioningSpec:
    deprovision: dict[str, Any] = {"action": "Delete" if delete else "Deactivate", "maxPercent": 100}
    document: dict[str, Any] = {
        "google": {"adminEmail": "admin@acme.com", "credentialsSecretRef": {"name": "g", "key": "k"}},
        "target": {"scim": {"url": "http://127.0.0.1/v2", "tokenSecretRef": {"name": "s", "key": "t"}}},
        "members": {"from": "Groups", "groups": ["a@acme.com"]} if from_groups else {},
        "teams": {"enabled": teams, "mappings": [{"team": "T", "groups": GROUPS}]},
        "deprovision": {**deprovision, "maxCount": 1000, **({"gracePeriod": grace} if grace else {})},
    }
    return GoogleProvisioningSpec.model_validate(document)


def period_over(ledger: Ledger, grace: timedelta) -> Ledger:
    """The ledger as read once the grace period is over: every first absence `grace` older."""
    older = {gid: (datetime.fromisoformat(at) - grace).isoformat() for gid, at in ledger.pending.items()}
    return replace(ledger, pending=older)


people = st.lists(
    st.builds(
        Person,
        id=st.sampled_from([str(i) for i in range(8)]),
        primary_email=st.sampled_from([f"p{i}@acme.com" for i in range(10)]),
        given_name=st.sampled_from(["", "Ann", "Bo"]),
        title=st.sampled_from([None, "Eng", "CTO"]),
        suspended=st.booleans(),
        photo_url=st.sampled_from([None, "https://p/x.jpg"]),
        photo_etag=st.sampled_from([None, "e1"]),
    ),
    max_size=8,
    unique_by=(lambda p: p.id, lambda p: p.primary_email),
)

existing = st.lists(
    st.builds(
        UserAttributes,
        user_name=st.sampled_from([f"p{i}@acme.com" for i in range(10)] + ["x@partner.com"]),
        external_id=st.sampled_from([None, "1", "3", "other"]),
        title=st.sampled_from([None, "Old"]),
        active=st.booleans(),
    ),
    max_size=5,
    # Two users may carry one externalId (a stale copy): the live one is managed, the other
    # is reported with it and deactivated with it, so such targets converge in one sync too.
    unique_by=lambda u: u.user_name.casefold(),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=people,
    after=people,
    seeded=existing,
    memberships=st.lists(st.tuples(st.sampled_from(GROUPS), st.integers(0, 7)), max_size=10),
    from_groups=st.booleans(),
    teams=st.booleans(),
    delete=st.booleans(),
    unsupported=st.frozensets(st.sampled_from(["title", "photos", "displayName", "userType"])),
    grace=st.booleans(),
)
def test_applying_a_plan_then_planning_again_leaves_only_unchanged(
    before: list[Person],
    after: list[Person],
    seeded: list[UserAttributes],
    memberships: list[tuple[str, int]],
    from_groups: bool,
    teams: bool,
    delete: bool,
    unsupported: frozenset[str],
    grace: bool,
) -> None:
    """Convergence: one sync, then only Unchanged and no write. With a grace period, leavers
    are PendingRemoval (and nothing is written) until it ends; the first sync after it
    converges like any other."""
    spec = make_spec(from_groups, teams, delete, "72h" if grace else None)
    # A target that drops some attributes converges too: the planner does not compare them.
    target = MemoryTarget(unsupported_fields=unsupported)
    target.users = {f"s{i}": user for i, user in enumerate(seeded)}

    def directory(persons: list[Person]) -> Directory:
        groups = {g: frozenset(str(i) for grp, i in memberships if grp == g) for g in GROUPS}
        return Directory("C1", "acme.com", {p.id: p for p in persons}, groups)

    def converged(previous: SyncOutcome, outcome: SyncOutcome, writes: int, waiting: bool = False) -> None:
        failed = {i.key for i in previous.items if i.result is Result.FAILED}
        # A user that cannot be written takes its memberships with it (Skipped, retried with it).
        blocked = {
            i.source_id for i in previous.items if i.result is Result.FAILED and i.type is ItemType.USER
        }
        # Within the grace period, leavers are reported again, still without a write.
        quiet = {Action.UNCHANGED, Action.PENDING_REMOVAL} if waiting else {Action.UNCHANGED}
        changed = [
            i
            for i in outcome.items
            if i.action not in quiet and i.key not in failed and i.source_id not in blocked
        ]
        # Only a userName held by someone gwsync may not touch (an unmanaged user, the deactivated
        # user of a departed account, or a leaver within its grace period) can keep failing:
        # never duplicated, never taken over.
        assert all(i.result is Result.FAILED for i in changed) or not changed, changed
        if not failed:
            assert changed == [] and target.writes == writes

    async def scenario() -> None:
        first = await run_sync(StaticSource(directory(before)), target, spec, Ledger.empty())
        second = await run_sync(StaticSource(directory(after)), target, spec, first.ledger)
        writes = target.writes
        third = await run_sync(StaticSource(directory(after)), target, spec, second.ledger)
        converged(second, third, writes, waiting=grace)
        if grace:
            assert all(
                i.action not in {Action.DEPROVISION, Action.DELETE} for i in second.items + third.items
            )
            event(f"removals waiting for the grace period: {bool(third.ledger.pending)}")
            assert set(third.ledger.pending) == {
                i.source_id for i in third.items if i.action is Action.PENDING_REMOVAL
            }
            # The period ends: the next sync removes the leavers, and then nothing is left to do.
            due = await run_sync(
                StaticSource(directory(after)),
                target,
                spec,
                period_over(third.ledger, spec.deprovision.grace),
            )
            assert all(i.action is not Action.PENDING_REMOVAL for i in due.items)
            writes = target.writes
            final = await run_sync(StaticSource(directory(after)), target, spec, due.ledger)
            converged(due, final, writes)
            assert final.ledger.pending == {} or any(i.result is Result.FAILED for i in due.items)

    asyncio.run(scenario())


def test_ledger_round_trips_and_refuses_garbage() -> None:
    ledger = Ledger({"1": "a"}, {"T": "g"})
    assert Ledger.from_json(ledger.to_json()) == ledger
    with pytest.raises(LedgerError, match="unknown format"):
        Ledger.from_json(b'{"users": {}}')


def test_notable_items_put_failures_first_and_skip_unchanged() -> None:
    from gwsync.api.report import ItemType, ReportItem

    def item(key: str, action: Action, result: Result) -> ReportItem:
        return ReportItem(type=ItemType.USER, key=key, action=action, result=result)

    items = [
        item("a", Action.UNCHANGED, Result.SUCCEEDED),
        item("b", Action.CREATE, Result.SUCCEEDED),
        item("c", Action.UPDATE, Result.FAILED),
    ]
    assert [i.key for i in notable_items(items)] == ["c", "b"]
    assert [i.key for i in notable_items(items, limit=1)] == ["c"]
