"""gwsync installed on a real cluster (kind) syncs, and kubectl shows the reports.

Steps: create a kind cluster, build and load the image, `kubectl apply -k` the e2e overlay
(the real manifests plus the Google and SCIM emulators as loopback sidecars), create the
Secrets from the emulator's throw-away key, apply a GoogleProvisioning, and wait for a
SyncReport to succeed; then check the printer columns of `kubectl get syncreports`.
"""

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "gwsync-e2e"
NS = "gwsync"
PROVISIONING = f"""
apiVersion: provisioning.gwsync.io/v1alpha1
kind: GoogleProvisioning
metadata: {{name: e2e, namespace: {NS}}}
spec:
  google:
    adminEmail: admin@acme.example
    credentialsSecretRef: {{name: e2e-google, key: credentials.json}}
    apiEndpoint: http://127.0.0.1:18081/
  target:
    scim:
      url: http://127.0.0.1:18082/v2
      tokenSecretRef: {{name: e2e-scim, key: token}}
  teams:
    enabled: true
    mappings:
      - {{team: Engineering, groups: [engineering@acme.example]}}
"""


def sh(*args: str, stdin: str | None = None, timeout: float = 600) -> str:
    done = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def kubectl(*args: str, stdin: str | None = None) -> str:
    return sh("kubectl", "--context", f"kind-{CLUSTER}", *args, stdin=stdin)


def wait_for(description: str, probe: Callable[[], bool], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(2)  # polling a real cluster: there is no event to wait on from here
    raise AssertionError(f"timed out after {seconds:.0f}s waiting for {description}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    sh("kind", "create", "cluster", "--name", CLUSTER, "--wait", "120s")
    try:
        sh("docker", "build", "-t", "gwsync:e2e", str(ROOT), timeout=1200)
        sh("kind", "load", "docker-image", "gwsync:e2e", "--name", CLUSTER)
        yield
    finally:
        sh("kind", "delete", "cluster", "--name", CLUSTER)


@pytest.mark.e2e
def test_a_provisioning_syncs_on_a_real_cluster(cluster: None) -> None:
    kubectl("apply", "-k", str(ROOT / "tests" / "e2e" / "overlay"))  # once is enough
    kubectl("-n", NS, "rollout", "status", "deployment/gwsync", "--timeout=300s")
    key = kubectl("-n", NS, "exec", "deploy/gwsync", "-c", "google-emulator", "--", "cat", "/tmp/sa.json")
    kubectl("-n", NS, "create", "secret", "generic", "e2e-google", f"--from-literal=credentials.json={key}")
    kubectl("-n", NS, "create", "secret", "generic", "e2e-scim", "--from-literal=token=e2e-token")
    kubectl("-n", NS, "label", "secret", "e2e-google", "e2e-scim", "gwsync.io/credentials=true")
    kubectl("apply", "-f", "-", stdin=PROVISIONING)

    def succeeded() -> bool:
        reports = json.loads(kubectl("-n", NS, "get", "syncreports", "-o", "json"))["items"]
        return any((r.get("status") or {}).get("phase") == "Succeeded" for r in reports)

    wait_for("a Succeeded SyncReport", succeeded)
    table = kubectl("-n", NS, "get", "syncreports")
    header = table.splitlines()[0].split()
    assert header == [
        "NAME",
        "PROVISIONING",
        "TRIGGER",
        "PHASE",
        "CREATED",
        "UPDATED",
        "REMOVED",
        "FAILED",
        "DURATION",
        "AGE",
    ]
    assert "Initial" in table and "Succeeded" in table
    gprov = kubectl("-n", NS, "get", "gprov", "e2e")
    assert gprov.splitlines()[0].split()[:3] == ["NAME", "ACTIVE", "CONNECTED"]
