"""Each ledger generation is signed, and the signing key is made once (issue 23, point 1).

A signature binds the ledger's bytes to its GoogleProvisioning's uid and its generation: an
edit, a copy to another GoogleProvisioning or a renumbered generation does not verify.
"""

from __future__ import annotations

import base64
import gzip
from typing import Any

import pytest

from gwsync.kube import blobs
from gwsync.kube.client import Kube
from gwsync.kube.ledger import SIGNATURE_ANNOTATION, LedgerStore
from gwsync.kube.ledger_key import LedgerKeyUnavailable, ensure_ledger_key
from gwsync.sync.ledger import Verdict
from gwsync.testing.kube import CONFIGMAPS, PROVISIONINGS, SECRETS, KubeEmulator

from .conftest import ACME

KEY = bytes(range(32))
LEDGER = b'{"teams":{},"users":{"104857600000000000001":"2819c223"},"version":1}'


def signed(kube: Kube, owner: dict[str, Any], key: bytes = KEY) -> LedgerStore:
    return LedgerStore(kube, blobs.Owner.of(owner), "default", key=key)


def chunk(emulator: KubeEmulator, name: str) -> dict[str, Any]:
    found = emulator.read(CONFIGMAPS, "default", name)
    assert found is not None
    return found


def test_a_saved_generation_verifies_with_the_key_and_no_other(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    [name] = signed(kube, acme).save(LEDGER)

    stored = signed(kube, acme).read()
    assert stored is not None
    assert (stored.data, stored.generation, stored.config_maps, stored.verdict) == (
        LEDGER,
        1,
        (name,),
        Verdict.SIGNED,
    )
    assert chunk(emulator, name)["metadata"]["annotations"][SIGNATURE_ANNOTATION].startswith("hmac-sha256:")
    other = signed(kube, acme, bytes(32)).read()
    assert other is not None and other.verdict is Verdict.MISMATCH


def test_an_edited_ledger_does_not_verify(kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]) -> None:
    [name] = signed(kube, acme).save(LEDGER)
    config_map = chunk(emulator, name)
    edited = LEDGER.replace(b"2819c223", b"break-glass")
    config_map["binaryData"][blobs.PAYLOAD_KEY] = base64.b64encode(gzip.compress(edited)).decode()
    kube.patch(blobs.CONFIG_MAPS, "default", name, {"binaryData": config_map["binaryData"]})

    stored = signed(kube, acme).read()

    assert stored is not None and (stored.data, stored.verdict) == (edited, Verdict.MISMATCH)


def test_a_ledger_copied_to_another_provisioning_or_renumbered_does_not_verify(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    [name] = signed(kube, acme).save(LEDGER)
    annotations = chunk(emulator, name)["metadata"]["annotations"]
    rival = emulator.seed(PROVISIONINGS, {**ACME, "metadata": {"name": "rival", "namespace": "default"}})
    # The same bytes in the rival's ledger, with acme's signature copied onto them.
    [copy] = signed(kube, rival, key=b"\0" * 32).save(LEDGER)
    copied_signature = {SIGNATURE_ANNOTATION: annotations[SIGNATURE_ANNOTATION]}
    kube.patch(blobs.CONFIG_MAPS, "default", copy, {"metadata": {"annotations": copied_signature}})
    renumbered = {blobs.GENERATION_ANNOTATION: "5"}
    kube.patch(blobs.CONFIG_MAPS, "default", name, {"metadata": {"annotations": renumbered}})

    copied, moved = signed(kube, rival).read(), signed(kube, acme).read()

    assert copied is not None and copied.verdict is Verdict.MISMATCH
    assert moved is not None and (moved.generation, moved.verdict) == (5, Verdict.MISMATCH)


def test_a_ledger_saved_without_a_key_reads_as_unsigned(kube: Kube, acme: dict[str, Any]) -> None:
    LedgerStore(kube, blobs.Owner.of(acme), "default").save(LEDGER)  # as gwsync did before signing

    stored = signed(kube, acme).read()

    assert stored is not None and stored.verdict is Verdict.UNSIGNED


def test_the_key_is_created_once_and_then_read(kube: Kube, emulator: KubeEmulator) -> None:
    first = ensure_ledger_key(kube, "gwsync")

    assert len(first) == 32 and ensure_ledger_key(kube, "gwsync") == first
    secret = emulator.read(SECRETS, "gwsync", "gwsync-ledger-key")
    assert secret is not None and base64.b64decode(secret["data"]["key"]) == first
    assert "gwsync.io/credentials" not in secret["metadata"]["labels"]  # no spec may name it


def test_a_key_too_short_is_named_without_its_value(kube: Kube, emulator: KubeEmulator) -> None:
    metadata = {"name": "gwsync-ledger-key", "namespace": "gwsync"}
    emulator.seed(SECRETS, {"metadata": metadata, "data": {"key": base64.b64encode(b"short").decode()}})

    with pytest.raises(LedgerKeyUnavailable) as refused:
        ensure_ledger_key(kube, "gwsync")

    assert str(refused.value) == (
        "Secret gwsync/gwsync-ledger-key holds no key of 32 bytes or more under key; delete it and the "
        "operator creates a new one (each ledger is then ignored once, and signed anew by its next sync)"
    )


def test_an_older_generation_put_back_reads_as_rolled_back_and_saves_number_above_the_status(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    [first] = signed(kube, acme).save(LEDGER)
    kept = chunk(emulator, first)  # what a tenant with ConfigMap rights copies aside
    [second] = signed(kube, acme).save(LEDGER.replace(b"2819c223", b"7d1e0a55"))
    kube.delete(blobs.CONFIG_MAPS, "default", second)  # and later puts the copy back in its place
    metadata = {key: kept["metadata"][key] for key in ("name", "namespace", "labels", "annotations")}
    emulator.seed(CONFIGMAPS, {"metadata": metadata, "binaryData": kept["binaryData"]})

    store = LedgerStore(kube, blobs.Owner.of(acme), "default", key=KEY, floor=2)
    put_back = store.read()

    assert put_back is not None
    assert (put_back.data, put_back.generation, put_back.verdict) == (LEDGER, 1, Verdict.ROLLED_BACK)
    at_floor = LedgerStore(kube, blobs.Owner.of(acme), "default", key=KEY, floor=1).read()
    assert at_floor is not None and at_floor.verdict is Verdict.SIGNED
    [third] = store.save(LEDGER)
    assert (store.saved_generation, third) == (3, blobs.fit_name("acme", "-ledger-3-0"))
    newest = LedgerStore(kube, blobs.Owner.of(acme), "default", key=KEY, floor=3).read()
    assert newest is not None and (newest.generation, newest.verdict) == (3, Verdict.SIGNED)
