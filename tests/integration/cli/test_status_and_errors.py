"""`gwsync status`, and what every cluster-reading command says when the cluster or object is missing."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.cli.helpers import Gwsync, assert_error, invoke, provisioning

from gwsync.kube.reports import timestamp
from gwsync.testing.kube import PROVISIONINGS, KubeEmulator

NOW = datetime.now(UTC).replace(microsecond=0)
LAST_START = NOW - timedelta(hours=1)
NEXT = LAST_START + timedelta(hours=24)


def condition(type_: str, status: str, reason: str, message: str, hours_ago: int) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": timestamp(NOW - timedelta(hours=hours_ago)),
        "observedGeneration": 1,
    }


@pytest.fixture(scope="module")
def synced(emulator: KubeEmulator) -> dict[str, Any]:
    """acme as the operator leaves it after a partly successful scheduled sync."""
    obj = provisioning("acme")
    obj["status"] = {
        "observedGeneration": 1,
        "conditions": [
            condition("Ready", "True", "SyncSucceeded", "The last sync completed.", 30),
            condition("Connected", "True", "Connected", "Read acme.example as admin@acme.example.", 30),
            condition(
                "TargetReachable", "False", "TargetUnreachable", "Connection refused by the target.", 1
            ),
            condition("Active", "True", "Active", "This GoogleProvisioning syncs its organization.", 48),
        ],
        "google": {
            "customerId": "C03acme01",
            "primaryDomain": "acme.example",
            "checkedAt": timestamp(LAST_START),
        },
        "lastSync": {
            "report": "acme-20250314-092653",
            "phase": "PartiallySucceeded",
            "trigger": "Scheduled",
            "startTime": timestamp(LAST_START),
            "completionTime": timestamp(LAST_START + timedelta(minutes=2)),
            "summary": {"users": {"created": 4, "updated": 2, "failed": 1}, "teams": {"created": 1}},
        },
        "lastSuccessfulSyncTime": timestamp(LAST_START + timedelta(minutes=2)),
        "nextSyncTime": timestamp(NEXT),
    }
    return emulator.seed(PROVISIONINGS, obj)


def test_status_shows_conditions_last_and_next_sync_and_the_google_connection(
    gwsync: Gwsync, synced: dict[str, Any]
) -> None:
    result = gwsync("status", "acme")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "GoogleProvisioning default/acme" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") == 6}
    assert set(rows) == {"Ready", "Connected", "TargetReachable", "Active"}
    assert (
        "True" in rows["Ready"]
        and "SyncSucceeded" in rows["Ready"]
        and "The last sync completed." in rows["Ready"]
    )
    assert (
        "False" in rows["TargetReachable"] and "Connection refused by the target." in rows["TargetReachable"]
    )
    # NOW is read when the module loads; on a busy machine minutes may pass before this test runs.
    assert re.search(rf"{timestamp(NOW - timedelta(hours=30))} \(30h\d+m\d+s ago\)", rows["Ready"])
    panel = [line for line in out.splitlines() if line.count("│") == 2]
    lines = {line.strip("│ ").split("  ")[0]: line for line in panel}
    assert "yes" in lines["Active"] and "suspended" not in lines["Active"]
    assert "customer C03acme01, domain acme.example" in lines["Google"]
    assert "acme-20250314-092653 PartiallySucceeded, Scheduled, finished" in lines["Last sync"]
    assert timestamp(LAST_START + timedelta(minutes=2)) in lines["Last sync"]
    assert "4 created, 2 updated" in out and "1 failed" in out
    assert f"{timestamp(NEXT)} (in " in lines["Next sync"] and "Scheduled" in lines["Next sync"]


def test_status_says_when_a_provisioning_is_suspended_and_not_active(
    gwsync: Gwsync, emulator: KubeEmulator
) -> None:
    obj = provisioning("globex", suspend=True)
    obj["status"] = {
        "conditions": [
            condition(
                "Active",
                "False",
                "AnotherProvisioningActive",
                "default/acme already syncs customer C03acme01.",
                2,
            )
        ]
    }
    emulator.seed(PROVISIONINGS, obj)
    result = gwsync("status", "globex")
    assert result.exit_code == 0, result.output
    assert "no (AnotherProvisioningActive: default/acme already syncs customer C03acme01.); suspended" in (
        result.stdout
    )
    assert "Last sync     none yet" in result.stdout
    assert "not connected yet" in result.stdout
    assert "not scheduled: suspended" in result.stdout


def test_an_unknown_provisioning_is_named_with_the_command_that_lists_them(gwsync: Gwsync) -> None:
    message = "GoogleProvisioning default/nope does not exist; list them with `kubectl get gprov -n default`."
    assert_error(gwsync("status", "nope"), message)
    assert_error(gwsync("groups", "search", "eng", "-p", "nope"), message)


def test_a_kubeconfig_that_does_not_exist_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "config"
    for command in (["report", "list"], ["report", "show", "x"], ["status", "acme"]):
        assert_error(
            invoke(*command, "--kubeconfig", str(missing)),
            f"kubeconfig {missing} does not exist: pass --kubeconfig, set KUBECONFIG, or run in a cluster.",
        )


def test_the_namespace_defaults_to_the_kubeconfig_contexts(emulator: KubeEmulator, tmp_path: Path) -> None:
    config = emulator.write_kubeconfig(tmp_path / "config", namespace="kube-system")
    result = invoke("report", "list", "--kubeconfig", str(config))
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.strip()
        == "No SyncReports for namespace kube-system yet; one is created when a sync starts."
    )
    assert_error(
        invoke("status", "acme", "--kubeconfig", str(config)),
        "GoogleProvisioning kube-system/acme does not exist; "
        "list them with `kubectl get gprov -n kube-system`.",
    )


def test_a_server_where_nothing_listens_is_one_sentence() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = f"http://127.0.0.1:{port}"
    for command in (["report", "list"], ["report", "show", "x"], ["status", "acme"]):
        assert_error(
            invoke(*command, "--server", server),
            f"Cannot reach the Kubernetes API server at {server}; check that the cluster is running, "
            "or choose another one with --kubeconfig or --context.",
        )


def test_an_unreachable_server_from_a_kubeconfig_names_the_kubeconfig(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
        f"clusters: [{{name: gone, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: me, user: {token: t}}]\n"
        "contexts: [{name: gone, context: {cluster: gone, user: me}}]\n",
        encoding="utf-8",
    )
    assert_error(
        invoke("report", "list", "--kubeconfig", str(config), "--context", "gone"),
        f"Cannot reach the Kubernetes API server at http://127.0.0.1:{port} (from kubeconfig {config}, "
        "context gone); check that the cluster is running, "
        "or choose another one with --kubeconfig or --context.",
    )
