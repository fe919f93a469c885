"""What the operator writes for people to read: item stores, history, printer columns."""

import asyncio
import json
from typing import Any

import pytest
import yaml
from jsonpath_ng.ext import parse

from gwsync.api.crd import render_crds
from gwsync.kube.client import connect
from gwsync.kube.items import iter_items
from gwsync.testing.kube import CONFIGMAPS
from gwsync.testing.org import Org

from .conftest import NS, World, eventually, small_org

MAX_CONFIGMAP_BYTES = 900 * 1024


@pytest.mark.parametrize("org", [small_org(users=30_000)])
async def test_a_30000_user_sync_keeps_every_item_in_configmaps_under_900_kib(world: World, org: Org) -> None:
    await world.start()
    await world.create(world.provisioning(dryRun=True))

    [report] = await eventually(world.finished, seconds=120)
    assert report["status"]["phase"] == "Succeeded", report["status"].get("message")
    stores = report["status"]["itemStore"]["configMaps"]
    # Dry-run Create items compress to one ConfigMap here; splitting into several is covered
    # with richer items in tests/integration/kube/test_reports.py.
    for name in stores:
        config_map = world.kube.read(CONFIGMAPS, NS, name) or {}
        assert len(json.dumps(config_map).encode()) < MAX_CONFIGMAP_BYTES
        assert config_map["metadata"]["ownerReferences"][0]["name"] == report["metadata"]["name"]
    client = connect(str(world.kube.url), insecure=True)
    items = await asyncio.to_thread(lambda: list(iter_items(client, NS, stores)))
    assert len(items) == report["status"]["itemCount"] == 30_003
    assert {item.key for item in items} >= {"user29999@acme.example", "amelie@acme.example"}
    assert len(report["status"]["items"]) == 200
    assert world.scim.users() == []  # a dry run changes nothing


async def test_history_keeps_the_newest_reports(world: World) -> None:
    await world.start()
    await world.create(world.provisioning(history={"keep": 3}))
    await eventually(world.finished)
    for request in ("r1", "r2", "r3"):
        await world.patch("acme", {"metadata": {"annotations": {"gwsync.io/sync-requested-at": request}}})
        await eventually(lambda r=request: world.status().get("lastHandledSyncRequest") == r or None)

    reports = await eventually(
        lambda: (found := world.finished(count=3)) and len(world.reports()) == 3 and found
    )
    assert [r["spec"]["trigger"] for r in reports] == ["Manual", "Manual", "Manual"]


def printer_columns() -> dict[str, list[dict[str, Any]]]:
    return {
        crd["spec"]["names"]["kind"]: crd["spec"]["versions"][0]["additionalPrinterColumns"]
        for crd in yaml.safe_load_all(render_crds())
    }


async def test_every_printer_column_resolves_on_what_the_operator_wrote(world: World) -> None:
    await world.start()
    await world.create(world.provisioning())
    [report] = await eventually(world.finished)
    await eventually(lambda: world.status().get("nextSyncTime"))
    written = {"GoogleProvisioning": world.gprov(), "SyncReport": report}

    for kind, columns in printer_columns().items():
        for column in columns:
            found = parse("$" + column["jsonPath"]).find(written[kind])
            assert [m.value for m in found if m.value not in (None, "")], f"{kind} column {column['name']}"
