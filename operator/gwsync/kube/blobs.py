"""Large byte streams kept in the cluster as gzip-compressed chunks of ConfigMaps.

etcd refuses objects over about 1.5 MiB and the API server's request limit is 3 MiB, but
ConfigMaps are documented as 1 MiB at most; each chunk is kept under 900 KiB *serialized*
(base64 inflates binaryData by 4/3, and metadata adds a little) so a 100,000-user item store
or ledger fits in a handful of objects. The gzip stream is split, not each chunk compressed,
so the ratio stays that of one stream and readers can decompress chunk after chunk without
holding the whole blob.

Chunks are owned (ownerReferences) by the object they belong to, so the garbage collector
removes them with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from gwsync.api import constants
from gwsync.kube.client import CONFIG_MAPS, Kube, KubeApiError, KubeConflict

T = TypeVar("T")

MAX_CONFIG_MAP_BYTES: Final = 900 * 1024
# base64 characters per chunk: the rest of the 900 KiB is left for metadata (names, labels,
# annotations, ownerReferences, and the managedFields the API server adds).
ENCODED_CHUNK_BYTES: Final = 880 * 1024
RAW_CHUNK_BYTES: Final = ENCODED_CHUNK_BYTES // 4 * 3
PAYLOAD_KEY: Final = "data.gz"
GZIP_WBITS: Final = 31  # zlib's window bits for the gzip container (header + CRC32 trailer)

BLOB_ANNOTATION: Final = "gwsync.io/blob"
GENERATION_ANNOTATION: Final = "gwsync.io/generation"
PARTS_ANNOTATION: Final = "gwsync.io/parts"
MAX_NAME_LENGTH: Final = 253
# Writes that may pass (5xx, 429, the API server unreachable) are tried this many times.
WRITE_ATTEMPTS: Final = 4
RETRY_DELAY_SECONDS: Final = 0.2


class BlobCorrupt(Exception):
    """Stored chunks do not reassemble into a valid gzip stream."""


@dataclass(frozen=True)
class Owner:
    """The object a ConfigMap belongs to, as an ownerReference names it."""

    api_version: str
    kind: str
    name: str
    uid: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Owner:
        meta = obj.get("metadata") or {}
        kind, name, uid = obj.get("kind", "?"), meta.get("name", "?"), meta.get("uid")
        if not uid:
            raise ValueError(
                f"{kind} {meta.get('namespace', '?')}/{name} has no metadata.uid: "
                "pass the object as read from the API server"
            )
        return cls(api_version=str(obj.get("apiVersion", "")), kind=str(kind), name=str(name), uid=str(uid))

    def reference(self) -> dict[str, Any]:
        """The ownerReference: the garbage collector deletes the dependent with its owner.

        No ``blockOwnerDeletion``: on clusters with the OwnerReferencesPermissionEnforcement
        admission plugin (OpenShift) setting it needs ``update`` on the owner's ``finalizers``
        subresource, a right the operator has no other use for; it only makes a foreground
        deletion of the owner wait for its reports and ConfigMaps, which nobody needs.
        """
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
        }


def fit_name(prefix: str, suffix: str) -> str:
    """``prefix + suffix`` as a valid object name (253 characters), suffix kept whole.

    A prefix too long to fit is cut and followed by a hash of it, so that two long prefixes
    sharing their first characters (two GoogleProvisionings' ledgers) never share names.
    """
    if len(prefix) + len(suffix) <= MAX_NAME_LENGTH:
        return prefix + suffix
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:10]
    room = MAX_NAME_LENGTH - len(suffix) - len(digest) - 1
    return f"{prefix[:room].rstrip('-.')}-{digest}{suffix}"


def gzip_chunks(pieces: Iterable[bytes], size: int = RAW_CHUNK_BYTES) -> Iterator[bytes]:
    """Compress a stream of byte pieces into one gzip stream, cut into chunks of ``size``."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, GZIP_WBITS)
    pending = bytearray()
    for piece in pieces:
        pending += compressor.compress(piece)
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    pending += compressor.flush()
    while pending:
        yield bytes(pending[:size])
        del pending[:size]


def gunzip_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress the chunks of one gzip stream as they come; the CRC is checked at the end."""
    decompressor = zlib.decompressobj(GZIP_WBITS)
    try:
        for chunk in chunks:
            out = decompressor.decompress(chunk)
            if out:
                yield out
        tail = decompressor.flush()
        if tail:
            yield tail
    except zlib.error as exc:
        raise BlobCorrupt(f"stored data is not valid gzip ({exc})") from None
    if not decompressor.eof:
        raise BlobCorrupt("stored data ends before its gzip stream does (a chunk is missing)")


def serialized_size(obj: Mapping[str, Any]) -> int:
    """Bytes of an object as JSON on the wire, which is what the API server's limits count."""
    return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())


