"""The kind e2e suite cannot run here (no Docker), so what it applies is checked offline."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from gwsync.api.validation import validate_text
from gwsync.cli.main import app
from gwsync.testing.kube import kubectl_path
from gwsync.testing.org import sample_org
from tests.e2e.test_kind import PROVISIONING

OVERLAY = Path(__file__).resolve().parents[2] / "e2e" / "overlay"


def rendered() -> list[dict[str, Any]]:
    done = subprocess.run(
        [kubectl_path(), "kustomize", str(OVERLAY)], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def test_the_emulator_sidecars_run_real_gwsync_commands() -> None:
    [deployment] = [d for d in rendered() if d["kind"] == "Deployment"]
    containers = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}
    assert set(containers) == {"operator", "google-emulator", "scim-emulator"}
    for name in ("google-emulator", "scim-emulator"):
        command = containers[name]["command"]
        assert command[0] == "gwsync" and containers[name]["image"] == "gwsync:e2e"
        parsed = CliRunner().invoke(app, [*command[1:], "--help"])  # the options exist as written
        assert parsed.exit_code == 0, parsed.output
        mounts = {m["mountPath"] for m in containers[name].get("volumeMounts", [])}
        assert containers[name]["securityContext"]["readOnlyRootFilesystem"] is True and "/tmp" in mounts


def test_the_e2e_provisioning_is_valid_and_matches_the_served_org() -> None:
    result = validate_text(PROVISIONING, "tests/e2e/test_kind.py")
    assert result.problems == [] and len(result.objects) == 1
    spec = result.objects[0]["spec"]
    org = sample_org()
    assert spec["google"]["adminEmail"] in org.admins
    assert org.group(spec["teams"]["mappings"][0]["groups"][0])
    assert spec["target"]["scim"]["url"].endswith("/v2")  # scim2-server's base path
