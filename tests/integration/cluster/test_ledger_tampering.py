"""A tenant who may write ConfigMaps (and may not read Secrets) rewrites the ledger: nothing changes.

The ledger says which target users gwsync manages. Unsigned, it was proof of ownership for
whoever could edit it: pointing a new hire's Google id at a hand-made break-glass admin renamed
that admin into the new hire's address, and planting entries for Google ids gone from Google
deactivated accounts gwsync never created. Each ledger generation is now signed with a key in a
Secret of the operator's namespace, so a rewritten one is ignored and reported (docs/security.md).
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gwsync.kube.client import CONFIG_MAPS, SECRETS, Kube, KubeApiError, connect
from gwsync.testing.org import OrgUser

from .conftest import OPERATOR_NAMESPACE, Cluster, eventually

MALLORY = OrgUser(
    id="100000000000000000009", primary_email="mallory@acme.example", given_name="Mallory", family_name="M"
)
GONE = ("100000000000000000077", "100000000000000000078")  # Google ids no longer in Google


def tenant_kube(cluster: Cluster, tmp_path: Path) -> Kube:
    """A client of a ServiceAccount bound to a Role that may write ConfigMaps and nothing else."""
    ns = cluster.namespace
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "configmap-editor", "namespace": ns},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "verbs": ["get", "list", "create", "update", "patch", "delete"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "configmap-editor", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "configmap-editor"},
        "subjects": [{"kind": "ServiceAccount", "name": "tenant", "namespace": ns}],
    }
    cluster.apply(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "tenant", "namespace": ns}}
    )
    cluster.apply(role, binding)
    token = cluster.plane.service_account_token(ns, "tenant")
    return connect(kubeconfig=cluster.plane.kubeconfig(tmp_path / "tenant", token=token, namespace=ns))


def rewrite_ledger(kube: Kube, namespace: str, change: Callable[[dict[str, Any]], None]) -> list[str]:
    """Decompress the ledger ConfigMap, edit its JSON, and write it back in place (labels,
    annotations and generation kept): what a tenant with `kubectl edit configmap` can do."""
    [config_map] = kube.list(CONFIG_MAPS, namespace, {"gwsync.io/store": "ledger"})
    document = json.loads(gzip.decompress(base64.b64decode(config_map["binaryData"]["data.gz"])))
    change(document)
    payload = base64.b64encode(gzip.compress(json.dumps(document).encode())).decode()
    name = config_map["metadata"]["name"]
    kube.patch(CONFIG_MAPS, namespace, name, {"binaryData": {"data.gz": payload}})
    return [name]


def test_a_ledger_rewritten_by_a_tenant_changes_nothing_in_the_target(
    cluster: Cluster, tmp_path: Path
) -> None:
    scim = cluster.scim
    break_glass = scim.seed_user(
        "break-glass@acme.example", name={"givenName": "Break", "familyName": "Glass"}, active=True
    )
    planted = [scim.seed_user(f"{who}@partner.example", active=True) for who in ("auditor", "vendor")]
    cluster.start_operator()
    cluster.apply(cluster.provisioning())
    [first] = cluster.wait_finished()
    assert first["status"]["phase"] == "Succeeded", first["status"]
    verified = eventually(lambda: cluster.condition_is("LedgerVerified", "True"), what="LedgerVerified=True")
    assert verified["reason"] == "NoLedger"

    tenant = tenant_kube(cluster, tmp_path)
    with pytest.raises(KubeApiError) as refused:  # the premise: the tenant cannot read Secrets
        tenant.get(SECRETS, cluster.namespace, "scim")
    assert refused.value.status == 403

    def plant(document: dict[str, Any]) -> None:
        document["users"][MALLORY.id] = break_glass  # a new hire's Google id -> the break-glass admin
        document["users"].update(zip(GONE, planted, strict=True))  # leavers -> accounts never created

    tampered = rewrite_ledger(tenant, cluster.namespace, plant)
    tenant.close()
    cluster.google.org = cluster.google.org.model_copy(update={"users": [*cluster.google.org.users, MALLORY]})
    cluster.request_sync()
    second = cluster.wait_finished(count=2)[-1]

    assert second["status"]["phase"] == "Succeeded", second["status"]
    admin = scim.call("GET", f"/Users/{break_glass}")
    assert (admin["userName"], admin["active"], admin.get("externalId")) == (
        "break-glass@acme.example",
        True,
        None,
    )
    assert all(scim.call("GET", f"/Users/{user}")["active"] is True for user in planted)
    mallory = scim.user_by_name(MALLORY.primary_email)
    assert mallory["id"] != break_glass and mallory["externalId"] == MALLORY.id  # created, its own
    assert second["status"]["summary"]["users"]["created"] == 1
    assert second["status"]["summary"]["users"]["deprovisioned"] == 0

    sentence = (
        f"The ledger of GoogleProvisioning {cluster.namespace}/acme (ConfigMap {tampered[0]}) does not "
        "match its signature (it was changed or copied outside gwsync, or the key in Secret "
        f"{OPERATOR_NAMESPACE}/gwsync-ledger-key was replaced), so this sync ignored it: users were "
        "matched by externalId only and teams by name, and the next ledger saved is signed."
    )
    rejected = eventually(
        lambda: cluster.condition_is("LedgerVerified", "False"), what="LedgerVerified=False"
    )
    assert (rejected["reason"], rejected["message"]) == ("LedgerSignatureMismatch", sentence)
    [event] = eventually(lambda: cluster.events("LedgerRejected") or None, what="a LedgerRejected Event")
    assert (event["type"], event["message"]) == ("Warning", sentence)
