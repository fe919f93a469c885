"""The CLI and the replicas against the real server: demo, status, reports, groups, peering."""

from __future__ import annotations

import csv
import io
from typing import Any

from gwsync.testing.controlplane import ControlPlane

from .conftest import Cluster, eventually, gwsync, kubectl


def test_the_demo_runs_against_the_real_server(control_plane: ControlPlane) -> None:
    namespace = "demo-real"
    kubectl(control_plane.admin_kubeconfig, "create", "namespace", namespace)
    try:
        done = gwsync(
            "demo", "--kubeconfig", str(control_plane.admin_kubeconfig), "-n", namespace, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "trigger Initial" in done.stdout and "trigger Manual" in done.stdout
        assert "Traceback" not in done.stderr
        listed = kubectl(control_plane.admin_kubeconfig, "get", "sreport", "-n", namespace).stdout
        assert listed.count("Succeeded") == 2
    finally:
        kubectl(control_plane.admin_kubeconfig, "delete", "namespace", namespace, "--wait=false", check=False)


def test_status_reports_and_groups_commands_read_the_real_server(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.apply(cluster.provisioning())
    [report] = cluster.wait_finished()
    eventually(lambda: cluster.condition_is("Ready", "True"), what="Ready=True after the first sync")
    name = report["metadata"]["name"]
    where = ("-n", cluster.namespace, "--kubeconfig", str(cluster.admin))

    status = gwsync("status", "acme", *where).stdout
    assert "Ready" in status and "Succeeded" in status and "acme.example" in status

    listed = gwsync("report", "list", *where).stdout
    assert name in listed and "Succeeded" in listed

    shown = gwsync("report", "show", name, "--result", "Succeeded", *where).stdout
    assert "amelie@acme.example" in shown

    exported = gwsync("report", "export", name, "-o", "-", *where).stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {row["key"] for row in rows} >= {"admin@acme.example", "amelie@acme.example", "bjorn@acme.example"}

    found = gwsync("groups", "search", "eng", "-p", "acme", *where).stdout
    assert "eng@acme.example" in found


def test_of_two_replicas_only_the_higher_priority_one_syncs(cluster: Cluster) -> None:
    def peers() -> dict[str, Any]:
        obj = cluster.plane.request("GET", "/apis/kopf.dev/v1/clusterkopfpeerings/gwsync")
        return {k: v for k, v in (obj.get("status") or {}).items() if v.get("priority") in (100, 200)}

    high = cluster.start_operator("--priority", "200")
    low = cluster.start_operator("--priority", "100")
    eventually(lambda: len(peers()) == 2 or None, what="both replicas in the peering")
    cluster.apply(cluster.provisioning())
    cluster.wait_finished()
    cluster.request_sync()
    cluster.wait_finished(count=2)
    assert cluster.triggers() == ["Initial", "Manual"]
    assert "SyncReport" not in low.text() or "sync started" not in low.text().lower()
    assert "Initial sync started" in high.text() or len(cluster.reports()) == 2
