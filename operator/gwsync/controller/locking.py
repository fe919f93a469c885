"""One sync of a GoogleProvisioning at a time, across replicas (DESIGN §3 rule 8).

Kopf never overlaps two timer calls of one object in one process, and peering pauses all
replicas but one. But a paused replica's running timer is not cancelled: a long sync goes on
while the new leader ticks. So a sync first claims ``status.syncLock`` with the object's
resourceVersion as a precondition (of two claims, the API server accepts one), renews it
while it runs, and clears it when it ends. A lock whose holder stopped renewing it for
``LEASE`` (a killed process) lapses, and the next claimant takes it over.

Leases count real time, not the operator's injected clock: they are about whether a process
is alive, and a test's clock jumping a day must not make a running sync's lock look stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from gwsync.api.provisioning import GoogleProvisioningStatus, SyncLock
from gwsync.kube.client import PROVISIONINGS, Kube, KubeApiError
from gwsync.kube.status import patch_status

log = logging.getLogger(__name__)
LEASE: Final = timedelta(seconds=60)
WallClock = Callable[[], datetime]


def process_identity() -> str:
    """This process, as lock holders are named: the pod's name (HOSTNAME) and a random id."""
    return f"{os.environ.get('HOSTNAME', 'gwsync')}-{secrets.token_hex(4)}"


def wall_clock() -> datetime:
    return datetime.now(tz=UTC)


def held_by_another(status: Any, me: str, now: datetime, lease: timedelta = LEASE) -> str | None:
    """The holder of a lock that is not mine and has not lapsed, if there is one."""
    lock = GoogleProvisioningStatus.model_validate(status or {}).sync_lock
    if lock is None or lock.holder == me or now - lock.renew_time >= lease:
        return None
    return lock.holder


def _wire(me: str, now: datetime) -> dict[str, Any]:
    return SyncLock(holder=me, renew_time=now).to_wire()


def claim(
    kube: Kube, namespace: str, name: str, me: str, clock: WallClock = wall_clock, lease: timedelta = LEASE
) -> bool:
    """Take (or renew) the lock; False when another live process holds it."""
    taken: list[bool] = [False]

    def change(current: dict[str, Any]) -> dict[str, Any] | None:
        now = clock()
        taken[0] = held_by_another(current.get("status"), me, now, lease) is None
        return {"syncLock": _wire(me, now)} if taken[0] else None

    patch_status(kube, PROVISIONINGS, namespace, name, change)
    return taken[0]


def release(kube: Kube, namespace: str, name: str, me: str) -> None:
    """Clear the lock if it is still mine."""

    def change(current: dict[str, Any]) -> dict[str, Any] | None:
        lock = GoogleProvisioningStatus.model_validate(current.get("status") or {}).sync_lock
        return {"syncLock": None} if lock is not None and lock.holder == me else None

    patch_status(kube, PROVISIONINGS, namespace, name, change)


@contextlib.asynccontextmanager
async def sync_lock(
    kube: Kube, namespace: str, name: str, me: str, clock: WallClock = wall_clock, lease: timedelta = LEASE
) -> AsyncIterator[bool]:
    """Hold the lock for the block (yields False, and holds nothing, when another process has it).

    `lease`: how long the lock outlives a process that stopped renewing it (renewed every
    quarter of it); `gwsync run --sync-lease`."""
    if not await asyncio.to_thread(claim, kube, namespace, name, me, clock, lease):
        yield False
        return

    async def renew() -> None:
        while True:
            await asyncio.sleep((lease / 4).total_seconds())
            try:
                if not await asyncio.to_thread(claim, kube, namespace, name, me, clock, lease):
                    log.error(
                        "GoogleProvisioning %s/%s: another process took the sync lock.", namespace, name
                    )
                    return
            except KubeApiError as exc:  # the next renewal may pass; the lease leaves room for three misses
                log.warning("The sync lock of %s/%s could not be renewed: %s", namespace, name, exc)

    renewal = asyncio.create_task(renew())
    try:
        yield True
    finally:
        renewal.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewal
        try:
            await asyncio.to_thread(release, kube, namespace, name, me)
        except KubeApiError as exc:  # it lapses after LEASE
            log.warning(
                "The sync lock of %s/%s could not be released (%s); it lapses in %d s.",
                namespace,
                name,
                exc,
                lease.total_seconds(),
            )
