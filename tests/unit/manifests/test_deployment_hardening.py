"""The operator's Deployment, as `kubectl apply -k manifests/` installs it, stays locked down.

The operator holds a Google key with domain-wide delegation and every target's token: a
container escape or a writable image would expose them. Each property of the Pod Security
Standards' "restricted" profile (and a few more) is one check here, with its name in the
failure; a second test removes each property from the rendered Deployment and shows that its
check then fails, so a check that can no longer fail is noticed.
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from gwsync.testing.kube import kubectl_path

MANIFESTS = Path(__file__).resolve().parents[3] / "manifests"
Deployment = dict[str, Any]


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    done = subprocess.run(
        [kubectl_path(), "kustomize", str(MANIFESTS)], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    [found] = [doc for doc in yaml.safe_load_all(done.stdout) if doc and doc["kind"] == "Deployment"]
    return dict(found)


def pod(d: Deployment) -> dict[str, Any]:
    spec: dict[str, Any] = d["spec"]["template"]["spec"]
    return spec


def operator(d: Deployment) -> dict[str, Any]:
    [container] = [c for c in pod(d)["containers"] if c["name"] == "operator"]
    return cast(dict[str, Any], container)


def effective(d: Deployment, key: str) -> Any:
    """A securityContext field as the kubelet applies it: the container's, else the pod's."""
    container = operator(d).get("securityContext") or {}
    return container[key] if key in container else (pod(d).get("securityContext") or {}).get(key)


def probe(d: Deployment, kind: str) -> bool:
    """An HTTP probe on Kopf's health endpoint, on the port `gwsync run --liveness` serves."""
    container = operator(d)
    spec = container.get(kind) or {}
    ports = {port["name"]: port["containerPort"] for port in container.get("ports", [])}
    args = container.get("args", [])
    served = args[args.index("--liveness") + 1] if "--liveness" in args else ""
    get = spec.get("httpGet") or {}
    return get.get("path") == "/healthz" and served == f"http://0.0.0.0:{ports.get(get.get('port'))}/healthz"


def writable_tmp(d: Deployment) -> bool:
    volumes = {v["name"]: v for v in pod(d).get("volumes", [])}
    mounts = {m["mountPath"]: m["name"] for m in operator(d).get("volumeMounts", [])}
    tmp = volumes.get(mounts.get("/tmp", ""), {})
    return bool((tmp.get("emptyDir") or {}).get("sizeLimit"))


CHECKS: dict[str, Callable[[Deployment], bool]] = {
    "runs as non-root (runAsNonRoot)": lambda d: effective(d, "runAsNonRoot") is True,
    "runs as a non-zero user id (runAsUser)": lambda d: (effective(d, "runAsUser") or 0) > 0,
    "has a read-only root filesystem": lambda d: effective(d, "readOnlyRootFilesystem") is True,
    "forbids privilege escalation": lambda d: effective(d, "allowPrivilegeEscalation") is False,
    "is not privileged": lambda d: effective(d, "privileged") in (None, False),
    "drops all capabilities": lambda d: (effective(d, "capabilities") or {}).get("drop") == ["ALL"],
    "adds no capability": lambda d: not (effective(d, "capabilities") or {}).get("add"),
    "uses the RuntimeDefault seccomp profile": lambda d: (
        effective(d, "seccompProfile") == {"type": "RuntimeDefault"}
    ),
    "requests CPU and memory": lambda d: (
        {"cpu", "memory"} <= set(operator(d).get("resources", {}).get("requests", {}))
    ),
    "limits CPU and memory": lambda d: (
        {"cpu", "memory"} <= set(operator(d).get("resources", {}).get("limits", {}))
    ),
    "has a liveness probe on /healthz": lambda d: probe(d, "livenessProbe"),
    "has a readiness probe on /healthz": lambda d: probe(d, "readinessProbe"),
    "mounts the service-account token explicitly (it talks to the API server)": lambda d: (
        pod(d).get("automountServiceAccountToken") is True
    ),
    "shares no host namespace": lambda d: (
        not any(pod(d).get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    ),
    "has a size-limited writable /tmp (the root is read-only)": writable_tmp,
}


def _drop(path: list[str], key: str) -> Callable[[Deployment], None]:
    """Remove `key` at `path` (under the operator container when path starts with "container")."""

    def mutate(d: Deployment) -> None:
        node: Any = operator(d) if path[:1] == ["container"] else d["spec"]["template"]["spec"]
        for part in path[1:]:
            node = node[part]
        node.pop(key, None)

    return mutate


def _set(path: list[str], key: str, value: Any) -> Callable[[Deployment], None]:
    def mutate(d: Deployment) -> None:
        node: Any = operator(d) if path[:1] == ["container"] else d["spec"]["template"]["spec"]
        for part in path[1:]:
            node = node.setdefault(part, {})
        node[key] = value

    return mutate


# How each property goes missing in a careless edit: removed from both places, or overridden.
MUTATIONS: dict[str, list[Callable[[Deployment], None]]] = {
    "runs as non-root (runAsNonRoot)": [
        _drop(["container", "securityContext"], "runAsNonRoot"),
        _drop(["pod", "securityContext"], "runAsNonRoot"),
    ],
    "runs as a non-zero user id (runAsUser)": [_set(["container", "securityContext"], "runAsUser", 0)],
    "has a read-only root filesystem": [_drop(["container", "securityContext"], "readOnlyRootFilesystem")],
    "forbids privilege escalation": [_drop(["container", "securityContext"], "allowPrivilegeEscalation")],
    "is not privileged": [_set(["container", "securityContext"], "privileged", True)],
    "drops all capabilities": [_drop(["container", "securityContext"], "capabilities")],
    "adds no capability": [_set(["container", "securityContext", "capabilities"], "add", ["NET_ADMIN"])],
    "uses the RuntimeDefault seccomp profile": [
        _drop(["container", "securityContext"], "seccompProfile"),
        _drop(["pod", "securityContext"], "seccompProfile"),
    ],
    "requests CPU and memory": [_drop(["container", "resources", "requests"], "memory")],
    "limits CPU and memory": [_drop(["container", "resources"], "limits")],
    "has a liveness probe on /healthz": [_drop(["container"], "livenessProbe")],
    "has a readiness probe on /healthz": [_drop(["container"], "readinessProbe")],
    "mounts the service-account token explicitly (it talks to the API server)": [
        _drop(["pod"], "automountServiceAccountToken")
    ],
    "shares no host namespace": [_set(["pod"], "hostNetwork", True)],
    "has a size-limited writable /tmp (the root is read-only)": [_drop(["container"], "volumeMounts")],
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_the_operator_deployment_is_hardened(deployment: Deployment, name: str) -> None:
    assert CHECKS[name](deployment), f"the gwsync Deployment no longer {name}"


@pytest.mark.parametrize("name", list(CHECKS))
def test_each_check_fails_when_its_property_goes_missing(deployment: Deployment, name: str) -> None:
    broken = copy.deepcopy(deployment)
    for mutate in MUTATIONS[name]:
        mutate(broken)
    assert not CHECKS[name](broken), f"the check '{name}' passes on a Deployment without it"


def test_the_readiness_probe_answers_sooner_than_the_liveness_probe_restarts(deployment: Deployment) -> None:
    container = operator(deployment)
    ready, live = container["readinessProbe"], container["livenessProbe"]
    assert ready["initialDelaySeconds"] <= live["initialDelaySeconds"], "readiness waits longer than liveness"
    assert ready["periodSeconds"] <= live["periodSeconds"], "readiness is checked less often than liveness"
