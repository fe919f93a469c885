"""Tenant squatting (issue 23) on a real kube-apiserver, with `gwsync run --cluster-wide-exclusivity`.

A tenant of another namespace applies, first, a GoogleProvisioning of the same SCIM URL whose
Secrets do not exist there, with a forged `status.target` saying its token authenticated long
ago. The API server drops status on create, the squatter never authenticates, so it holds
nothing even cluster-wide, and the tenant it would have blocked is never named to it.
"""

from __future__ import annotations

from typing import Any

from tests.integration.orgs import provisioning_manifest

from gwsync.controller.exclusivity import target_digest
from gwsync.kube.client import PROVISIONINGS, KubeNotFound

from .conftest import Cluster, eventually, kubectl


def test_a_squatter_with_a_forged_status_blocks_no_one_cluster_wide(cluster: Cluster) -> None:
    theirs = f"a-{cluster.namespace}"  # sorts first: under the old rule it won a tie on creation time
    kubectl(cluster.admin, "create", "namespace", theirs)
    squatter = provisioning_manifest("squatter", theirs, cluster.google.url, cluster.scim.url)
    squatter["status"] = {
        "target": {"digest": target_digest(cluster.scim.url), "authenticatedAt": "2020-01-01T00:00:00Z"}
    }

    def squatter_status() -> dict[str, Any]:
        try:
            return cluster.kube.get(PROVISIONINGS, theirs, "squatter").get("status") or {}
        except KubeNotFound:
            return {}

    def squatter_inactive() -> dict[str, Any] | None:
        conditions = squatter_status().get("conditions") or []
        return next((x for x in conditions if x["type"] == "Active" and x["status"] == "False"), None)

    cluster.start_operator("--cluster-wide-exclusivity")
    try:
        cluster.apply(squatter, cluster.provisioning())

        [report] = cluster.wait_finished()
        assert report["status"]["phase"] == "Succeeded", report["status"]
        eventually(lambda: cluster.condition_is("Active", "True"), what="acme Active=True")
        inactive = eventually(squatter_inactive, what="the squatter Active=False")
        assert inactive["message"] == (
            f"Another GoogleProvisioning, in another namespace, is already active for {cluster.scim.url}; "
            "the operator allows one active integration per target in the whole cluster (gwsync run "
            "--cluster-wide-exclusivity). If they provision different accounts served at the same URL, "
            "set a distinct spec.target.scim.accountId; otherwise ask a cluster administrator."
        )
        assert "target" not in squatter_status()  # the forged record never reached the server
    finally:
        # Gone while the operator runs, which releases its finalizer.
        kubectl(cluster.admin, "delete", "gprov", "squatter", "-n", theirs, "--timeout=60s", check=False)
        kubectl(cluster.admin, "delete", "namespace", theirs, "--wait=false", check=False)
