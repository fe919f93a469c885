"""One `kubectl apply -k manifests/` installs everything, on fresh clusters, and peering works.

The ClusterKopfPeering used to ship next to its CRD: on a fresh cluster kubectl could not map
its kind, and the apply failed ("no matches for kind ClusterKopfPeering ... ensure CRDs are
installed first"). The operator now creates that object when it starts.
"""

from __future__ import annotations

import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gwsync.testing.controlplane import ControlPlane, ControlPlaneUnavailable, binaries

from .conftest import Cluster, eventually, install, unavailable

FRESH_CLUSTERS = 5
PEERING = "/apis/kopf.dev/v1/clusterkopfpeerings/gwsync"


def apply_on_a_fresh_cluster(root: Path) -> tuple[int, str]:
    """etcd and kube-apiserver, new and empty (no controller manager), then one apply."""
    plane = ControlPlane(root, bin=binaries())
    try:
        plane.start(controller_manager=False)
        done = install(plane)
        return done.returncode, done.stderr
    finally:
        plane.stop()


def test_one_apply_installs_everything_on_fresh_clusters(tmp_path: Path) -> None:
    roots = [tmp_path / f"cluster-{index}" for index in range(FRESH_CLUSTERS)]
    try:
        with ThreadPoolExecutor(FRESH_CLUSTERS) as pool:
            results = list(pool.map(apply_on_a_fresh_cluster, roots))
    except ControlPlaneUnavailable as exc:
        unavailable(exc)
    failures = [stderr for code, stderr in results if code != 0]
    assert failures == [], f"{len(failures)} of {FRESH_CLUSTERS} applies failed; the first: {failures[0]}"


def test_the_operator_creates_its_peering_object_and_peers_in_it(cluster: Cluster) -> None:
    plane = cluster.plane
    try:  # as on a fresh install: no operator has run yet
        plane.request("DELETE", PEERING)
    except urllib.error.HTTPError as exc:
        assert exc.code == 404, exc

    def peers() -> dict[str, Any] | None:
        try:
            found = plane.request("GET", PEERING)
        except urllib.error.HTTPError:
            return None
        mine = {k: v for k, v in (found.get("status") or {}).items() if v.get("priority") == 4242}
        return found if mine else None

    cluster.start_operator("--priority", "4242")
    # Kopf's first keep-alive lands in it only when it exists as Kopf starts; the next one
    # would come about a minute later, so the deadline is well below that.
    found = eventually(peers, seconds=20, what="the operator's keep-alive in ClusterKopfPeering gwsync")
    assert found["metadata"]["labels"] == {"app.kubernetes.io/part-of": "gwsync"}
    assert "Created the ClusterKopfPeering gwsync" in cluster.operator_logs()
