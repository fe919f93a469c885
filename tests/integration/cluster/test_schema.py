"""The CRDs on the real server: bad objects refused with the field named, nothing pruned, columns.

One table of bad GoogleProvisionings drives both checks: `gwsync validate` offline (what a
GitOps pipeline runs) and `kubectl apply` against the API server (structural schema, enums,
bounds and the CEL `x-kubernetes-validations` of the generated CRD).
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.api.samples import SPEC
from typer.testing import CliRunner

from gwsync.api.crd import provisioning_crd, report_crd
from gwsync.api.provisioning import SyncSummary
from gwsync.api.report import Action, FieldChange, ItemType, ReportItem, Result, Trigger
from gwsync.cli.main import app
from gwsync.kube import reports as kube_reports

from .conftest import REPO, Cluster, eventually, kubectl


def broken(path: str, value: Any) -> dict[str, Any]:
    """The sample spec with one field set (None: removed)."""
    spec = copy.deepcopy(SPEC)
    *parents, leaf = path.split(".")
    node = spec
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return spec


# case -> (spec, the field both messages must name)
BAD = {
    "groups missing": (broken("members.groups", []), "spec.members.groups"),
    "group query by member": (
        broken("members.groupQuery", "memberKey=jane@acme.com"),
        "spec.members.groupQuery",
    ),
    "interval too short": (broken("schedule", {"interval": "5m"}), "spec.schedule.interval"),
    "duplicate team": (
        broken(
            "teams.mappings",
            [{"team": "Eng", "groups": ["a@acme.com"]}, {"team": "Eng", "groups": ["b@acme.com"]}],
        ),
        "spec.teams.mappings",
    ),
    "two credentials": (
        broken("google.serviceAccountEmail", "sa@acme.iam.gserviceaccount.com"),
        "spec.google",
    ),
    "no credentials": (broken("google.credentialsSecretRef", None), "spec.google"),
    "plain http": (broken("target.scim.url", "http://scim.example.com/scim/v2"), "spec.target.scim.url"),
    "http to a look-alike of localhost": (
        broken("target.scim.url", "http://localhost.attacker.example/scim/v2"),
        "spec.target.scim.url",
    ),
    "plain http to Google": (
        broken("google.apiEndpoint", "http://admin.attacker.example/"),
        "spec.google.apiEndpoint",
    ),
    "unknown field": (broken("members.includeSuspend", True), "spec.members.includeSuspend"),
    "unknown member source": (broken("members.from", "Everyone"), "spec.members.from"),
    "share over 100": (broken("deprovision", {"maxPercent": 150}), "spec.deprovision.maxPercent"),
    "no concurrency": (broken("target.scim.maxConcurrency", 0), "spec.target.scim.maxConcurrency"),
    "admin missing": (broken("google.adminEmail", None), "spec.google.adminEmail"),
}


def manifest(spec: dict[str, Any], namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "provisioning.gwsync.io/v1alpha1",
        "kind": "GoogleProvisioning",
        "metadata": {"name": "bad", "namespace": namespace},
        "spec": spec,
    }


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_bad_provisioning_is_refused_offline_and_by_the_server(
    cluster: Cluster, tmp_path: Path, case: str
) -> None:
    spec, field = BAD[case]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(manifest(spec, cluster.namespace)), encoding="utf-8")

    offline = CliRunner().invoke(app, ["validate", str(path)])
    assert offline.exit_code == 1, offline.stdout
    assert field in offline.stderr, offline.stderr

    served = kubectl(cluster.admin, "apply", "-f", str(path), check=False)
    assert served.returncode != 0, served.stdout
    assert field in served.stderr, served.stderr
    assert cluster.gprov("bad") == {}


def test_the_valid_sample_passes_both(cluster: Cluster, tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(manifest(SPEC, cluster.namespace)), encoding="utf-8")
    assert CliRunner().invoke(app, ["validate", str(path)]).exit_code == 0
    kubectl(cluster.admin, "apply", "--dry-run=server", "-f", str(path))


@pytest.mark.parametrize(
    "example", sorted((REPO / "manifests" / "examples").glob("*.yaml")), ids=lambda p: p.name
)
def test_every_example_applies(cluster: Cluster, example: Path) -> None:
    documents = [d for d in yaml.safe_load_all(example.read_text()) if d]
    for document in documents:
        document.setdefault("metadata", {})["namespace"] = cluster.namespace
    applied = kubectl(cluster.admin, "apply", "-f", "-", stdin=yaml.safe_dump_all(documents))
    assert (
        "googleprovisioning.provisioning.gwsync.io/" in applied.stdout
        or "GoogleProvisioning" not in example.read_text()
    )


# --- what the operator writes survives the schema ----------------------------------------------


def without_server_fields(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("managedFields",)}


def test_a_report_finished_with_every_field_reads_back_unpruned(cluster: Cluster) -> None:
    cluster.apply(cluster.provisioning())
    owner = cluster.gprov()
    now = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    report = kube_reports.start_report(cluster.kube, owner, Trigger.MANUAL, now=now)
    items = [
        ReportItem(
            type=ItemType.USER,
            key="amelie@acme.example",
            source_id="100000000000000000002",
            target_id="t-2",
            action=Action.RENAME,
            result=Result.FAILED,
            data_changed=True,
            changes=[FieldChange(field="userName", from_="amelie.p@acme.example", to="amelie@acme.example")],
            details="Target refused: 409 uniqueness.",
        ),
        ReportItem(
            type=ItemType.TEAM,
            key="Engineering",
            target_id="g-1",
            action=Action.CREATE,
            result=Result.SUCCEEDED,
            data_changed=True,
        ),
    ]
    summary = SyncSummary.model_validate({"users": {"renamed": 1, "failed": 1}, "teams": {"created": 1}})
    finished = kube_reports.finish_report(
        cluster.kube,
        report,
        phase="PartiallySucceeded",
        message="One item failed.",
        summary=summary,
        items=items,
        now=now,
    )
    stored = kube_reports.read_report(cluster.kube, cluster.namespace, str(finished.metadata["name"]))
    assert stored.status.phase == "PartiallySucceeded"
    assert stored.status.duration == "0s"
    assert stored.status.message == "One item failed."
    assert stored.status.summary == summary
    assert stored.status.items == items
    assert stored.status.item_count == 2
    assert list(kube_reports.iter_report_items(cluster.kube, stored)) == items
    # Nothing the code sent is missing from what the server kept.
    raw = cluster.kube.get(kube_reports.REPORTS, cluster.namespace, str(finished.metadata["name"]))
    assert set(raw["status"]) >= {
        "phase",
        "message",
        "startTime",
        "completionTime",
        "duration",
        "summary",
        "itemCount",
        "items",
        "itemStore",
    }
    assert raw["status"]["items"][0]["changes"] == [
        {"field": "userName", "from": "amelie.p@acme.example", "to": "amelie@acme.example"}
    ]


def test_the_status_the_operator_writes_survives_the_schema(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.apply(cluster.provisioning())
    cluster.wait_finished()
    eventually(
        lambda: cluster.status().get("lastSync", {}).get("phase") == "Succeeded" or None, what="lastSync"
    )
    status = cluster.status()
    expected = {
        "observedGeneration", "syncedGeneration", "conditions", "google", "lastSync",
        "lastSuccessfulSyncTime", "nextSyncTime", "failedAttempts", "ledger",
    }  # fmt: skip
    assert set(status) >= expected, set(status)
    assert {c["type"] for c in status["conditions"]} >= {"Ready", "Connected", "TargetReachable", "Active"}
    assert set(status["lastSync"]) >= {"report", "phase", "trigger", "startTime", "completionTime", "summary"}
    assert status["ledger"]["users"] == 3 and status["ledger"]["configMaps"]
    assert status["google"] == {
        **status["google"],
        "customerId": "C03acme01",
        "primaryDomain": "acme.example",
    }


# --- printer columns, evaluated by the server --------------------------------------------------


def table(text: str) -> tuple[list[str], list[list[str]]]:
    lines = [line for line in text.splitlines() if line.strip()]
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=\s\s))\S", lines[0])]

    def cells(line: str) -> list[str]:
        return [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]

    return cells(lines[0]), [cells(line) for line in lines[1:]]


def columns_of(crd: dict[str, Any]) -> list[str]:
    return [c["name"].upper() for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]]


def test_kubectl_get_prints_the_documented_columns_with_values(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.apply(cluster.provisioning())
    cluster.wait_finished()

    header, rows = table(kubectl(cluster.admin, "get", "gprov", "-n", cluster.namespace).stdout)
    assert header == ["NAME", *columns_of(provisioning_crd())]
    assert header[1:] == ["ACTIVE", "CONNECTED", "LAST SYNC", "LAST SYNC AGE", "NEXT SYNC", "AGE"]
    [row] = rows
    values = dict(zip(header, row, strict=True))
    assert values["ACTIVE"] == "True" and values["CONNECTED"] == "True" and values["LAST SYNC"] == "Succeeded"
    assert all(value and value != "<none>" for value in row), values

    header, rows = table(kubectl(cluster.admin, "get", "sreport", "-n", cluster.namespace).stdout)
    assert header == ["NAME", *columns_of(report_crd())]
    [row] = rows
    values = dict(zip(header, row, strict=True))
    assert (
        values["PROVISIONING"] == "acme" and values["TRIGGER"] == "Initial" and values["PHASE"] == "Succeeded"
    )
    assert values["CREATED"] == "3" and values["FAILED"] == "0"
    assert all(value and value != "<none>" for value in row), values

    both = kubectl(cluster.admin, "get", "gwsync", "-n", cluster.namespace).stdout
    assert "googleprovisioning.provisioning.gwsync.io/acme" in both
    assert "syncreport.provisioning.gwsync.io/acme-" in both
