"""A GoogleProvisioning at the API's size limits (issue 13, point 6): synced, or refused naming the field."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Cluster, eventually, kubectl


def mappings(count: int, groups_each: int) -> list[dict[str, Any]]:
    return [
        {"team": f"Team {t:03d}", "groups": [f"t{t:03d}-g{g:03d}@acme.example" for g in range(groups_each)]}
        for t in range(count)
    ]


def test_more_mappings_than_the_limit_are_refused_naming_the_field(cluster: Cluster) -> None:
    provisioning = cluster.provisioning(teams={"enabled": True, "mappings": mappings(201, 1)})
    done = kubectl(cluster.admin, "apply", "-f", "-", stdin=json.dumps(provisioning), check=False)
    assert done.returncode != 0
    assert "spec.teams.mappings: Too many: 201: must have at most 200 items" in done.stderr


def test_a_half_megabyte_provisioning_syncs_without_an_error_loop(cluster: Cluster) -> None:
    # 200 mappings of 100 groups: every item limit reached, 0.5 MB, twice the 256 KiB that all
    # annotations of an object may hold. Kopf once kept the whole spec in one (its last handled
    # configuration) and failed every patch, every few seconds; it keeps a digest now.
    provisioning = cluster.provisioning(teams={"enabled": False, "mappings": mappings(200, 100)})
    assert len(json.dumps(provisioning)) > 500_000
    # kubectl's client-side apply keeps its own copy in an annotation: server-side apply has none.
    kubectl(cluster.admin, "apply", "--server-side", "-f", "-", stdin=json.dumps(provisioning))
    cluster.start_operator()
    [report] = cluster.wait_finished(seconds=120)
    assert report["status"]["phase"] == "Succeeded", report["status"]
    eventually(lambda: cluster.condition_is("Ready", "True"), what="Ready=True")
    request = cluster.request_sync()  # Kopf handles the change: no annotation overflows
    cluster.wait_finished(count=2)
    eventually(lambda: cluster.status().get("lastHandledSyncRequest") == request or None, what="the request")
    logs = cluster.operator_logs()
    assert "Too long" not in logs and "ERROR" not in logs, logs[-3000:]
    annotations = cluster.gprov()["metadata"]["annotations"]
    assert len(annotations["gwsync.io/last-handled-configuration"]) < 1000
