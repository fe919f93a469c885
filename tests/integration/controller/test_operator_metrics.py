"""What the operator exposes to monitoring: Prometheus metrics and Kopf's liveness probe."""

import asyncio
import re
import socket

import httpx
import prometheus_client

from .conftest import NS, T0, World, eventually


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format (labels in any order), or None."""
    for line in text.splitlines():
        found = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if found and all(f'{key}="{value}"' in found.group(1) for key, value in labels.items()):
            return float(found.group(2))
    return None


async def test_a_sync_shows_in_the_metrics_and_the_probe_answers(world: World) -> None:
    probe = f"http://127.0.0.1:{free_port()}/healthz"
    await world.start(liveness=probe)
    await world.create(world.provisioning("metered"))
    await eventually(lambda: world.finished("metered"))
    # The report ends before the handler writes the status and counts the sync: wait for the count.
    counted = {"namespace": NS, "provisioning": "metered", "trigger": "Initial", "phase": "Succeeded"}
    await eventually(lambda: prometheus_client.REGISTRY.get_sample_value("gwsync_syncs_total", counted))

    server, thread = prometheus_client.start_http_server(0, addr="127.0.0.1")  # what `gwsync run` serves
    try:
        answer = await asyncio.to_thread(httpx.get, f"http://127.0.0.1:{server.server_port}/metrics")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    text = answer.text
    who = {"namespace": NS, "provisioning": "metered"}
    assert sample(text, "gwsync_syncs_total", trigger="Initial", phase="Succeeded", **who) == 1
    created = sample(text, "gwsync_sync_items_total", type="User", action="Create", result="Succeeded", **who)
    assert created == len(world.scim.users())
    assert sample(text, "gwsync_last_successful_sync_timestamp_seconds", **who) == T0.timestamp()
    assert sample(text, "gwsync_sync_duration_seconds_count", phase="Succeeded", **who) == 1
    assert (sample(text, "gwsync_api_requests_total", side="google") or 0) >= 2  # users + customer
    assert (sample(text, "gwsync_api_requests_total", side="scim") or 0) >= 1

    health = await eventually(lambda: _healthz(probe))
    assert health.status_code == 200


def _healthz(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.TransportError:
        return None
