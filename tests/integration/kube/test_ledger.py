"""The ledger in ConfigMaps owned by the GoogleProvisioning: round trips and safe replacement."""

from __future__ import annotations

import os
from typing import Any

import pytest

from gwsync.kube import blobs, client
from gwsync.kube.client import Kube
from gwsync.kube.ledger import LedgerConflict, LedgerStore
from gwsync.testing.kube import CONFIGMAPS, PROVISIONINGS, KubeEmulator, KubeFault


def ledger_maps(emulator: KubeEmulator) -> dict[str, dict[str, Any]]:
    found = emulator.list_objects(CONFIGMAPS, "default", labels="gwsync.io/store=ledger")
    return {cm["metadata"]["name"]: cm for cm in found}


def store(kube: Kube, acme: dict[str, Any]) -> LedgerStore:
    return LedgerStore(kube, blobs.Owner.of(acme), "default")


def test_no_ledger_loads_as_none(kube: Kube, acme: dict[str, Any]) -> None:
    assert store(kube, acme).load() is None


def test_a_saved_ledger_loads_back_in_a_new_process(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    ledger = '{"users": {"104857600000000000001": "2819c223"}, "teams": {"Ingénierie": "e9e30dba"}}'.encode()

    names = store(kube, acme).save(ledger)

    assert names == ["acme-ledger-1-0"]
    assert store(kube, acme).load() == ledger
    (owner,) = ledger_maps(emulator)["acme-ledger-1-0"]["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "GoogleProvisioning",
        "acme",
        acme["metadata"]["uid"],
    )


def test_shrinking_from_three_chunks_to_one_leaves_no_stale_chunk(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    ledger = store(kube, acme)
    big = os.urandom(blobs.RAW_CHUNK_BYTES * 2 + 1000)  # incompressible: three chunks

    first = ledger.save(big)
    assert first == ["acme-ledger-1-0", "acme-ledger-1-1", "acme-ledger-1-2"]
    assert all(
        blobs.serialized_size(cm) < blobs.MAX_CONFIG_MAP_BYTES for cm in ledger_maps(emulator).values()
    )
    assert store(kube, acme).load() == big

    second = ledger.save(b"small")

    assert second == ["acme-ledger-2-0"]
    assert set(ledger_maps(emulator)) == {"acme-ledger-2-0"}
    assert store(kube, acme).load() == b"small"


def test_a_save_from_a_new_process_continues_the_generations(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    store(kube, acme).save(b"one")
    assert store(kube, acme).save(b"two") == ["acme-ledger-2-0"]
    assert set(ledger_maps(emulator)) == {"acme-ledger-2-0"}


def test_an_incomplete_newer_generation_is_ignored_and_cleaned(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    ledger = store(kube, acme)
    ledger.save(b"complete")
    # A crash during the next save: part 0 of 2 written, part 1 never.
    half = next(iter(blobs.gzip_chunks([os.urandom(100)], size=60)))
    emulator.seed(
        CONFIGMAPS,
        blobs.chunk_body(
            "default",
            "acme-ledger-2-0",
            half,
            owner=blobs.Owner.of(acme),
            labels={"gwsync.io/provisioning": "acme", "gwsync.io/store": "ledger", "gwsync.io/part": "0"},
            annotations={"gwsync.io/generation": "2", "gwsync.io/parts": "2"},
        ),
    )

    restarted = store(kube, acme)
    assert restarted.load() == b"complete"
    assert restarted.save(b"next") == ["acme-ledger-3-0"]
    assert set(ledger_maps(emulator)) == {"acme-ledger-3-0"}


def test_ledgers_of_two_provisionings_stay_apart(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    globex = emulator.seed(PROVISIONINGS, {**acme, "metadata": {"name": "globex", "namespace": "default"}})
    store(kube, acme).save(b"acme")
    store(kube, globex).save(b"globex")
    store(kube, acme).save(b"acme 2")

    assert store(kube, globex).load() == b"globex"
    assert store(kube, acme).load() == b"acme 2"


def test_deleting_the_provisioning_takes_its_ledger_with_it(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    store(kube, acme).save(os.urandom(blobs.RAW_CHUNK_BYTES + 10))

    kube.delete(client.PROVISIONINGS, "default", "acme")

    assert ledger_maps(emulator) == {}


def test_a_save_over_a_generation_another_sync_saved_is_refused(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    store(kube, acme).save(b"generation 1")
    first, second = store(kube, acme), store(kube, acme)  # two syncs, both read generation 1
    assert first.load() == second.load() == b"generation 1"

    assert first.save(b"first's") == ["acme-ledger-2-0"]
    with pytest.raises(LedgerConflict) as refused:
        second.save(b"second's")

    assert str(refused.value) == (
        "The ledger of GoogleProvisioning default/acme was saved by another sync (generation 2) while "
        "this one ran; this sync's ledger is not saved, and the next sync reads the newer one"
    )
    assert store(kube, acme).load() == b"first's"
    assert first.save(b"first's again") == ["acme-ledger-3-0"]  # its own generations go on


def test_a_retried_create_of_its_own_chunk_is_not_a_conflict(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    # A create the API server applied but answered 500 to: the retry finds the chunk, its own.
    emulator.faults.append(KubeFault("POST", CONFIGMAPS))
    ledger = store(kube, acme)
    assert ledger.save(b"once") == ["acme-ledger-1-0"]
    assert store(kube, acme).load() == b"once"
