"""`gwsync demo` end to end, as README's `make demo` runs it: the installed command, no cluster."""

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

from gwsync.testing.kube import NAMESPACES, PROVISIONINGS, REPORTS, SECRETS, kube_emulator_in_thread

GWSYNC = str(Path(sys.executable).parent / "gwsync")


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [GWSYNC, "demo", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def panels(output: str) -> list[str]:
    """The text of each SyncReport panel the demo printed."""
    return re.findall(r"╭─+ (SyncReport .*?)╰", output, flags=re.S)


def test_the_demo_prints_two_reports_with_every_kind_of_change() -> None:
    done = demo()
    assert done.returncode == 0, done.stderr
    first, second = panels(done.stdout)
    assert "trigger Initial" in first and "Succeeded" in first
    assert "created 38" in first and "created 3" in first  # 38 active people, 3 teams
    assert "trigger Manual" in second and "Succeeded" in second
    for count in ("created 1", "updated 1", "renamed 1", "deprovisioned 1", "added 2", "removed 1"):
        assert count in second, count
    text = " ".join(done.stdout.split())
    assert "amelie.lefevre@acme.example was renamed to amelie.martin@acme.example" in text
    assert 'kubectl annotate gprov/acme gwsync.io/sync-requested-at="' in text
    assert "What just happened" in text
    assert "Traceback" not in done.stderr and "demo-scim-token" not in done.stdout + done.stderr


def test_the_demo_runs_against_the_cluster_of_a_kubeconfig(tmp_path: Path) -> None:
    with kube_emulator_in_thread() as cluster:
        kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
        missing = demo("--kubeconfig", str(kubeconfig), "-n", "demo")
        assert missing.returncode == 1
        assert " ".join(missing.stderr.split()) == (
            f"error: Namespace demo does not exist in the cluster of {kubeconfig}: create it with "
            "`kubectl create namespace demo` or pass another --namespace."
        )
        cluster.seed(NAMESPACES, {"metadata": {"name": "demo"}})
        done = demo("--kubeconfig", str(kubeconfig), "-n", "demo")
        assert done.returncode == 0, done.stderr
        assert cluster.read(PROVISIONINGS, "demo", "acme") is not None
        reports = cluster.list_objects(REPORTS, "demo")
        assert sorted(r["spec"]["trigger"] for r in reports) == ["Initial", "Manual"]
        assert {r["status"]["phase"] for r in reports} == {"Succeeded"}


def test_the_demo_never_overwrites_objects_it_finds(tmp_path: Path) -> None:
    with kube_emulator_in_thread() as cluster:
        token = base64.b64encode(b"someone's real token").decode()
        cluster.seed(
            SECRETS, {"metadata": {"name": "acme-scim", "namespace": "default"}, "data": {"token": token}}
        )
        kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
        done = demo("--kubeconfig", str(kubeconfig))
        assert done.returncode == 1
        assert " ".join(done.stderr.split()) == (
            f"error: Secret default/acme-scim already exists in the cluster of {kubeconfig}; delete it "
            "(kubectl delete secrets acme-scim -n default) or pass another --namespace."
        )
        assert cluster.read(SECRETS, "default", "acme-scim")["data"] == {"token": token}  # type: ignore[index]
