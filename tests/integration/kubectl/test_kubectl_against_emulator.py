"""The user-facing kubectl flows work for real against the emulator: apply, get, annotate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gwsync.testing.kube import PROVISIONINGS, SECRETS, KubeEmulator, kubectl_path, running_kube_emulator

ROOT = Path(__file__).resolve().parents[3]
ALL_USERS = ROOT / "manifests" / "examples" / "all-users.yaml"


kubectl_binary = kubectl_path


@dataclass
class Kubectl:
    kube: KubeEmulator
    kubeconfig: Path

    async def __call__(self, *args: str) -> tuple[int, str, str]:
        """Run kubectl without blocking the event loop that serves the emulator."""
        process = await asyncio.create_subprocess_exec(
            kubectl_binary(),
            "--kubeconfig",
            str(self.kubeconfig),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(30):
            out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    async with running_kube_emulator() as kube:
        yield Kubectl(kube, kube.write_kubeconfig(tmp_path / "kubeconfig", namespace="gwsync"))


async def test_apply_the_all_users_example_then_get_it(kubectl: Kubectl) -> None:
    code, out, err = await kubectl("apply", "-f", str(ALL_USERS))
    assert code == 0, err
    assert out.splitlines() == [
        "secret/acme-google created",
        "secret/acme-scim created",
        "googleprovisioning.provisioning.gwsync.io/acme-all-users created",
    ]

    stored = kubectl.kube.read(PROVISIONINGS, "gwsync", "acme-all-users")
    assert stored is not None and stored["spec"]["members"] == {"from": "AllUsers", "includeSuspended": False}
    assert kubectl.kube.read(SECRETS, "gwsync", "acme-scim") is not None

    code, out, err = await kubectl("get", "gprov")
    assert code == 0, err
    assert out.split()[:3] == ["NAME", "AGE", "acme-all-users"]

    code, out, _ = await kubectl("get", "gwsync", "-o", "name")  # the category
    assert out.split() == ["googleprovisioning.provisioning.gwsync.io/acme-all-users"]


async def test_applying_again_changes_nothing(kubectl: Kubectl) -> None:
    await kubectl("apply", "-f", str(ALL_USERS))
    code, out, err = await kubectl("apply", "-f", str(ALL_USERS))
    assert code == 0, err
    assert out.splitlines()[-1] == "googleprovisioning.provisioning.gwsync.io/acme-all-users unchanged"


async def test_annotate_requests_a_sync(kubectl: Kubectl) -> None:
    await kubectl("apply", "-f", str(ALL_USERS))
    code, out, err = await kubectl(
        "annotate", "gprov/acme-all-users", "gwsync.io/sync-requested-at=2026-11-25T06:00:00Z", "--overwrite"
    )
    assert code == 0, err
    assert out.strip() == "googleprovisioning.provisioning.gwsync.io/acme-all-users annotated"
    stored = kubectl.kube.read(PROVISIONINGS, "gwsync", "acme-all-users") or {}
    assert stored["metadata"]["annotations"]["gwsync.io/sync-requested-at"] == "2026-11-25T06:00:00Z"
    assert stored["metadata"]["generation"] == 1  # an annotation is not a spec change


async def test_a_missing_object_gets_kubectls_not_found_message(kubectl: Kubectl) -> None:
    code, _, err = await kubectl("get", "gprov", "nobody")
    assert code == 1
    assert (
        err.strip()
        == 'Error from server (NotFound): googleprovisionings.provisioning.gwsync.io "nobody" not found'
    )
