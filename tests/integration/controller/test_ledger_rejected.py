"""A ledger an older gwsync wrote (no signature) is ignored once, said gently, and signed anew."""

import asyncio
import base64
from datetime import timedelta

from gwsync.kube.blobs import Owner
from gwsync.kube.client import connect
from gwsync.kube.ledger import LedgerStore
from gwsync.sync.ledger import Ledger
from gwsync.testing.kube import SECRETS

from .conftest import NS, World, eventually


async def test_an_unsigned_ledger_is_ignored_reported_and_replaced_by_a_signed_one(world: World) -> None:
    await world.create(world.provisioning())
    client = connect(str(world.kube.url), insecure=True)
    amelie = world.scim.seed_user("amelie@acme.example", externalId="100000000000000000002", active=True)
    legacy = Ledger({"100000000000000000002": amelie, "100000000000000000077": "gone"}, {"Engineering": "x"})
    store = LedgerStore(client, Owner.of(world.gprov()), NS)  # no key: as gwsync saved it before signing
    [config_map] = await asyncio.to_thread(store.save, legacy.to_json())

    await world.start()
    [report] = await eventually(world.finished)

    assert report["status"]["phase"] == "Succeeded", report["status"]
    sentence = (
        f"The ledger of GoogleProvisioning {NS}/acme (ConfigMap {config_map}) is not signed (a gwsync from "
        "before ledger signing, or a person, wrote it), so this sync ignored it: users were matched by "
        "externalId only and teams by name, and the next ledger saved is signed."
    )
    condition = await eventually(lambda: world.condition_is("LedgerVerified", "False"))
    assert (condition["reason"], condition["message"]) == ("LedgerUnsigned", sentence)
    [event] = await eventually(lambda: world.events("LedgerRejected") or None)
    assert (event["type"], event["message"]) == ("Warning", sentence)
    # Amélie carries her Google id: still managed, unchanged rather than created twice.
    assert [u["userName"] for u in world.scim.users()].count("amelie@acme.example") == 1
    assert world.kube.read(SECRETS, "gwsync", "gwsync-ledger-key") is not None  # made at start

    world.clock.now += timedelta(days=1, seconds=1)  # the next sync reads the signed ledger
    await eventually(lambda: world.finished(count=2))
    verified = await eventually(lambda: world.condition_is("LedgerVerified", "True"))
    assert (verified["reason"], verified["message"]) == (
        "Verified",
        "The ledger carries the operator's signature.",
    )
    assert len(world.events("LedgerRejected")) == 1


async def test_without_a_usable_key_the_sync_fails_before_changing_anything(world: World) -> None:
    metadata = {"name": "gwsync-ledger-key", "namespace": "gwsync"}
    world.kube.seed(SECRETS, {"metadata": metadata, "data": {"key": base64.b64encode(b"too short").decode()}})
    await world.start()
    await world.create(world.provisioning())

    [report] = await eventually(world.finished)

    message = (
        "Secret gwsync/gwsync-ledger-key holds no key of 32 bytes or more under key; delete it and the "
        "operator creates a new one (each ledger is then ignored once, and signed anew by its next sync)"
    )
    assert (report["status"]["phase"], report["status"]["message"]) == ("Failed", message)
    condition = await eventually(lambda: world.condition_is("LedgerVerified", "False"))
    assert (condition["reason"], condition["message"]) == ("LedgerKeyUnavailable", message)
    assert world.scim.users() == []
