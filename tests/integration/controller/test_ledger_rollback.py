"""An older signed ledger put back in place of the newest is ignored (docs/security.md).

A signature says the operator wrote a generation, not that it is the newest: whoever kept a copy
of an older one could put it back. The GoogleProvisioning's status, which tenants may not write,
records the newest generation saved; an older one read is ignored and reported, as a ledger
that does not verify is. Here the older copy holds a grace period that started before the
person came back, and would have removed them three days early.
"""

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest
from tests.integration.orgs import small_org

from gwsync.kube.client import CONFIG_MAPS, connect
from gwsync.sync.ports import WRITE_BATCH
from gwsync.testing.kube import CONFIGMAPS
from gwsync.testing.org import Org
from gwsync.testing.scim import Interleave

from .conftest import NS, World, eventually

AMELIE = "amelie@acme.example"
[AMELIE_USER] = [user for user in small_org().users if user.primary_email == AMELIE]


def ledger_config_maps(world: World) -> list[dict[str, Any]]:
    return world.kube.list_objects(CONFIGMAPS, NS, labels="gwsync.io/store=ledger")


def recorded_generation(world: World) -> int | None:
    generation = (world.status().get("ledger") or {}).get("generation")
    return generation if isinstance(generation, int) else None


async def sync_a_day_later(world: World, count: int, *, present: bool) -> dict[str, Any]:
    """Amélie in Google or not, a day later; the sync's report, once the status records it."""
    org = world.google.org
    others = [user for user in org.users if user.primary_email != AMELIE]
    world.google.org = org.model_copy(update={"users": [*others, *([AMELIE_USER] if present else [])]})
    world.clock.now += timedelta(days=1)
    report = (await eventually(lambda: world.finished(count=count)))[-1]
    assert report["status"]["phase"] == "Succeeded", report["status"]
    [newest] = {
        int(cm["metadata"]["annotations"]["gwsync.io/generation"]) for cm in ledger_config_maps(world)
    }
    await eventually(lambda: recorded_generation(world) == newest or None)
    return report


async def test_an_older_ledger_put_back_is_ignored_and_cannot_end_a_grace_period_early(world: World) -> None:
    await world.start()
    await world.create(world.provisioning(deprovision={"gracePeriod": "72h", "maxPercent": 100}))
    await eventually(world.finished)
    await sync_a_day_later(world, 2, present=False)  # day 1: she left, her removal waits until day 4
    kept = ledger_config_maps(world)  # what a tenant with ConfigMap rights copies aside
    await sync_a_day_later(world, 3, present=True)  # day 2: she is back, nothing waits
    await sync_a_day_later(world, 4, present=False)  # day 3: she left again, her removal waits until day 6
    recorded = recorded_generation(world)

    # The tenant deletes the newest generation and puts the day-1 one back.
    client = connect(str(world.kube.url), insecure=True)
    for config_map in ledger_config_maps(world):
        await asyncio.to_thread(client.delete, CONFIG_MAPS, NS, config_map["metadata"]["name"])
    client.close()
    for config_map in kept:
        metadata = {
            key: config_map["metadata"][key] for key in ("name", "namespace", "labels", "annotations")
        }
        world.kube.seed(CONFIGMAPS, {"metadata": metadata, "binaryData": config_map["binaryData"]})
    put_back = kept[0]["metadata"]
    world.clock.now += timedelta(hours=1)  # day 4 and an hour: past the older copy's grace period
    fifth = await sync_a_day_later(world, 5, present=False)

    assert world.scim.user_by_name(AMELIE)["active"] is True
    assert fifth["status"]["summary"]["users"]["deprovisioned"] == 0
    sentence = (
        f"The ledger of GoogleProvisioning {NS}/acme (ConfigMap {put_back['name']}) is generation "
        f"{put_back['annotations']['gwsync.io/generation']}, older than generation {recorded} that its "
        "status records as saved last (an older copy was put back in place of the newest), so this sync "
        "ignored it: users were matched by externalId only and teams by name, and the next ledger saved "
        "is signed."
    )
    condition = await eventually(lambda: world.condition_is("LedgerVerified", "False"))
    assert (condition["reason"], condition["message"]) == ("LedgerRolledBack", sentence)
    [event] = await eventually(lambda: world.events("LedgerRejected") or None)
    assert (event["type"], event["message"]) == ("Warning", sentence)
    assert (recorded_generation(world) or 0) > (recorded or 0)  # saved above the recorded one

    await sync_a_day_later(world, 6, present=True)  # the ledger it saved is the newest: verified again
    verified = await eventually(lambda: world.condition_is("LedgerVerified", "True"))
    assert verified["reason"] == "Verified"
    assert len(world.events("LedgerRejected")) == 1


@pytest.mark.parametrize("org", [small_org(WRITE_BATCH + 97)], ids=["300-users"])
async def test_each_generation_saved_is_in_the_status_before_the_sync_goes_on(world: World, org: Org) -> None:
    """So that a process killed mid-sync leaves no generation newer than the status says."""
    seen: list[tuple[int | None, set[int]]] = []

    looking = threading.Lock()  # creates are served several at once

    def look() -> None:  # before each create is served: the first one after the first checkpoint
        with looking:
            saved = {
                int(cm["metadata"]["annotations"]["gwsync.io/generation"]) for cm in ledger_config_maps(world)
            }
            if saved and not seen:
                seen.append((recorded_generation(world), saved))

    world.scim.set_interleaves([Interleave(method="POST", path="/Users", action=look, times=None)])
    await world.start()
    await world.create(world.provisioning())
    [report] = await eventually(world.finished)

    assert report["status"]["phase"] == "Succeeded", report["status"]
    assert seen == [(1, {1})]  # a batch of 200 written and saved; the status says so at once
    [final] = {int(cm["metadata"]["annotations"]["gwsync.io/generation"]) for cm in ledger_config_maps(world)}
    assert await eventually(lambda: recorded_generation(world) == final or None)
