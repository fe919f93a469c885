"""`kubectl gwsync ...`: the installed kubectl-gwsync plugin, found by the real kubectl on PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gwsync.testing.kube import kube_emulator_in_thread, kubectl_path


def test_kubectl_runs_gwsync_as_a_plugin_with_the_kubeconfig(tmp_path: Path) -> None:
    with kube_emulator_in_thread() as cluster:
        kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig", namespace="people")
        scripts = str(Path(sys.executable).parent)
        env = {**os.environ, "KUBECONFIG": str(kubeconfig), "PATH": scripts + os.pathsep + os.environ["PATH"]}
        listed = subprocess.run(
            [kubectl_path(), "plugin", "list"], capture_output=True, text=True, env=env, check=False
        )
        assert f"{scripts}/kubectl-gwsync" in listed.stdout
        done = subprocess.run(
            [kubectl_path(), "gwsync", "report", "list"], capture_output=True, text=True, env=env, check=False
        )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip() == "No SyncReports for namespace people yet; one is created when a sync starts."
    )
