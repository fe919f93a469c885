"""spec.syncTimeout on the real API server (issue 23, point 2).

The CRD's rule refuses a timeout under a second. A sync held by a stalled target (its teams
listing never answers) ends Failed at its deadline, releases status.syncLock through the real
status subresource, and the next requested sync runs.
"""

from __future__ import annotations

import yaml
from tests.integration.orgs import provisioning_manifest

from gwsync.testing.faults import Hang, fault_proxy_in_thread

from .conftest import Cluster, eventually, kubectl

TIMED_OUT = (
    "The sync did not finish within 1s (spec.syncTimeout) and was stopped: nothing more was "
    "written, what it wrote before stays, and the next sync goes on from there; if a sync of "
    "this size needs longer, raise spec.syncTimeout."
)


def test_a_stalled_sync_ends_failed_at_its_timeout_and_the_next_one_runs(cluster: Cluster) -> None:
    too_short = yaml.safe_dump(cluster.provisioning(syncTimeout="500ms"))
    refused = kubectl(cluster.admin, "apply", "-f", "-", stdin=too_short, check=False)
    assert refused.returncode == 1
    assert "syncTimeout must be at least 1s (Go duration syntax, e.g. 6h)" in refused.stderr

    base = cluster.scim.url.removesuffix("/v2")
    with fault_proxy_in_thread(base, "/v2") as proxy:
        proxy.inject(Hang(), method="GET", path="/Groups", times=None)  # listing the teams stalls
        cluster.start_operator()
        stalled = provisioning_manifest(
            "acme", cluster.namespace, cluster.google.url, proxy.url, syncTimeout="1s"
        )
        cluster.apply(stalled)
        [report] = cluster.wait_finished()
        assert report["status"]["phase"] == "Failed"
        assert report["status"]["message"] == TIMED_OUT
        assert not cluster.scim.writes  # nothing planned was applied
        eventually(lambda: "syncLock" not in cluster.status() or None, what="the sync lock released")
        assert cluster.status()["lastSync"]["phase"] == "Failed"
        [failed] = eventually(lambda: cluster.events("SyncFailed") or None, what="a SyncFailed Event")
        assert failed["message"].endswith(TIMED_OUT)

        proxy.clear()
        stalled["spec"]["syncTimeout"] = "1m"  # room for the next sync on a busy machine
        cluster.apply(stalled)
        cluster.request_sync()
        reports = cluster.wait_finished(count=2)
    assert reports[-1]["status"]["phase"] == "Succeeded"
    assert cluster.scim.writes
