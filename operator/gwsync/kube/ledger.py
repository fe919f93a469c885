"""The ledger (DESIGN §3 rule 3) in ConfigMaps owned by the GoogleProvisioning.

The ledger is what makes a removal safe: it says which target users gwsync manages. It is
rewritten after every apply, so a crash in the middle of a write must never leave a reader
with half of the old ledger and half of the new one. Each save therefore writes a new
*generation* of chunks (``<provisioning>-ledger-<generation>-<part>``), and only once all of
them exist deletes the older ones. A reader takes the newest generation whose parts are all
present and whose gzip stream checks out; an incomplete newer one (a crash mid-save) is
ignored and cleaned by the next save. The ledger's content is opaque bytes here (the sync
engine owns its format).

A save is conditional on the generation the store last loaded or saved: when another writer
saved a newer one meanwhile (two syncs of one object, which the controller's sync lock
prevents), or creates the same generation's chunks first, ``LedgerConflict`` is raised
rather than either ledger silently replacing the other.

Every generation is signed (issue 23): whoever may write ConfigMaps in the namespace could
otherwise make the ledger say that gwsync manages any target user. The signature
(``gwsync.io/ledger-signature`` on each chunk) is an HMAC of the GoogleProvisioning's uid, the
generation and the ledger's bytes, with the operator's key (kube/ledger_key.py), so a ledger
can be neither edited, nor copied to another GoogleProvisioning, nor renumbered. ``read`` says
whether the newest generation verifies; the controller ignores one that does not.

A signature cannot tell an older generation put back (deleting the newer ConfigMaps) from the
newest: both are the operator's. The GoogleProvisioning's status, which tenants may not write,
records the newest generation saved (``status.ledger.generation``); the store takes it as its
``floor``, calls a signed generation below it ``ROLLED_BACK``, and numbers every save above it.
"""

from __future__ import annotations

import secrets
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from gwsync.api import constants
from gwsync.kube import blobs
from gwsync.kube import labels as provisioning_labels
from gwsync.kube.client import CONFIG_MAPS, Kube, KubeConflict
from gwsync.sync.ledger import Verdict, check, sign

STORE_LABEL: Final = "gwsync.io/store"
LEDGER_STORE: Final = "ledger"
WRITER_ANNOTATION: Final = "gwsync.io/writer"
SIGNATURE_ANNOTATION: Final = "gwsync.io/ledger-signature"


@dataclass(frozen=True)
class StoredLedger:
    """The newest complete generation of a ledger, as read, and what its signature says."""

    data: bytes
    generation: int
    config_maps: tuple[str, ...]
    verdict: Verdict


class LedgerConflict(Exception):
    """Another writer saved this GoogleProvisioning's ledger since this store read it."""


def ledger_labels(provisioning: str) -> dict[str, str]:
    return {**provisioning_labels.provisioning_labels(provisioning), STORE_LABEL: LEDGER_STORE}


def chunk_name(provisioning: str, generation: int, index: int) -> str:
    return blobs.fit_name(provisioning, f"-ledger-{generation}-{index}")


def _int_annotation(config_map: Mapping[str, Any], key: str) -> int | None:
    value = ((config_map.get("metadata") or {}).get("annotations") or {}).get(key)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _annotation(config_map: Mapping[str, Any], key: str) -> str | None:
    value = ((config_map.get("metadata") or {}).get("annotations") or {}).get(key)
    return None if value is None else str(value)


def _part(config_map: Mapping[str, Any]) -> int | None:
    value = ((config_map.get("metadata") or {}).get("labels") or {}).get(constants.PART_LABEL)
    return int(value) if value is not None and value.isdigit() else None


