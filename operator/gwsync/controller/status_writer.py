"""The status of one GoogleProvisioning, written by a writer bound to it.

Every write is computed from a fresh read (kube/status.py), never from the body Kopf handed
over: the sync, the timer and the other handlers all write status. The blocking Kubernetes
client runs in a thread so the operator's loop stays free.
"""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gwsync.controller.conditions import set_conditions
from gwsync.kube.client import PROVISIONINGS, Kube
from gwsync.kube.status import StatusChange, merge_status, patch_status

Changes = Mapping[str, tuple[str, str, str]]  # condition type -> status, reason, message


@dataclass(frozen=True)
class StatusWriter:
    """Writes the status of the GoogleProvisioning `namespace`/`name`."""

    kube: Kube
    namespace: str
    name: str

    async def read(self) -> dict[str, Any]:
        """The object as the API server has it now."""
        return await asyncio.to_thread(self.kube.get, PROVISIONINGS, self.namespace, self.name)

    async def patch(self, change: StatusChange) -> dict[str, Any]:
        """Apply `change` (fresh status -> patch, or None for nothing); the object written."""
        return await asyncio.to_thread(
            patch_status, self.kube, PROVISIONINGS, self.namespace, self.name, change
        )

    async def merge(self, fields: Mapping[str, Any]) -> None:
        """Set fixed status fields."""
        await asyncio.to_thread(merge_status, self.kube, PROVISIONINGS, self.namespace, self.name, fields)

    async def conditions(
        self, status: dict[str, Any], changes: Changes, *, now: datetime, generation: int | None
    ) -> None:
        """Write conditions only when they say something new (no status churn on every tick).

        `status`: the status last read, whose conditions are updated to those written."""

        def news(conditions: list[dict[str, Any]]) -> bool:
            existing = {x["type"]: x for x in conditions}
            return any(
                (existing.get(t) or {}).get("status") != state
                or (existing.get(t) or {}).get("message") != message
                for t, (state, _reason, message) in changes.items()
            )

        if not news(status.get("conditions") or []):
            return

        def change(current: dict[str, Any]) -> dict[str, Any] | None:
            fresh = current.get("status") or {}
            if not news(fresh.get("conditions") or []):
                return None
            return {"conditions": set_conditions(fresh, changes, now=now, generation=generation)}

        written = await self.patch(change)
        status["conditions"] = (written.get("status") or {}).get("conditions") or []
