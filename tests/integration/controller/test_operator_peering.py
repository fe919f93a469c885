"""Two replicas of the operator: Kopf peering lets only the higher-priority one sync."""

import asyncio
from datetime import timedelta
from typing import Any

from gwsync.controller.operator import replica_priority, serving_in_thread
from gwsync.testing.google import Fault
from gwsync.testing.kube import CLUSTER_PEERINGS

from .conftest import TICK, World, eventually


async def test_a_second_replica_with_lower_priority_never_syncs(world: World) -> None:
    world.kube.seed(CLUSTER_PEERINGS, {"metadata": {"name": "gwsync"}})
    await world.start(standalone=False, priority=200)

    def peers() -> dict[str, Any]:
        return dict((world.kube.read(CLUSTER_PEERINGS, None, "gwsync") or {}).get("status") or {})

    await eventually(lambda: peers() or None)  # the first replica has announced itself
    second = serving_in_thread(
        server=str(world.kube.url),
        clock=world.clock,
        tick=TICK,
        standalone=False,
        priority=100,
        allow_endpoint_overrides=True,
    )
    await asyncio.to_thread(second.__enter__)
    try:
        await eventually(lambda: len(peers()) == 2 or None)
        await world.create(world.provisioning())
        await eventually(world.finished)
        await world.patch("acme", {"metadata": {"annotations": {"gwsync.io/sync-requested-at": "now"}}})
        await eventually(lambda: world.finished(count=2))
        await world.ticks(10)
        assert [r["spec"]["trigger"] for r in world.reports()] == ["Initial", "Manual"]
        assert sorted(p["priority"] for p in peers().values()) == [100, 200]
    finally:
        await asyncio.to_thread(second.__exit__, None, None, None)


def test_replicas_draw_distinct_priorities_unless_one_is_given() -> None:
    # Kopf pauses a replica only for a peer of higher priority: two that tie would both sync.
    drawn = {replica_priority() for _ in range(50)}
    assert len(drawn) == 50 and all(0 < p <= 1 << 30 for p in drawn)
    assert replica_priority(7) == 7


def running(world: World) -> list[dict[str, Any]]:
    return [r for r in world.reports() if (r.get("status") or {}).get("phase") == "Running"]


async def test_a_sync_running_when_its_replica_pauses_is_never_overlapped(world: World) -> None:
    # Kopf pauses a replica when a peer of higher priority appears, but lets a running timer
    # (a sync) finish. The new leader must neither start a sync of the same object meanwhile
    # nor call the running sync's report Interrupted.
    world.kube.seed(CLUSTER_PEERINGS, {"metadata": {"name": "gwsync"}})
    world.google.faults.append(Fault(status=0, api="users", delay=4.0, times=1))  # a long first sync
    await world.start(standalone=False, priority=100)
    await world.create(world.provisioning())
    await eventually(lambda: running(world) or None)

    leader = serving_in_thread(
        server=str(world.kube.url),
        clock=world.clock,
        tick=TICK,
        standalone=False,
        priority=200,
        allow_endpoint_overrides=True,
    )
    await asyncio.to_thread(leader.__enter__)
    try:
        await world.ticks(10)  # the new leader looks at the object while the old sync runs
        world.clock.now += timedelta(minutes=30)  # any retry back-off is over
        await world.ticks(10)
        await eventually(world.finished)
        await eventually(lambda: running(world) == [] or None)
        phases = [(r["spec"]["trigger"], r["status"]["phase"]) for r in world.reports()]
        assert phases == [("Initial", "Succeeded")]
        await eventually(lambda: world.status().get("lastSync", {}).get("phase") == "Succeeded" or None)
        await world.ticks(10)
        assert [r["spec"]["trigger"] for r in world.reports()] == ["Initial"]
    finally:
        await asyncio.to_thread(leader.__exit__, None, None, None)
