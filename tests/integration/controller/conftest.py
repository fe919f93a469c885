"""The operator in-process against the Kubernetes emulator, the Google emulator and scim2-server."""

from __future__ import annotations

import asyncio
import base64
import copy
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from tests.integration.orgs import provisioning_manifest, small_org

from gwsync.api.constants import CREDENTIALS_LABEL, CREDENTIALS_LABEL_VALUE
from gwsync.controller.operator import serving_in_thread
from gwsync.testing.google import GoogleEmulator, google_emulator_in_thread
from gwsync.testing.kube import EVENTS, PROVISIONINGS, REPORTS, SECRETS, KubeEmulator, running_kube_emulator
from gwsync.testing.org import Org
from gwsync.testing.scim import ScimServer, run_scim_server

T = TypeVar("T")
T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
NS = "default"
GPROVS = f"/apis/provisioning.gwsync.io/v1alpha1/namespaces/{NS}/googleprovisionings"
SCIM_TOKEN = "scim-token-s3cr3t-value"
TICK = 0.05


@dataclass
class ManualClock:
    """A clock the test moves by hand."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


async def eventually(probe: Callable[[], T | None], *, seconds: float = 20) -> T:
    """Poll `probe` until it returns something other than None, failing after a deadline."""
    async with asyncio.timeout(seconds):
        while (result := probe()) is None:
            await asyncio.sleep(0.02)
    return result


@dataclass
class World:
    kube: KubeEmulator
    google: GoogleEmulator
    scim: ScimServer
    clock: ManualClock
    kubeconfig: Path
    _running: AbstractContextManager[None] | None = field(default=None, repr=False)

    # -- the operator ---------------------------------------------------------------------------

    async def start(self, *, allow_endpoint_overrides: bool = True, **options: Any) -> None:
        """The operator in-process; the emulators are plain-http loopback endpoints, an override
        it allows unless a test of that guard says otherwise."""
        running = serving_in_thread(
            server=str(self.kube.url),
            clock=self.clock,
            tick=TICK,
            allow_endpoint_overrides=allow_endpoint_overrides,
            **options,
        )
        await asyncio.to_thread(running.__enter__)
        self._running = running

    async def stop(self) -> None:
        if self._running is not None:
            running, self._running = self._running, None
            await asyncio.to_thread(running.__exit__, None, None, None)

    # -- objects ------------------------------------------------------------------------------------

    def provisioning(self, name: str = "acme", **spec: Any) -> dict[str, Any]:
        return provisioning_manifest(name, NS, self.google.url, self.scim.url, **spec)

    async def create(self, obj: dict[str, Any]) -> None:
        async with self.kube.post(GPROVS, json=obj) as response:
            assert response.status in (200, 201), await response.text()

    async def patch(self, name: str, patch: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/merge-patch+json"}
        async with self.kube.patch(f"{GPROVS}/{name}", json=patch, headers=headers) as response:
            assert response.status == 200, await response.text()

    async def delete(self, name: str) -> None:
        async with self.kube.delete(f"{GPROVS}/{name}") as response:
            assert response.status == 200, await response.text()

    def gprov(self, name: str = "acme") -> dict[str, Any]:
        return self.kube.read(PROVISIONINGS, NS, name) or {}

    def status(self, name: str = "acme") -> dict[str, Any]:
        return self.gprov(name).get("status") or {}

    def condition(self, type_: str, name: str = "acme") -> dict[str, Any] | None:
        conditions = (self.gprov(name).get("status") or {}).get("conditions") or []
        return next((x for x in conditions if x["type"] == type_), None)

    def condition_is(self, type_: str, state: str, name: str = "acme") -> dict[str, Any] | None:
        """The condition once it has this status (None before)."""
        found = self.condition(type_, name)
        return found if found is not None and found["status"] == state else None

    async def ticks(self, count: int = 5, name: str = "acme") -> None:
        """Wait until the schedule timer of `name` has run `count` more times (it reads the object)."""
        start = self.kube.reads_of(PROVISIONINGS, NS, name)
        await eventually(lambda: self.kube.reads_of(PROVISIONINGS, NS, name) >= start + count or None)

    def reports(self, name: str = "acme") -> list[dict[str, Any]]:
        found = self.kube.list_objects(REPORTS, NS, labels=f"gwsync.io/provisioning={name}")
        return sorted(
            found, key=lambda r: ((r.get("status") or {}).get("startTime", ""), r["metadata"]["name"])
        )

    def finished(self, name: str = "acme", count: int = 1) -> list[dict[str, Any]] | None:
        """The reports once `count` of them have finished (None before)."""
        done = [
            r
            for r in self.reports(name)
            if (r.get("status") or {}).get("phase") not in (None, "Pending", "Running")
        ]
        return done if len(done) >= count else None

    def events(self, reason: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.kube.list_objects(EVENTS, NS) if reason is None or e.get("reason") == reason]

    def seed_secret(self, name: str, key: str, value: str, *, labelled: bool = True) -> None:
        """A Secret, labelled gwsync.io/credentials=true (gwsync uses no other) unless told not."""
        data = {key: base64.b64encode(value.encode()).decode()}
        labels = {CREDENTIALS_LABEL: CREDENTIALS_LABEL_VALUE} if labelled else {}
        metadata = {"name": name, "namespace": NS, "labels": labels}
        self.kube.seed(SECRETS, {"metadata": metadata, "data": data})


@pytest.fixture
def org() -> Org:
    return small_org()


@pytest.fixture
async def world(org: Org, tmp_path: Path) -> AsyncIterator[World]:
    with google_emulator_in_thread(copy.deepcopy(org)) as google, run_scim_server(SCIM_TOKEN) as scim:
        async with running_kube_emulator() as kube:
            built = World(kube, google, scim, ManualClock(), kube.write_kubeconfig(tmp_path / "kubeconfig"))
            built.seed_secret("google", "key.json", google.service_account_key())
            built.seed_secret("scim", "token", SCIM_TOKEN)
            try:
                yield built
            finally:
                await built.stop()


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog
