"""Two target users carrying one Google id (issue 16, bug 3): the live one is managed.

A stale copy (another tool's leftover, a restored backup) must neither win by being listed
first nor stay active when the person leaves.
"""

import pytest

from gwsync.api.report import Action, ReportItem, Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.memory import StaticSource
from gwsync.testing.scim import ScimServer

from .conftest import org, person, spec


def of(items: list[ReportItem], source_id: str) -> dict[str, ReportItem]:
    return {i.target_id or "": i for i in items if i.source_id == source_id}


@pytest.mark.parametrize("ledgered", [True, False], ids=["ledger-holds-the-stale-copy", "no-ledger"])
async def test_the_account_with_the_current_email_wins_and_every_copy_is_deactivated_at_departure(
    scim: ScimServer, target: ScimTarget, ledgered: bool
) -> None:
    stale = scim.seed_user("old1@acme.com", externalId="100001", displayName="Old copy")
    live = scim.seed_user("user1@acme.com", externalId="100001")
    alice, bob = person(1), person(2)
    ledger = Ledger({"100001": stale}) if ledgered else Ledger.empty()
    first = await run_sync(StaticSource(org([alice, bob])), target, spec(), ledger)

    assert first.phase == "Succeeded", first.message
    [item] = of(first.items, "100001").values()
    assert (item.key, item.target_id, item.action) == ("user1@acme.com", live, Action.UPDATE)
    assert item.details.endswith(
        f"Duplicate: target user old1@acme.com (id {stale}) carries the same externalId; left as it is."
    )
    assert first.ledger.users["100001"] == live
    assert scim.user_by_name("old1@acme.com")["displayName"] == "Old copy"  # left as it is
    assert scim.user_by_name("user1@acme.com")["name"]["givenName"] == "Given1"

    second = await run_sync(StaticSource(org([bob])), target, spec(), first.ledger)
    departed = of(second.items, "100001")
    assert {tid: (i.action, i.result) for tid, i in departed.items()} == {
        live: (Action.DEPROVISION, Result.SUCCEEDED),
        stale: (Action.DEPROVISION, Result.SUCCEEDED),
    }
    assert departed[stale].details == (
        "Deleted from Google; duplicate of user1@acme.com (same externalId); deactivated (active=false)."
    )
    assert scim.user_by_name("user1@acme.com")["active"] is False
    assert scim.user_by_name("old1@acme.com")["active"] is False
    assert second.summary.users.deprovisioned == 2

    third = await run_sync(StaticSource(org([bob])), target, spec(), second.ledger)
    assert {i.action for i in third.items} == {Action.UNCHANGED}


async def test_with_delete_every_copy_is_deleted(scim: ScimServer, target: ScimTarget) -> None:
    stale = scim.seed_user("old1@acme.com", externalId="100001")
    scim.seed_user("user1@acme.com", externalId="100001")
    first = await run_sync(StaticSource(org([person(1), person(2)])), target, spec(), Ledger.empty())
    deleting = spec(deprovision={"action": "Delete", "maxPercent": 100})
    second = await run_sync(StaticSource(org([person(2)])), target, deleting, first.ledger)

    departed = of(second.items, "100001")
    assert [(i.action, i.result) for i in departed.values()] == [(Action.DELETE, Result.SUCCEEDED)] * 2
    assert departed[stale].details == (
        "Deleted from Google; duplicate of user1@acme.com (same externalId); deleted from the target."
    )
    assert [u["userName"] for u in scim.users()] == ["user2@acme.com"]
