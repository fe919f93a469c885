"""Whatever fails after a SyncReport exists, the report ends and the status records it."""

from datetime import timedelta

import pytest

from gwsync.kube import reports as kube_reports
from gwsync.testing.kube import CONFIGMAPS, PROVISIONINGS, REPORTS, KubeFault
from gwsync.testing.org import Org
from gwsync.testing.scim import Fault as ScimFault

from .conftest import NS, World, eventually, small_org


def items_of(world: World, report: dict[str, object]) -> list[dict[str, object]]:
    return list((report.get("status") or {}).get("items") or [])  # type: ignore[attr-defined]


async def test_a_transient_500_while_storing_items_is_retried(world: World) -> None:
    world.kube.faults.append(KubeFault("POST", CONFIGMAPS, name_contains="-items-"))
    await world.start()
    await world.create(world.provisioning())

    [report] = await eventually(world.finished)
    assert report["status"]["phase"] == "Succeeded", report["status"]
    assert report["status"]["itemCount"] == 3
    assert world.kube.faults[0].failed == 1
    await eventually(lambda: world.status().get("lastSync", {}).get("phase") == "Succeeded" or None)
    await world.ticks(5)
    assert len(world.reports()) == 1


async def test_items_that_cannot_be_stored_end_the_report_failed_and_once(world: World) -> None:
    world.kube.faults.append(KubeFault("POST", CONFIGMAPS, name_contains="-items-", times=0))
    await world.start()
    await world.create(world.provisioning())

    [report] = await eventually(world.finished)
    status = report["status"]
    assert status["phase"] == "Failed"
    assert "The report's items could not be stored" in status["message"]
    assert "500" in status["message"]
    assert status["itemCount"] == 3 and status["itemStore"]["configMaps"] == []
    assert status["summary"]["users"]["created"] == 3  # what the sync did is still told
    last = await eventually(lambda: world.status().get("lastSync") or None)
    assert (last["report"], last["phase"]) == (report["metadata"]["name"], "Failed")
    assert world.status()["failedAttempts"] == 1
    await world.ticks(10)
    assert len(world.reports()) == 1  # no second sync for the same due time: Retry waits

    world.kube.faults.clear()
    world.clock.now += timedelta(minutes=5)
    reports = await eventually(lambda: world.finished(count=2))
    assert [r["spec"]["trigger"] for r in reports] == ["Initial", "Retry"]
    assert reports[-1]["status"]["phase"] == "Succeeded"


async def test_a_report_whose_status_cannot_be_written_still_ends_and_is_recorded(world: World) -> None:
    # The API server refuses every write of the report's status after Running (an admission
    # webhook down, say): the report stays Running, the GoogleProvisioning says Failed.
    world.kube.faults.append(KubeFault("PATCH", REPORTS, subresource="status", skip=1, times=0))
    await world.start()
    await world.create(world.provisioning())

    last = await eventually(lambda: world.status().get("lastSync") or None)
    assert last["phase"] == "Failed"
    assert world.status()["failedAttempts"] == 1
    ready = await eventually(lambda: world.condition_is("Ready", "False"))
    assert "could not be completed" in ready["message"]
    await world.ticks(10)
    assert len(world.reports()) == 1

    world.kube.faults.clear()  # the API server heals: the Retry first ends the stale report
    world.clock.now += timedelta(minutes=5)
    reports = await eventually(lambda: world.finished(count=2))
    assert [r["status"]["phase"] for r in reports] == ["Interrupted", "Succeeded"]


class TestLongErrors:
    @pytest.fixture
    def org(self) -> Org:
        return small_org(users=200)

    async def test_two_hundred_long_errors_fit_the_report(self, world: World) -> None:
        await two_hundred_long_errors_fit_the_report(world)


async def two_hundred_long_errors_fit_the_report(world: World) -> None:
    detail = "The target refused the user: " + "x" * 7_500
    world.scim.set_faults([ScimFault(status=400, method="POST", path="/Users", detail=detail, times=None)])
    await world.start()
    await world.create(world.provisioning())

    [report] = await eventually(world.finished, seconds=60)
    status = report["status"]
    assert status["phase"] == "Failed" or status["phase"] == "PartiallySucceeded", status["message"]
    failed = [i for i in items_of(world, report) if i["result"] == "Failed"]
    assert failed and all(len(str(i["details"])) <= kube_reports.MAX_STATUS_DETAILS for i in failed)
    assert str(failed[0]["details"]).endswith("…")
    assert len(kube_reports.blobs.json.dumps(status["items"]).encode()) <= kube_reports.MAX_STATUS_ITEMS_BYTES
    assert status["itemCount"] == 203
    await eventually(
        lambda: world.status().get("lastSync", {}).get("report") == report["metadata"]["name"] or None
    )
    assert len(world.reports()) == 1
    stored = world.kube.read("v1/configmaps", NS, status["itemStore"]["configMaps"][0])
    assert stored is not None  # the item store keeps the full details (see tests/unit/kube)


async def test_a_sync_whose_status_write_failed_is_recorded_not_repeated(world: World) -> None:
    # The report ends, then the GoogleProvisioning's status write gets a 500: Kopf retries the
    # timer, and status still says a sync is due. The finished report is recorded instead.
    world.kube.faults.append(
        KubeFault("PATCH", PROVISIONINGS, subresource="status", body_contains='"syncedGeneration"')
    )
    await world.start()
    await world.create(world.provisioning())

    [report] = await eventually(world.finished)
    last = await eventually(lambda: world.status().get("lastSync") or None)
    assert world.kube.faults[0].failed == 1
    assert (last["report"], last["phase"]) == (report["metadata"]["name"], "Succeeded")
    assert world.status()["lastSuccessfulSyncTime"] == report["status"]["completionTime"]
    await world.ticks(10)
    assert len(world.reports()) == 1
