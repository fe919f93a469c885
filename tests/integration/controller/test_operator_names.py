"""A GoogleProvisioning's name may be any valid object name, longer than a label value too."""

import asyncio
from datetime import timedelta

from gwsync.kube import reports as kube_reports
from gwsync.kube.blobs import Owner
from gwsync.kube.client import connect
from gwsync.kube.ledger import LedgerStore
from gwsync.testing.kube import CONFIGMAPS

from .conftest import NS, World, eventually

LONG = "acme-google-workspace-to-the-engineering-scim-directory-production-eu1"  # 70 characters


async def test_a_70_character_name_syncs_and_its_reports_list(world: World) -> None:
    assert len(LONG) == 70
    await world.start()
    await world.create(world.provisioning(LONG))
    client = connect(str(world.kube.url), insecure=True)

    async def finished(count: int) -> list[kube_reports.SyncReport]:
        async with asyncio.timeout(20):
            while True:  # the blocking client in a thread: the emulator serves on this loop
                found = await asyncio.to_thread(kube_reports.list_reports, client, NS, LONG)
                done = [r for r in found if r.status.phase not in ("Pending", "Running")]
                if len(done) >= count:
                    return found
                await asyncio.sleep(0.05)

    [report] = await finished(1)
    assert report.status.phase == "Succeeded", report.status.message
    assert report.spec.provisioning_ref.name == LONG
    assert len(world.scim.users()) == 3
    await eventually(lambda: world.status(LONG).get("lastSync", {}).get("phase") == "Succeeded" or None)
    ledger = await asyncio.to_thread(LedgerStore(client, Owner.of(world.gprov(LONG)), NS).load)
    assert ledger is not None and world.status(LONG)["ledger"]["users"] == 3
    labelled = world.kube.list_objects(CONFIGMAPS, NS, labels="gwsync.io/store=ledger")
    assert [cm["metadata"]["annotations"]["gwsync.io/provisioning-name"] for cm in labelled] == [LONG]

    world.clock.now += timedelta(days=1, seconds=1)  # the next sync reads the ledger back
    reports = await finished(2)
    assert [r.status.phase for r in reports] == ["Succeeded", "Succeeded"]
    assert reports[-1].status.summary.users.unchanged == 3
