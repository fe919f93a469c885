"""Chunked gzip blobs: any bytes survive the split, and no chunk can outgrow a ConfigMap."""

from __future__ import annotations

import os
import random

import pytest

from gwsync.kube import blobs

OWNER = blobs.Owner(api_version="provisioning.gwsync.io/v1alpha1", kind="SyncReport", name="r", uid="u-1")


@pytest.mark.parametrize("size", [0, 1, 1000, blobs.RAW_CHUNK_BYTES, blobs.RAW_CHUNK_BYTES * 2 + 7])
def test_random_bytes_round_trip_through_chunks(size: int) -> None:
    data = os.urandom(size)
    chunks = list(blobs.gzip_chunks([data]))
    assert all(len(chunk) <= blobs.RAW_CHUNK_BYTES for chunk in chunks)
    assert b"".join(blobs.gunzip_chunks(chunks)) == data


def test_a_stream_of_pieces_is_split_at_the_chunk_size() -> None:
    rng = random.Random(3)
    pieces = [rng.randbytes(rng.randrange(1, 5000)) for _ in range(400)]
    chunks = list(blobs.gzip_chunks(pieces, size=4096))
    assert [len(chunk) for chunk in chunks[:-1]] == [4096] * (len(chunks) - 1)
    assert b"".join(blobs.gunzip_chunks(chunks)) == b"".join(pieces)


def test_a_missing_last_chunk_is_detected() -> None:
    chunks = list(blobs.gzip_chunks([os.urandom(10_000)], size=4096))
    with pytest.raises(blobs.BlobCorrupt) as error:
        b"".join(blobs.gunzip_chunks(chunks[:-1]))
    assert str(error.value) == "stored data ends before its gzip stream does (a chunk is missing)"


def test_chunks_out_of_order_are_detected() -> None:
    chunks = list(blobs.gzip_chunks([os.urandom(10_000)], size=4096))
    with pytest.raises(blobs.BlobCorrupt):
        b"".join(blobs.gunzip_chunks([chunks[1], chunks[0], *chunks[2:]]))


def test_a_full_chunk_with_the_longest_names_stays_under_900_kib() -> None:
    name = blobs.fit_name("p" * 253, "-items-99")
    labels = {"gwsync.io/provisioning": "p" * 63, "gwsync.io/report": "r" * 63, "gwsync.io/part": "99"}
    body = blobs.chunk_body(
        "n" * 63,
        name,
        os.urandom(blobs.RAW_CHUNK_BYTES),
        owner=blobs.Owner(
            api_version="provisioning.gwsync.io/v1alpha1", kind="SyncReport", name=name, uid="u" * 36
        ),
        labels=labels,
        annotations={blobs.BLOB_ANNOTATION: name, blobs.GENERATION_ANNOTATION: "12345"},
    )
    # Room is left for what the API server adds (uid, timestamps, resourceVersion, managedFields).
    assert blobs.serialized_size(body) < blobs.MAX_CONFIG_MAP_BYTES - 16 * 1024
    assert len(blobs.payload_of(body)) == blobs.RAW_CHUNK_BYTES


def test_names_are_trimmed_to_253_characters_keeping_the_suffix() -> None:
    name = blobs.fit_name("a" * 250 + "-b", "-ledger-3-0")
    assert len(name) == 253 and name.endswith("-ledger-3-0")
    assert blobs.fit_name("acme", "-items-0") == "acme-items-0"


def test_two_long_names_sharing_their_start_never_share_a_trimmed_name() -> None:
    first, second = (
        blobs.fit_name("a" * 250 + "-b", "-ledger-3-0"),
        blobs.fit_name("a" * 250 + "-c", "-ledger-3-0"),
    )
    assert first != second and len(second) == 253


def test_an_owner_needs_a_uid() -> None:
    with pytest.raises(ValueError) as error:
        blobs.Owner.of({"kind": "GoogleProvisioning", "metadata": {"name": "acme", "namespace": "default"}})
    assert str(error.value) == (
        "GoogleProvisioning default/acme has no metadata.uid: pass the object as read from the API server"
    )


def test_owner_references_need_no_right_on_the_owners_finalizers() -> None:
    # OwnerReferencesPermissionEnforcement (OpenShift) lets only a client that may update the
    # owner's finalizers subresource set blockOwnerDeletion; manifests/rbac.yaml grants no such right.
    owner = blobs.Owner(api_version="provisioning.gwsync.io/v1alpha1", kind="SyncReport", name="r", uid="u")
    reference = owner.reference()
    assert "blockOwnerDeletion" not in reference
    assert reference == {
        "apiVersion": "provisioning.gwsync.io/v1alpha1",
        "kind": "SyncReport",
        "name": "r",
        "uid": "u",
        "controller": True,
    }
