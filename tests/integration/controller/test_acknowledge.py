"""A GoogleProvisioning created through the API is acknowledged by the running operator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from gwsync.controller.operator import serving_in_thread
from gwsync.testing.kube import PROVISIONINGS, KubeEmulator, running_kube_emulator

T = TypeVar("T")
T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)

GPROVS = "/apis/provisioning.gwsync.io/v1alpha1/namespaces/default/googleprovisionings"

acme = {
    "apiVersion": "provisioning.gwsync.io/v1alpha1",
    "kind": "GoogleProvisioning",
    "metadata": {"name": "acme"},
    "spec": {
        "google": {"adminEmail": "admin@acme.com", "credentialsSecretRef": {"name": "g", "key": "k"}},
        "target": {
            "scim": {"url": "https://scim.example.com/v2", "tokenSecretRef": {"name": "s", "key": "t"}}
        },
        "members": {"from": "AllUsers"},
        "suspend": True,  # holds the initial sync: these tests look at acknowledgement alone
    },
}


@dataclass
class ManualClock:
    """A clock the test moves by hand."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class RunningOperator:
    kube: KubeEmulator
    clock: ManualClock


@pytest.fixture
async def operator() -> AsyncIterator[RunningOperator]:
    """Kopf in its own thread against the emulator; stopped through its stop flag after the test."""
    clock = ManualClock()
    async with running_kube_emulator() as kube:
        serving = serving_in_thread(server=str(kube.url), clock=clock)
        await asyncio.to_thread(serving.__enter__)
        try:
            yield RunningOperator(kube=kube, clock=clock)
        finally:
            await asyncio.to_thread(serving.__exit__, None, None, None)


async def eventually(probe: Callable[[], T | None], *, seconds: float = 10) -> T:
    """Poll ``probe`` until it returns something, failing after a deadline."""
    async with asyncio.timeout(seconds):
        while (result := probe()) is None:
            await asyncio.sleep(0.02)
    return result


def ready_condition(operator: RunningOperator, generation: int) -> dict[str, Any] | None:
    obj = operator.kube.read(PROVISIONINGS, "default", "acme") or {}
    status = obj.get("status", {})
    if status.get("observedGeneration") != generation:
        return None
    return next((cond for cond in status.get("conditions", []) if cond["type"] == "Ready"), None)


async def test_new_provisioning_is_awaiting_its_first_sync(operator: RunningOperator) -> None:
    async with operator.kube.post(GPROVS, json=acme) as response:
        assert response.status == 200

    ready = await eventually(lambda: ready_condition(operator, 1))

    assert ready == {
        "type": "Ready",
        "status": "Unknown",
        "reason": "AwaitingFirstSync",
        "message": "The configuration was accepted; no sync has completed yet.",
        "lastTransitionTime": "2026-11-25T06:00:00Z",
        "observedGeneration": 1,
    }


async def test_spec_change_is_observed_without_a_new_transition(operator: RunningOperator) -> None:
    async with operator.kube.post(GPROVS, json=acme):
        pass
    await eventually(lambda: ready_condition(operator, 1))
    operator.clock.now += timedelta(hours=1)

    patch = {"spec": {"dryRun": True}}
    headers = {"Content-Type": "application/merge-patch+json"}
    async with operator.kube.patch(f"{GPROVS}/acme", json=patch, headers=headers) as response:
        assert response.status == 200

    ready = await eventually(lambda: ready_condition(operator, 2))
    assert ready["observedGeneration"] == 2
    assert ready["lastTransitionTime"] == "2026-11-25T06:00:00Z"  # the status did not change


async def test_kopf_bookkeeping_uses_the_gwsync_prefix(operator: RunningOperator) -> None:
    async with operator.kube.post(GPROVS, json=acme):
        pass
    await eventually(lambda: ready_condition(operator, 1))

    def annotations() -> dict[str, str] | None:
        # Kopf stores its diff base after the handler's own status patch: wait for it.
        obj = operator.kube.read(PROVISIONINGS, "default", "acme") or {}
        found: dict[str, str] = obj["metadata"].get("annotations", {})
        return found if "gwsync.io/last-handled-configuration" in found else None

    found = await eventually(annotations)
    assert not [key for key in found if key.startswith("kopf.zalando.org")]
