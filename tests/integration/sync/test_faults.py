"""A target that refuses or throttles: items fail alone, the next sync retries only them."""

from gwsync.api.report import Action, Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.memory import StaticSource
from gwsync.testing.scim import Fault, ScimServer, run_scim_server

from .conftest import org, person, spec


async def test_failed_writes_make_a_partial_sync_and_the_next_one_retries_only_them(
    scim: ScimServer, target: ScimTarget
) -> None:
    scim.seed_user("user3@acme.com", externalId="someone-else")  # userName taken: a 409
    people = [person(i) for i in range(6)]
    scim.set_faults(
        [
            Fault(500, method="POST", body="user1@acme.com", times=None, detail="database is down"),
            Fault(500, method="POST", body="user4@acme.com", times=None, detail="database is down"),
        ]
    )
    first = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())

    assert first.phase == "PartiallySucceeded"
    failed = {i.key: i.details for i in first.items if i.result is Result.FAILED}
    assert failed == {
        "user1@acme.com": "Target refused creating user1@acme.com: 500: database is down",
        "user3@acme.com": "Target refused creating user3@acme.com: 409 uniqueness: One or more of the "
        "attribute values are already in use or are reserved",
        "user4@acme.com": "Target refused creating user4@acme.com: 500: database is down",
    }
    assert [i.result for i in first.items].count(Result.SUCCEEDED) == 3
    assert first.summary.users.failed == 3 and first.summary.users.created == 3
    assert "3 items failed and will be retried by the next sync" in first.message

    scim.set_faults([])
    scim.reset_log()
    second = await run_sync(StaticSource(org(people)), target, spec(), first.ledger)
    retried = {i.key for i in second.items if i.action is Action.CREATE}
    assert retried == {"user1@acme.com", "user3@acme.com", "user4@acme.com"}
    assert [w.method for w in scim.writes] == ["POST"] * 3
    assert second.phase == "PartiallySucceeded"  # the 409 is real: userName is someone else's


async def test_a_429_storm_is_survived_within_max_concurrency() -> None:
    storm = Fault(429, method="POST", times=40, retry_after="0.02", detail="slow down")
    with run_scim_server(faults=[storm], delay=0.005) as scim:
        async with ScimTarget(
            scim.url, scim.token, max_concurrency=3, retry_base=0.01, max_attempts=10
        ) as target:
            outcome = await run_sync(
                StaticSource(org([person(i) for i in range(30)])), target, spec(), Ledger.empty()
            )
            assert outcome.phase == "Succeeded", outcome.message
            assert outcome.summary.users.created == 30
            assert storm.hits == 40 and target.counters.retries >= 40
            assert 1 < scim.max_in_flight <= 3
            assert len(scim.users()) == 30
