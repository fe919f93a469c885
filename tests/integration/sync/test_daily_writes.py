"""A daily sync's few writes go out together, however many unchanged users lie between them
(issue 12, point 5): the unchanged users are reported without passing through apply, whose
batches of 200 steps held one or two writes each, so the writes went out one or two at a time.

Shown with the server's own count of requests in flight, not with timings; the people are
seeded in the server's store with the ledger, as a previous sync would have left them.
"""

from dataclasses import replace

from gwsync.api.report import Action, Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import desired_attributes
from gwsync.targets.scim import ScimTarget, user_resource
from gwsync.testing.lightscim import run_light_scim
from gwsync.testing.memory import StaticSource

from .conftest import org, person, spec

PEOPLE = 600
PROMOTED = range(0, PEOPLE, 75)  # 8 title changes, 75 users apart: in 3 of apply's batches


async def test_the_writes_of_a_daily_sync_are_in_flight_together() -> None:
    people = [person(n) for n in range(PEOPLE)]
    ledger = Ledger.empty()
    with run_light_scim(latency=0.3) as scim:
        for someone in people:
            ledger.users[someone.id] = scim.seed_user(user_resource(desired_attributes(someone)))
        today = [replace(p, title="Staff Engineer") if n in PROMOTED else p for n, p in enumerate(people)]
        async with ScimTarget(scim.url, scim.token, max_concurrency=8) as target:
            scim.reset_log()
            outcome = await run_sync(StaticSource(org(today)), target, spec(), ledger)
        writes = [entry for entry in scim.log if entry.write]
        in_flight = scim.max_in_flight

    assert outcome.phase == "Succeeded", outcome.message
    assert len(writes) == len(PROMOTED) == 8
    assert in_flight == 8  # before: at most 3, the writes of one batch
    updated = [item for item in outcome.items if item.action is Action.UPDATE]
    assert [item.key for item in updated] == sorted(f"user{n}@acme.com" for n in PROMOTED)
    assert outcome.summary.users.updated == 8 and outcome.summary.users.unchanged == PEOPLE - 8
    # Every user is reported, in the plan's order, each unchanged one Succeeded as before.
    assert [item.key for item in outcome.items] == sorted(p.primary_email for p in people)
    assert all(item.result is Result.SUCCEEDED for item in outcome.items)
