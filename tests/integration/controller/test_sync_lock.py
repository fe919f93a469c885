"""The sync lock against the Kubernetes emulator: one holder at a time, lapsing when not renewed."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gwsync.controller.locking import LEASE, claim, release
from gwsync.kube.client import Kube, connect
from gwsync.testing.kube import PROVISIONINGS, KubeEmulator, kube_emulator_in_thread

ACME: dict[str, Any] = {
    "apiVersion": "provisioning.gwsync.io/v1alpha1",
    "kind": "GoogleProvisioning",
    "metadata": {"name": "acme", "namespace": "default"},
    "spec": {},
}


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    with kube_emulator_in_thread([(PROVISIONINGS, ACME)]) as emulator:
        yield emulator


@pytest.fixture
def kube(emulator: KubeEmulator) -> Iterator[Kube]:
    client = connect(str(emulator.url))
    yield client
    client.close()


def test_one_holder_at_a_time(kube: Kube, emulator: KubeEmulator) -> None:
    assert claim(kube, "default", "acme", "replica-a")
    assert not claim(kube, "default", "acme", "replica-b")
    assert claim(kube, "default", "acme", "replica-a")  # a renewal
    release(kube, "default", "acme", "replica-b")  # not its lock: nothing happens
    assert (emulator.read(PROVISIONINGS, "default", "acme") or {})["status"]["syncLock"][
        "holder"
    ] == "replica-a"

    release(kube, "default", "acme", "replica-a")
    assert "syncLock" not in (emulator.read(PROVISIONINGS, "default", "acme") or {}).get("status", {})
    assert claim(kube, "default", "acme", "replica-b")


def test_a_lock_left_by_a_dead_process_lapses(kube: Kube) -> None:
    start = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    assert claim(kube, "default", "acme", "dead", clock=lambda: start)
    assert not claim(kube, "default", "acme", "alive", clock=lambda: start + LEASE - timedelta(seconds=1))
    assert claim(kube, "default", "acme", "alive", clock=lambda: start + LEASE)