class LedgerStore:
    """Saves and loads one GoogleProvisioning's ledger; safe to share between threads."""

    def __init__(
        self, kube: Kube, owner: blobs.Owner, namespace: str, key: bytes | None = None, floor: int = 0
    ) -> None:
        """`key`: the operator's signing key; without one, generations are saved unsigned (tests
        of the storage alone) and none verifies. `floor`: the newest generation the owner's
        status records as saved; an older one read is rolled back, and saves number above it."""
        self.kube = kube
        self.owner = owner
        self.namespace = namespace
        self.key = key
        self.floor = floor
        self.saved_generation: int | None = None  # the newest generation this store saved
        self._lock = threading.Lock()
        self._generation: int | None = None  # highest generation seen, complete or not
        self._stored: set[str] = set()  # every ledger ConfigMap known to exist
        self._writer = secrets.token_hex(8)  # marks this store's chunks apart from others'

    @property
    def provisioning(self) -> str:
        return self.owner.name

    def load(self) -> bytes | None:
        """The newest complete ledger, verified or not, or None when none was ever saved."""
        stored = self.read()
        return stored.data if stored is not None else None

    def read(self) -> StoredLedger | None:
        """The newest complete ledger and its verdict, or None when none was ever saved."""
        with self._lock:
            generations = self._scan()
            for generation in sorted(generations, reverse=True):
                config_maps = generations[generation]
                data = self._assemble(config_maps)
                if data is not None:
                    names = tuple(sorted(cm["metadata"]["name"] for cm in config_maps))
                    verdict = self._verdict(config_maps, generation, data)
                    if verdict is Verdict.SIGNED and generation < self.floor:
                        verdict = Verdict.ROLLED_BACK
                    return StoredLedger(data, generation, names, verdict)
            return None

    def _verdict(self, config_maps: list[dict[str, Any]], generation: int, data: bytes) -> Verdict:
        signatures = {_annotation(cm, SIGNATURE_ANNOTATION) for cm in config_maps}
        if signatures == {None}:
            return Verdict.UNSIGNED
        if len(signatures) > 1 or self.key is None:  # chunks that disagree were not saved together
            return Verdict.MISMATCH
        return check(self.key, self.owner.uid, generation, data, signatures.pop())

    def save(self, data: bytes) -> list[str]:
        """Store a new ledger; returns its ConfigMap names (for status.ledger.configMaps)."""
        with self._lock:
            known = self._generation
            newer = self._foreign_generations(self._scan(), known)
            if newer:
                raise self._conflict(newer[0])
            generation = max(self._generation or 0, self.floor) + 1
            chunks = list(blobs.gzip_chunks([data]))
            names = [chunk_name(self.provisioning, generation, index) for index in range(len(chunks))]
            signature = sign(self.key, self.owner.uid, generation, data) if self.key is not None else None
            for index, (name, chunk) in enumerate(zip(names, chunks, strict=True)):
                body = self._body(name, chunk, generation, index, len(chunks), signature)
                self._create_chunk(body, generation)
            # Only now is the new generation complete: the old one can go.
            blobs.delete_config_maps(self.kube, self.namespace, sorted(self._stored - set(names)))
            self._generation = self.saved_generation = generation
            self._stored = set(names)
            return names

    def _foreign_generations(
        self, generations: Mapping[int, list[dict[str, Any]]], known: int | None
    ) -> list[int]:
        """Generations above ``known`` that another writer made (none when nothing was read yet)."""
        if known is None:
            return []
        return sorted(
            generation
            for generation, config_maps in generations.items()
            if generation > known
            and any(_annotation(cm, WRITER_ANNOTATION) not in (None, self._writer) for cm in config_maps)
        )

    def _create_chunk(self, body: dict[str, Any], generation: int) -> None:
        meta = body["metadata"]
        try:
            blobs.retried(lambda: self.kube.create(CONFIG_MAPS, self.namespace, body))
        except KubeConflict:
            existing = self.kube.get(CONFIG_MAPS, self.namespace, meta["name"])
            if _annotation(existing, WRITER_ANNOTATION) != self._writer:
                raise self._conflict(generation) from None
            self.kube.patch(CONFIG_MAPS, self.namespace, meta["name"], body)  # my own earlier attempt

    def _conflict(self, generation: int) -> LedgerConflict:
        return LedgerConflict(
            f"The ledger of GoogleProvisioning {self.namespace}/{self.provisioning} was saved by another "
            f"sync (generation {generation}) while this one ran; this sync's ledger is not saved, and the "
            "next sync reads the newer one"
        )

    def delete(self) -> int:
        """Remove every ledger ConfigMap (the garbage collector does it when the owner goes)."""
        with self._lock:
            self._scan()
            deleted = blobs.delete_config_maps(self.kube, self.namespace, sorted(self._stored))
            self._stored = set()
            return deleted

    def _body(
        self, name: str, chunk: bytes, generation: int, index: int, parts: int, signature: str | None
    ) -> dict[str, Any]:
        return blobs.chunk_body(
            self.namespace,
            name,
            chunk,
            owner=self.owner,
            labels=blobs.part_labels(ledger_labels(self.provisioning), index),
            annotations={
                blobs.BLOB_ANNOTATION: f"{self.provisioning}-ledger",
                blobs.GENERATION_ANNOTATION: str(generation),
                blobs.PARTS_ANNOTATION: str(parts),
                WRITER_ANNOTATION: self._writer,
                **({SIGNATURE_ANNOTATION: signature} if signature is not None else {}),
                **provisioning_labels.provisioning_annotations(self.provisioning),
            },
        )

    def _scan(self) -> dict[int, list[dict[str, Any]]]:
        """List the ledger ConfigMaps (one consistent read), grouped by generation."""
        listed = self.kube.list(CONFIG_MAPS, self.namespace, ledger_labels(self.provisioning))
        found = [obj for obj in listed if provisioning_labels.belongs_to(obj, self.provisioning)]
        generations: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for config_map in found:
            generation = _int_annotation(config_map, blobs.GENERATION_ANNOTATION)
            if generation is not None:
                generations[generation].append(config_map)
        self._stored = {config_map["metadata"]["name"] for config_map in found}
        self._generation = max(generations, default=self._generation or 0)
        return generations

    def _assemble(self, config_maps: list[dict[str, Any]]) -> bytes | None:
        """The ledger from one generation's chunks, or None when it is incomplete or corrupt."""
        parts = _int_annotation(config_maps[0], blobs.PARTS_ANNOTATION)
        by_index = {_part(config_map): config_map for config_map in config_maps}
        if parts is None or set(by_index) != set(range(parts)):
            return None
        try:
            chunks = (blobs.payload_of(by_index[index]) for index in range(parts))
            return b"".join(blobs.gunzip_chunks(chunks))
        except (blobs.BlobCorrupt, ValueError):
            return None
