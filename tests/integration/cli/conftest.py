"""The cluster-reading commands against the Kubernetes emulator, over real HTTP with the real client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.cli.helpers import PROVISIONING, Gwsync, build_app

from gwsync.kube.client import Kube, connect
from gwsync.testing.kube import PROVISIONINGS, KubeEmulator, kube_emulator_in_thread


@pytest.fixture(scope="module")
def emulator() -> Iterator[KubeEmulator]:
    with kube_emulator_in_thread() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def kube(emulator: KubeEmulator) -> Iterator[Kube]:
    client = connect(str(emulator.url))
    yield client
    client.close()


@pytest.fixture(scope="module")
def gwsync(emulator: KubeEmulator) -> Gwsync:
    return Gwsync(str(emulator.url).rstrip("/"), build_app())


@pytest.fixture(scope="module")
def acme(emulator: KubeEmulator) -> dict[str, Any]:
    """The GoogleProvisioning as the API server returns it (uid, generation filled in)."""
    return emulator.seed(PROVISIONINGS, PROVISIONING)
