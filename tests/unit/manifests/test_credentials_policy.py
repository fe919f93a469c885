"""The installed operator keeps the confused-deputy guards on, and the examples opt their Secrets in."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gwsync.api.constants import ALLOW_ENDPOINT_OVERRIDES_FLAG, CREDENTIALS_LABEL
from gwsync.testing.kube import kubectl_path

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "manifests" / "examples").glob("*.yaml"))


def render(path: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [kubectl_path(), "kustomize", str(path)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def operator_command(objects: list[dict[str, Any]]) -> list[str]:
    [deployment] = [obj for obj in objects if obj["kind"] == "Deployment"]
    [container] = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "operator"]
    return [*container.get("command", []), *container.get("args", [])]


def test_the_manifests_never_allow_endpoint_overrides() -> None:
    command = operator_command(render(ROOT / "manifests"))
    assert command[:2] == ["gwsync", "run"]
    assert ALLOW_ENDPOINT_OVERRIDES_FLAG not in command


def test_only_the_e2e_overlay_allows_them_for_its_loopback_emulators() -> None:
    assert ALLOW_ENDPOINT_OVERRIDES_FLAG in operator_command(render(ROOT / "tests" / "e2e" / "overlay"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_secret_carries_the_credentials_label(path: Path) -> None:
    secrets = [doc for doc in yaml.safe_load_all(path.read_text()) if doc and doc["kind"] == "Secret"]
    for secret in secrets:
        assert secret["metadata"]["labels"][CREDENTIALS_LABEL] == "true", secret["metadata"]["name"]
