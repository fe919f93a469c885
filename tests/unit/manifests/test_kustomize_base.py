"""`kubectl apply -k manifests/` installs a valid, least-privilege, locked-down operator."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from gwsync.testing.kube import kubectl_path

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = ROOT / "manifests"
KUBE_VERSION = kubernetes_validate.utils.latest_version()

OPERATOR_RULES = {
    ("provisioning.gwsync.io", "googleprovisionings"): {"get", "list", "watch", "patch"},
    ("provisioning.gwsync.io", "googleprovisionings/status"): {"get", "patch", "update"},
    ("provisioning.gwsync.io", "syncreports"): {"get", "list", "watch", "create", "patch", "delete"},
    ("provisioning.gwsync.io", "syncreports/status"): {"get", "patch", "update"},
    ("", "configmaps"): {"get", "list", "watch", "create", "patch", "update", "delete"},
    ("", "secrets"): {"get"},
    ("", "events"): {"create", "patch"},
    ("", "namespaces"): {"list", "watch"},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
    ("kopf.dev", "clusterkopfpeerings"): {"get", "list", "watch", "create", "patch"},
}
# Tenants' rights on gwsync's kinds, aggregated into the built-in roles (docs/operations.md).
TENANT_ROLES = {
    "gwsync-edit": (
        {"rbac.authorization.k8s.io/aggregate-to-edit", "rbac.authorization.k8s.io/aggregate-to-admin"},
        {
            ("provisioning.gwsync.io", "googleprovisionings"): {
                "get",
                "list",
                "watch",
                "create",
                "update",
                "patch",
                "delete",
            },
            ("provisioning.gwsync.io", "syncreports"): {"get", "list", "watch"},
        },
    ),
    "gwsync-view": (
        {"rbac.authorization.k8s.io/aggregate-to-view"},
        {
            ("provisioning.gwsync.io", "googleprovisionings"): {"get", "list", "watch"},
            ("provisioning.gwsync.io", "syncreports"): {"get", "list", "watch"},
        },
    ),
}
# In the operator's own namespace only: creating the ledger signing key (Secret gwsync-ledger-key).
OPERATOR_NAMESPACE_RULES = {("", "secrets"): {"create"}}


kubectl = kubectl_path


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(MANIFESTS)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [obj for obj in of_kind(objects, kind) if obj["metadata"]["name"] == name]
    return found


def rules_of(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    return granted


def crd_schemas(objects: list[dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for crd in of_kind(objects, "CustomResourceDefinition"):
        for version in crd["spec"]["versions"]:
            api_version = f"{crd['spec']['group']}/{version['name']}"
            yield api_version, crd["spec"]["names"]["kind"], version["schema"]["openAPIV3Schema"]


def validate(obj: dict[str, Any], objects: list[dict[str, Any]]) -> None:
    """Built-in kinds against Kubernetes' own schema (strict); custom ones against their CRD."""
    try:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        schemas = {(api, kind): schema for api, kind, schema in crd_schemas(objects)}
        schema = schemas.get((obj["apiVersion"], obj["kind"]))
        assert schema is not None, f"no CRD in manifests/ defines {obj['apiVersion']} {obj['kind']}"
        jsonschema.validate(obj, schema)


def test_the_base_renders_everything_the_operator_needs(rendered: list[dict[str, Any]]) -> None:
    names = sorted(f"{obj['kind']}/{obj['metadata']['name']}" for obj in rendered)
    assert names == [
        "ClusterRole/gwsync",
        "ClusterRole/gwsync-edit",
        "ClusterRole/gwsync-view",
        "ClusterRoleBinding/gwsync",
        "CustomResourceDefinition/clusterkopfpeerings.kopf.dev",
        "CustomResourceDefinition/googleprovisionings.provisioning.gwsync.io",
        "CustomResourceDefinition/syncreports.provisioning.gwsync.io",
        "Deployment/gwsync",
        "Namespace/gwsync",
        "Role/gwsync-ledger-key",
        "RoleBinding/gwsync-ledger-key",
        "ServiceAccount/gwsync",
    ]


