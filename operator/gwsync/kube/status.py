"""Status writes through the status subresource, safe against concurrent writers.

Kopf handlers, the sync thread and a second replica during a hand-over may all write the
status of one object. Each write here is computed from a fresh read and sent with that read's
resourceVersion as a precondition; on 409 Conflict the object is read again and the change
recomputed, so no writer silently overwrites another's update.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from gwsync.kube.client import Kube, KubeConflict, Resource

MAX_ATTEMPTS: Final = 8

# Given the object as just read, the status fields to merge (None or {} = nothing to write).
StatusChange = Callable[[dict[str, Any]], Mapping[str, Any] | None]


class StatusConflict(Exception):
    """The status kept changing under us: every attempt met a newer resourceVersion."""


def patch_status(
    kube: Kube,
    resource: Resource,
    namespace: str,
    name: str,
    change: StatusChange,
    *,
    attempts: int = MAX_ATTEMPTS,
) -> dict[str, Any]:
    """Merge ``change(fresh object)`` into ``.status``; returns the object as written (or as read)."""
    for _ in range(attempts):
        current = kube.get(resource, namespace, name)
        status = change(current)
        if not status:
            return current
        body: dict[str, Any] = {"status": dict(status)}
        version = (current.get("metadata") or {}).get("resourceVersion")
        if version:
            body["metadata"] = {"resourceVersion": version}
        try:
            return kube.patch_status(resource, namespace, name, body)
        except KubeConflict:
            continue
    raise StatusConflict(
        f"{resource.kind} {namespace}/{name}: the status changed {attempts} times while being "
        "updated; another writer is busy with it, the update will be retried"
    )


def merge_status(
    kube: Kube, resource: Resource, namespace: str, name: str, status: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge fixed status fields (no read-modify-write logic needed) with conflict retries."""
    return patch_status(kube, resource, namespace, name, lambda _current: status)
