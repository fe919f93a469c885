"""The kube adapter against the Kubernetes emulator, over real HTTP with the real client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gwsync.kube.client import Kube, connect
from gwsync.testing.kube import PROVISIONINGS, KubeEmulator, kube_emulator_in_thread

ACME: dict[str, Any] = {
    "apiVersion": "provisioning.gwsync.io/v1alpha1",
    "kind": "GoogleProvisioning",
    "metadata": {"name": "acme", "namespace": "default"},
    "spec": {
        "google": {
            "adminEmail": "admin@acme.com",
            "credentialsSecretRef": {"name": "acme-google", "key": "credentials.json"},
        },
        "target": {
            "scim": {
                "url": "http://127.0.0.1:1/scim/v2",
                "tokenSecretRef": {"name": "acme-scim", "key": "token"},
            }
        },
        "dryRun": False,
    },
}


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    with kube_emulator_in_thread() as emulator:
        yield emulator


@pytest.fixture
def kube(emulator: KubeEmulator) -> Iterator[Kube]:
    client = connect(str(emulator.url))
    yield client
    client.close()


@pytest.fixture
def acme(emulator: KubeEmulator) -> dict[str, Any]:
    """The GoogleProvisioning as the API server returns it (uid, generation filled in)."""
    return emulator.seed(PROVISIONINGS, ACME)