def test_every_rendered_object_validates(rendered: list[dict[str, Any]]) -> None:
    for obj in rendered:
        validate(obj, rendered)


@pytest.mark.parametrize("example", sorted((MANIFESTS / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_examples_validate(example: Path, rendered: list[dict[str, Any]]) -> None:
    objects = [doc for doc in yaml.safe_load_all(example.read_text()) if doc]
    assert [obj["kind"] for obj in objects].count("GoogleProvisioning") == 1
    for obj in objects:
        validate(obj, rendered)


def test_one_apply_can_install_it_on_a_fresh_cluster(rendered: list[dict[str, Any]]) -> None:
    # kubectl maps every object to a resource before it sends any: an object whose kind only a
    # CRD of the same apply defines has no mapping on a fresh cluster, and the apply fails.
    defined_here = {
        (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
        for crd in of_kind(rendered, "CustomResourceDefinition")
        for version in crd["spec"]["versions"]
    }
    assert [obj for obj in rendered if (obj["apiVersion"], obj["kind"]) in defined_here] == []


def test_rbac_grants_exactly_what_the_operator_uses(rendered: list[dict[str, Any]]) -> None:
    assert rules_of(named(rendered, "ClusterRole", "gwsync")) == OPERATOR_RULES
    [namespaced] = of_kind(rendered, "Role")
    [deployment] = of_kind(rendered, "Deployment")
    assert namespaced["metadata"]["namespace"] == deployment["metadata"]["namespace"] == "gwsync"
    assert rules_of(namespaced) == OPERATOR_NAMESPACE_RULES


@pytest.mark.parametrize("name", sorted(TENANT_ROLES))
def test_tenant_roles_are_aggregated_into_the_built_in_ones(
    name: str, rendered: list[dict[str, Any]]
) -> None:
    labels, rules = TENANT_ROLES[name]
    role = named(rendered, "ClusterRole", name)
    aggregated = {key for key, value in role["metadata"]["labels"].items() if key.startswith("rbac.")}
    assert aggregated == labels
    assert all(role["metadata"]["labels"][key] == "true" for key in labels)
    assert rules_of(role) == rules


def test_the_binding_is_for_the_deployment_service_account(rendered: list[dict[str, Any]]) -> None:
    [binding] = of_kind(rendered, "ClusterRoleBinding")  # the tenant roles are bound by administrators
    [namespaced] = of_kind(rendered, "RoleBinding")
    [deployment] = of_kind(rendered, "Deployment")
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "gwsync",
    }
    assert namespaced["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "gwsync-ledger-key",
    }
    for bound in (binding, namespaced):
        assert bound["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": "gwsync"}]


def test_the_operator_is_told_its_own_namespace(rendered: list[dict[str, Any]]) -> None:
    [deployment] = of_kind(rendered, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    env = {variable["name"]: variable for variable in container["env"]}
    assert env["GWSYNC_OPERATOR_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


def test_the_operator_runs_non_root_on_a_read_only_root_filesystem(rendered: list[dict[str, Any]]) -> None:
    [deployment] = of_kind(rendered, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    security = container["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def test_the_liveness_probe_hits_kopfs_endpoint(rendered: list[dict[str, Any]]) -> None:
    [deployment] = of_kind(rendered, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert container["command"] + container["args"][:2] == [
        "gwsync",
        "run",
        "--liveness",
        "http://0.0.0.0:8080/healthz",
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    assert ports == {"healthz": 8080, "metrics": 9090}
    assert container["image"] == "ghcr.io/gwsync/gwsync:0.1.0"


def test_the_image_runs_as_the_same_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER 65532:65532" in dockerfile
    assert 'ENTRYPOINT ["gwsync", "run"]' in dockerfile
