"""Least privilege, proven on the real server: what the ServiceAccount may do, and nothing more."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from gwsync.testing.controlplane import ControlPlane

from .conftest import OPERATOR_ACCOUNT, OPERATOR_NAMESPACE, REPO, Cluster, eventually, kubectl

# The documented set (docs/operations.md, "Permissions"): (API group, resource, verb).
DOCUMENTED = {
    *(("provisioning.gwsync.io", "googleprovisionings", v) for v in ("get", "list", "watch", "patch")),
    *(("provisioning.gwsync.io", "googleprovisionings/status", v) for v in ("get", "patch", "update")),
    *(
        ("provisioning.gwsync.io", "syncreports", v)
        for v in ("get", "list", "watch", "create", "patch", "delete")
    ),
    *(("provisioning.gwsync.io", "syncreports/status", v) for v in ("get", "patch", "update")),
    *(("", "configmaps", v) for v in ("get", "list", "watch", "create", "patch", "update", "delete")),
    ("", "secrets", "get"),
    *(("", "events", v) for v in ("create", "patch")),
    *(("", "namespaces", v) for v in ("list", "watch")),
    *(("apiextensions.k8s.io", "customresourcedefinitions", v) for v in ("list", "watch")),
    *(("kopf.dev", "clusterkopfpeerings", v) for v in ("get", "list", "watch", "create", "patch")),
}
# In the operator's own namespace only (the Role gwsync-ledger-key): the ledger signing key.
DOCUMENTED_IN_OPERATOR_NAMESPACE = {("", "secrets", "create")}


def granted(plane: ControlPlane, namespace: str, token: str) -> set[tuple[str, str, str]]:
    """What a token may do in a namespace, as the API server answers a SelfSubjectRulesReview."""
    review = plane.request(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectRulesReview",
            "spec": {"namespace": namespace},
        },
        token=token,
    )
    rules = review["status"]["resourceRules"]
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule.get("apiGroups") or [""]
        for resource in rule.get("resources") or []
        for verb in rule.get("verbs") or []
    }


def service_account(plane: ControlPlane, namespace: str, name: str) -> str:
    kubectl(plane.admin_kubeconfig, "create", "serviceaccount", name, "-n", namespace)
    return plane.service_account_token(namespace, name)


def nobody(plane: ControlPlane, cluster: Cluster) -> str:
    """A token of an account bound to nothing (the test's namespace's "nobody")."""
    return plane.service_account_token(cluster.namespace, "nobody")


def test_the_service_account_may_do_exactly_the_documented_set(cluster: Cluster) -> None:
    plane = cluster.plane
    operator = granted(
        plane, cluster.namespace, plane.service_account_token(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT)
    )
    # What every authenticated identity may do (self reviews, discovery) is not ours to grant.
    baseline = granted(plane, cluster.namespace, service_account(plane, cluster.namespace, "nobody"))
    assert operator - baseline == DOCUMENTED
    token = plane.service_account_token(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT)
    at_home = granted(plane, OPERATOR_NAMESPACE, token) - granted(
        plane, OPERATOR_NAMESPACE, nobody(plane, cluster)
    )
    assert at_home == DOCUMENTED | DOCUMENTED_IN_OPERATOR_NAMESPACE


def test_the_documented_set_is_what_manifests_grant_and_what_the_docs_list() -> None:
    documents = list(yaml.safe_load_all((REPO / "manifests" / "rbac.yaml").read_text()))
    [role] = [d for d in documents if d["kind"] == "ClusterRole"]
    [namespaced] = [d for d in documents if d["kind"] == "Role"]
    assert namespaced["metadata"]["namespace"] == OPERATOR_NAMESPACE
    assert granted_by(role) == DOCUMENTED
    assert granted_by(namespaced) == DOCUMENTED_IN_OPERATOR_NAMESPACE
    docs = (REPO / "docs" / "operations.md").read_text().splitlines()
    for documented, suffix in (
        (DOCUMENTED, "` |"),
        (DOCUMENTED_IN_OPERATOR_NAMESPACE, f"` (namespace `{OPERATOR_NAMESPACE}` only) |"),
    ):
        for group, resource, verb in documented:
            row = next((line for line in docs if line.startswith(f"| `{resource}{suffix}")), None)
            assert row is not None, f"docs/operations.md has no Permissions row for {resource}{suffix}"
            assert f"`{group or 'core'}`" in row and verb in row, (resource, verb, row)


def granted_by(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def lacking(rules: list[dict[str, Any]], resource: str, verb: str) -> list[dict[str, Any]]:
    trimmed = copy.deepcopy(rules)
    for rule in trimmed:
        if resource in rule["resources"]:
            rule["verbs"] = [v for v in rule["verbs"] if v != verb]
    return [rule for rule in trimmed if rule["verbs"]]


def test_a_missing_permission_is_named_in_a_condition_not_a_crash_loop(
    cluster: Cluster, tmp_path: Path
) -> None:
    plane, ns = cluster.plane, cluster.namespace
    documents = list(yaml.safe_load_all((REPO / "manifests" / "rbac.yaml").read_text()))
    [role] = [d for d in documents if d["kind"] == "ClusterRole"]
    name = f"gwsync-lacking-{ns}"
    crippled = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": lacking(role["rules"], "syncreports", "create"),
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": "lacking", "namespace": ns}],
    }
    token = service_account(plane, ns, "lacking")
    cluster.apply(crippled, binding)
    try:
        # Priority 1: its ClusterRole goes before it stops, so it cannot take itself out of the
        # peering and stays listed for a minute; no later operator (random priority above 1)
        # may pause for it.
        kubeconfig = plane.kubeconfig(tmp_path / "lacking", token=token)
        operator = cluster.start_operator("--priority", "1", kubeconfig=kubeconfig)
        cluster.apply(cluster.provisioning())
        ready = eventually(lambda: cluster.condition_is("Ready", "False"), what="Ready=False")
        assert ready["reason"] == "PermissionDenied", ready
        assert "create" in ready["message"] and "syncreports" in ready["message"], ready["message"]
        assert "manifests/rbac.yaml" in ready["message"]
        assert operator.process is not None and operator.process.poll() is None, "the operator exited"
        assert "Traceback" not in operator.text()
    finally:
        # The operator removes its finalizer only while it still has its (other) rights.
        kubectl(plane.admin_kubeconfig, "delete", "gprov/acme", "-n", ns, "--timeout=60s", check=False)
        kubectl(plane.admin_kubeconfig, "delete", "clusterrolebinding,clusterrole", name, check=False)


# What the built-in roles let a tenant do with gwsync's kinds once manifests/tenant-rbac.yaml
# is aggregated into them (docs/operations.md, "Tenants").
GROUP = "provisioning.gwsync.io"
TENANT_EDIT = {
    *(
        (GROUP, "googleprovisionings", v)
        for v in ("get", "list", "watch", "create", "update", "patch", "delete")
    ),
    *((GROUP, "syncreports", v) for v in ("get", "list", "watch")),
}
TENANT_VIEW = {
    (GROUP, resource, v)
    for resource in ("googleprovisionings", "syncreports")
    for v in ("get", "list", "watch")
}


def tenant(plane: ControlPlane, namespace: str, role: str, tmp_path: Path) -> tuple[str, Path]:
    """A ServiceAccount bound to the built-in ClusterRole `role` in one namespace, as a team is."""
    token = service_account(plane, namespace, role)
    kubectl(
        plane.admin_kubeconfig, "create", "rolebinding", role, "-n", namespace,
        f"--clusterrole={role}", f"--serviceaccount={namespace}:{role}",
    )  # fmt: skip
    return token, plane.kubeconfig(tmp_path / role, token=token, user=role, namespace=namespace)


def gwsync_rules(plane: ControlPlane, namespace: str, token: str) -> set[tuple[str, str, str]]:
    return {rule for rule in granted(plane, namespace, token) if rule[0] == GROUP}


def test_edit_creates_provisionings_and_reads_reports_and_view_only_reads(
    cluster: Cluster, tmp_path: Path
) -> None:
    plane, ns = cluster.plane, cluster.namespace
    edit_token, editor = tenant(plane, ns, "edit", tmp_path)
    view_token, viewer = tenant(plane, ns, "view", tmp_path)
    # The controller manager copies the labelled rules into edit and view asynchronously.
    eventually(
        lambda: gwsync_rules(plane, ns, edit_token) == TENANT_EDIT or None, what="edit's rules", seconds=30
    )
    eventually(
        lambda: gwsync_rules(plane, ns, view_token) == TENANT_VIEW or None, what="view's rules", seconds=30
    )

    cluster.start_operator()
    kubectl(editor, "create", "-f", "-", stdin=yaml.safe_dump(cluster.provisioning()))
    [report] = cluster.wait_finished()
    name = report["metadata"]["name"]
    for reader in (editor, viewer):
        assert name in kubectl(reader, "get", "sreport", "-o", "name").stdout
        assert kubectl(reader, "get", "sreport", name, "-o", "jsonpath={.status.phase}").stdout == "Succeeded"
        assert kubectl(reader, "get", "gprov", "acme", "-o", "name").stdout.strip() == (
            f"googleprovisioning.{GROUP}/acme"
        )

    refused = kubectl(
        viewer, "create", "-f", "-", check=False, stdin=yaml.safe_dump(cluster.provisioning("other"))
    )
    assert refused.returncode != 0
    assert refused.stderr.startswith("Error from server (Forbidden):"), refused.stderr
    assert (
        f'User "system:serviceaccount:{ns}:view" cannot create resource "googleprovisionings" '
        f'in API group "{GROUP}" in the namespace "{ns}"'
    ) in refused.stderr
    annotate = kubectl(viewer, "annotate", "gprov/acme", "gwsync.io/sync-requested-at=now", check=False)
    assert "cannot patch resource" in annotate.stderr, annotate.stderr