def chunk_body(
    namespace: str,
    name: str,
    payload: bytes,
    *,
    owner: Owner,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
) -> dict[str, Any]:
    """The ConfigMap holding one chunk (binaryData, base64 on the wire)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(labels),
            "annotations": dict(annotations),
            "ownerReferences": [owner.reference()],
        },
        "binaryData": {PAYLOAD_KEY: base64.b64encode(payload).decode("ascii")},
    }


def transient(exc: KubeApiError) -> bool:
    """Whether the API server may well accept the same request again shortly."""
    return exc.status in {0, 429} or exc.status >= 500


def retried(write: Callable[[], T], attempts: int = WRITE_ATTEMPTS) -> T:
    """``write()``, again after a short pause while the API server's answers are transient."""
    for attempt in range(1, attempts):
        try:
            return write()
        except KubeApiError as exc:
            if not transient(exc):
                raise
            time.sleep(RETRY_DELAY_SECONDS * attempt)
    return write()


def put_chunk(kube: Kube, body: Mapping[str, Any]) -> dict[str, Any]:
    """Create a chunk ConfigMap; one left by an interrupted earlier attempt is overwritten."""
    meta = body["metadata"]
    size = serialized_size(body)
    if size >= MAX_CONFIG_MAP_BYTES:  # a bug in the chunk sizes above, never user input
        raise ValueError(f"ConfigMap {meta['name']} would be {size} bytes, over {MAX_CONFIG_MAP_BYTES}")

    def write() -> dict[str, Any]:
        try:
            return kube.create(CONFIG_MAPS, meta["namespace"], body)
        except KubeConflict:
            return kube.patch(CONFIG_MAPS, meta["namespace"], meta["name"], body)

    return retried(write)


def payload_of(config_map: Mapping[str, Any]) -> bytes:
    """The chunk bytes of a ConfigMap written by ``chunk_body``."""
    encoded = (config_map.get("binaryData") or {}).get(PAYLOAD_KEY)
    if encoded is None:
        name = (config_map.get("metadata") or {}).get("name", "?")
        raise BlobCorrupt(f"ConfigMap {name} has no binaryData key {PAYLOAD_KEY}")
    return base64.b64decode(encoded)


def read_chunks(kube: Kube, namespace: str, names: Iterable[str]) -> Iterator[bytes]:
    """The chunk bytes of named ConfigMaps, in order, one request (and one chunk in memory) at a time."""
    for name in names:
        yield payload_of(kube.get(CONFIG_MAPS, namespace, name))


def delete_config_maps(kube: Kube, namespace: str, names: Iterable[str]) -> int:
    """Delete ConfigMaps by name, ignoring ones already gone; returns how many were deleted."""
    return sum(kube.delete(CONFIG_MAPS, namespace, name) for name in names)


def part_labels(base: Mapping[str, str], index: int) -> dict[str, str]:
    return {**base, constants.PART_LABEL: str(index)}
