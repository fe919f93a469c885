"""A target whose listing never ends fails the sync before anything is planned (issue 23, point 2).

A listing cut short would make the users not read look deleted by hand (their ledger entries
dropped) and the people behind them look new (created twice): the read fails instead, the
sync is Failed, the ledger stays as it was and nothing is written.
"""

import asyncio

from gwsync.api.provisioning import ListLimits
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.endless_scim import run_endless_scim
from gwsync.testing.memory import StaticSource

from .conftest import org, person, spec


async def test_a_listing_that_never_ends_fails_the_sync_and_changes_nothing() -> None:
    people = [person(i) for i in range(3)]
    ledger = Ledger({p.id: f"u{n}" for n, p in enumerate(people, start=1)}, {}, {})
    with run_endless_scim("new-ids", page_size=100) as scim:
        async with ScimTarget(scim.url, scim.token, list_limits=ListLimits(max_resources=500)) as target:
            async with asyncio.timeout(20):  # before the fix, the listing went on for ever
                outcome = await run_sync(StaticSource(org(people[:1])), target, spec(), ledger)
    assert outcome.phase == "Failed"
    assert outcome.message == (
        "The target could not be read, so nothing was changed: The SCIM target "
        f"{scim.url} listed more than 500 users at /Users, the most gwsync reads in one listing; if "
        "it really holds that many, raise spec.target.scim.listLimits.maxResources."
    )
    assert outcome.items == [] and outcome.ledger == ledger and scim.writes == 0
