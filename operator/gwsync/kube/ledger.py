"""The ledger (DESIGN §3 rule 3) in ConfigMaps owned by the GoogleProvisioning.

The ledger is what makes a removal safe: it says which target users gwsync manages. It is
rewritten after every apply, so a crash in the middle of a write must never leave a reader
with half of the old ledger and half of the new one. Each save therefore writes a new
*generation* of chunks (``<provisioning>-ledger-<generation>-<part>``), and only once all of
them exist deletes the older ones. A reader takes the newest generation whose parts are all
present and whose gzip stream checks out; an incomplete newer one (a crash mid-save) is
ignored and cleaned by the next save. The ledger's content is opaque bytes here (the sync
engine owns its format).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, Final

from gwsync.api import constants
from gwsync.kube import blobs
from gwsync.kube import labels as provisioning_labels
from gwsync.kube.client import CONFIG_MAPS, Kube

STORE_LABEL: Final = "gwsync.io/store"
LEDGER_STORE: Final = "ledger"


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


def _part(config_map: Mapping[str, Any]) -> int | None:
    value = ((config_map.get("metadata") or {}).get("labels") or {}).get(constants.PART_LABEL)
    return int(value) if value is not None and value.isdigit() else None


class LedgerStore:
    """Saves and loads one GoogleProvisioning's ledger; safe to share between threads."""

    def __init__(self, kube: Kube, owner: blobs.Owner, namespace: str) -> None:
        self.kube = kube
        self.owner = owner
        self.namespace = namespace
        self._lock = threading.Lock()
        self._generation: int | None = None  # highest generation seen, complete or not
        self._stored: set[str] = set()  # every ledger ConfigMap known to exist

    @property
    def provisioning(self) -> str:
        return self.owner.name

    def load(self) -> bytes | None:
        """The newest complete ledger, or None when none was ever saved."""
        with self._lock:
            generations = self._scan()
            for generation in sorted(generations, reverse=True):
                data = self._assemble(generations[generation])
                if data is not None:
                    return data
            return None

    def save(self, data: bytes) -> list[str]:
        """Store a new ledger; returns its ConfigMap names (for status.ledger.configMaps)."""
        with self._lock:
            if self._generation is None:
                self._scan()
            generation = (self._generation or 0) + 1
            chunks = list(blobs.gzip_chunks([data]))
            names = [chunk_name(self.provisioning, generation, index) for index in range(len(chunks))]
            for index, (name, chunk) in enumerate(zip(names, chunks, strict=True)):
                blobs.put_chunk(self.kube, self._body(name, chunk, generation, index, len(chunks)))
            # Only now is the new generation complete: the old one can go.
            blobs.delete_config_maps(self.kube, self.namespace, sorted(self._stored - set(names)))
            self._generation = generation
            self._stored = set(names)
            return names

    def delete(self) -> int:
        """Remove every ledger ConfigMap (the garbage collector does it when the owner goes)."""
        with self._lock:
            self._scan()
            deleted = blobs.delete_config_maps(self.kube, self.namespace, sorted(self._stored))
            self._stored = set()
            return deleted

    def _body(self, name: str, chunk: bytes, generation: int, index: int, parts: int) -> dict[str, Any]:
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
