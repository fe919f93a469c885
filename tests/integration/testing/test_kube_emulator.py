"""The Kubernetes emulator behaves like the API server where gwsync depends on it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gwsync.testing.kube import CONFIGMAPS, KubeEmulator, kube_emulator_in_thread, running_kube_emulator

GPROVS = "/apis/provisioning.gwsync.io/v1alpha1/namespaces/default/googleprovisionings"
CMS = "/api/v1/namespaces/default/configmaps"
MERGE = {"Content-Type": "application/merge-patch+json"}

acme = {
    "apiVersion": "provisioning.gwsync.io/v1alpha1",
    "kind": "GoogleProvisioning",
    "metadata": {"name": "acme"},
    "spec": {"members": {"from": "AllUsers"}},
    "status": {"observedGeneration": 99},
}


@pytest.fixture
async def kube() -> AsyncIterator[KubeEmulator]:
    async with running_kube_emulator() as kube:
        yield kube


async def call(kube: KubeEmulator, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    headers = MERGE if method == "PATCH" else {}
    async with kube.request(method, path, json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_create_fills_server_metadata_and_ignores_status(kube: KubeEmulator) -> None:
    status, created = await call(kube, "POST", GPROVS, acme)
    assert status == 200
    meta = created["metadata"]
    assert meta["namespace"] == "default"
    assert meta["generation"] == 1
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z") and meta["resourceVersion"]
    assert "status" not in created


async def test_create_twice_is_already_exists(kube: KubeEmulator) -> None:
    await call(kube, "POST", GPROVS, acme)
    status, error = await call(kube, "POST", GPROVS, acme)
    assert (status, error["reason"]) == (409, "AlreadyExists")
    assert error["message"] == 'googleprovisionings.provisioning.gwsync.io "acme" already exists'


async def test_generation_counts_spec_changes_only(kube: KubeEmulator) -> None:
    await call(kube, "POST", GPROVS, acme)
    _, annotated = await call(kube, "PATCH", f"{GPROVS}/acme", {"metadata": {"annotations": {"a": "b"}}})
    assert annotated["metadata"]["generation"] == 1
    _, changed = await call(kube, "PATCH", f"{GPROVS}/acme", {"spec": {"dryRun": True}})
    assert changed["metadata"]["generation"] == 2
    assert int(changed["metadata"]["resourceVersion"]) > int(annotated["metadata"]["resourceVersion"])


async def test_status_subresource_writes_only_status(kube: KubeEmulator) -> None:
    await call(kube, "POST", GPROVS, acme)
    body = {"spec": {"dryRun": True}, "status": {"observedGeneration": 1}}
    _, patched = await call(kube, "PATCH", f"{GPROVS}/acme/status", body)
    assert patched["status"] == {"observedGeneration": 1}
    assert "dryRun" not in patched["spec"]
    _, main = await call(kube, "PATCH", f"{GPROVS}/acme", {"status": {"observedGeneration": 7}})
    assert main["status"] == {"observedGeneration": 1}


async def test_stale_resource_version_is_a_conflict(kube: KubeEmulator) -> None:
    _, created = await call(kube, "POST", GPROVS, acme)
    stale = created["metadata"]["resourceVersion"]
    await call(kube, "PATCH", f"{GPROVS}/acme/status", {"status": {"observedGeneration": 1}})
    status, error = await call(
        kube, "PATCH", f"{GPROVS}/acme/status", {"metadata": {"resourceVersion": stale}, "status": {}}
    )
    assert (status, error["reason"]) == (409, "Conflict")
    assert error["message"].startswith(
        'Operation cannot be fulfilled on googleprovisionings.provisioning.gwsync.io "acme": '
        "the object has been modified"
    )


async def test_put_replaces_with_current_resource_version_only(kube: KubeEmulator) -> None:
    _, created = await call(kube, "POST", GPROVS, acme)
    replacement = {**created, "status": {"observedGeneration": 1}}
    status, replaced = await call(kube, "PUT", f"{GPROVS}/acme/status", replacement)
    assert (status, replaced["status"]) == (200, {"observedGeneration": 1})
    status, error = await call(kube, "PUT", f"{GPROVS}/acme/status", replacement)
    assert (status, error["reason"]) == (409, "Conflict")
    unversioned = {**created, "metadata": {"name": "acme"}}
    status, error = await call(kube, "PUT", f"{GPROVS}/acme", unversioned)
    assert (status, error["reason"]) == (422, "Invalid")
    assert "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update" in error["message"]


async def test_missing_object_is_not_found_with_the_real_message(kube: KubeEmulator) -> None:
    status, error = await call(kube, "GET", f"{GPROVS}/nobody")
    assert (status, error["reason"]) == (404, "NotFound")
    assert error["message"] == 'googleprovisionings.provisioning.gwsync.io "nobody" not found'


async def test_lists_carry_kind_and_honour_label_selectors(kube: KubeEmulator) -> None:
    for name, owner in [("a", "acme"), ("b", "other"), ("c", "acme")]:
        await call(
            kube, "POST", CMS, {"metadata": {"name": name, "labels": {"gwsync.io/provisioning": owner}}}
        )
    status, listing = await call(kube, "GET", f"{CMS}?labelSelector=gwsync.io/provisioning%3Dacme")
    assert (status, listing["kind"], listing["apiVersion"]) == (200, "ConfigMapList", "v1")
    assert sorted(item["metadata"]["name"] for item in listing["items"]) == ["a", "c"]
    _, namespaces = await call(kube, "GET", "/api/v1/namespaces")
    assert namespaces["kind"] == "NamespaceList"
    assert "default" in [item["metadata"]["name"] for item in namespaces["items"]]


async def test_generate_name_gets_a_random_suffix(kube: KubeEmulator) -> None:
    _, first = await call(
        kube, "POST", "/api/v1/namespaces/default/events", {"metadata": {"generateName": "ev-"}}
    )
    _, second = await call(
        kube, "POST", "/api/v1/namespaces/default/events", {"metadata": {"generateName": "ev-"}}
    )
    assert first["metadata"]["name"].startswith("ev-")
    assert first["metadata"]["name"] != second["metadata"]["name"]


async def test_deleting_an_owner_collects_what_it_owns(kube: KubeEmulator) -> None:
    _, owner = await call(kube, "POST", GPROVS, acme)
    ref = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": "acme",
        "uid": owner["metadata"]["uid"],
    }
    await call(kube, "POST", CMS, {"metadata": {"name": "ledger", "ownerReferences": [ref]}})
    await call(kube, "POST", CMS, {"metadata": {"name": "unrelated"}})
    status, _ = await call(kube, "DELETE", f"{GPROVS}/acme")
    assert status == 200
    assert kube.read(CONFIGMAPS, "default", "ledger") is None
    assert kube.read(CONFIGMAPS, "default", "unrelated") is not None


async def test_watch_streams_changes_with_their_resource_versions(kube: KubeEmulator) -> None:
    events: list[dict[str, Any]] = []

    async def watch() -> None:
        async with kube.get(f"{GPROVS}?watch=true") as response:
            async for line in response.content:
                if line.strip():
                    events.append(json.loads(line))

    watcher = asyncio.create_task(watch())
    await call(kube, "POST", GPROVS, acme)
    _, patched = await call(kube, "PATCH", f"{GPROVS}/acme", {"spec": {"dryRun": True}})
    async with asyncio.timeout(5):
        while len(events) < 2:
            await asyncio.sleep(0.01)
    watcher.cancel()
    assert [event["type"] for event in events] == ["ADDED", "MODIFIED"]
    assert events[-1]["object"]["metadata"]["resourceVersion"] == patched["metadata"]["resourceVersion"]


def test_seed_and_read_from_a_thread_hosted_emulator() -> None:
    with kube_emulator_in_thread(
        [(CONFIGMAPS, {"metadata": {"name": "seeded", "namespace": "gwsync"}})]
    ) as kube:
        stored = kube.read(CONFIGMAPS, "gwsync", "seeded")
        assert stored is not None and stored["metadata"]["resourceVersion"]
        assert [obj["metadata"]["name"] for obj in kube.list_objects(CONFIGMAPS, "gwsync")] == ["seeded"]
