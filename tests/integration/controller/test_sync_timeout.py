"""A sync past spec.syncTimeout ends Failed and frees the sync lock (issue 23, point 2).

The target's listing of groups never answers (a fault proxy holds it): before the fix, the
sync waited on it, its report stayed Running and status.syncLock stayed held, so no other sync
of the object could run. Now the sync stops at the deadline, its report ends Failed with a
sentence naming the deadline and the field, nothing is written, the lock is released, and
the next requested sync runs.
"""

from tests.integration.orgs import provisioning_manifest

from gwsync.testing.faults import Hang, fault_proxy_in_thread

from .conftest import NS, World, eventually

TIMED_OUT = (
    "The sync did not finish within 1s (spec.syncTimeout) and was stopped: nothing more was "
    "written, what it wrote before stays, and the next sync goes on from there; if a sync of "
    "this size needs longer, raise spec.syncTimeout."
)


async def test_a_stalled_sync_ends_failed_at_its_timeout_and_releases_the_lock(world: World) -> None:
    base = world.scim.url.removesuffix("/v2")
    with fault_proxy_in_thread(base, "/v2") as proxy:
        proxy.inject(Hang(), method="GET", path="/Groups", times=None)  # listing the teams stalls
        await world.start()
        await world.create(provisioning_manifest("acme", NS, world.google.url, proxy.url, syncTimeout="1s"))

        [report] = await eventually(world.finished)
        assert report["status"]["phase"] == "Failed"
        assert report["status"]["message"] == TIMED_OUT
        assert not world.scim.writes  # nothing planned was applied
        released = await eventually(lambda: "syncLock" not in world.status() or None)  # the lock goes
        assert released and world.status()["lastSync"]["phase"] == "Failed"
        [failed] = await eventually(lambda: world.events("SyncFailed") or None)
        assert failed["message"].endswith(TIMED_OUT)

        proxy.clear()
        request = {"metadata": {"annotations": {"gwsync.io/sync-requested-at": "2026-11-25T06:00:30Z"}}}
        await world.patch("acme", {**request, "spec": {"syncTimeout": "1m"}})  # room on a busy machine
        reports = await eventually(lambda: world.finished(count=2))
    assert reports[-1]["status"]["phase"] == "Succeeded"
    assert world.scim.writes
