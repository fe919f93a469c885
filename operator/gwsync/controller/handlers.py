"""Kopf handlers of GoogleProvisioning, kept thin: each computes a status patch with pure code.

For now the operator only acknowledges an object: it records the generation it has seen and
says, through ``Ready=Unknown/AwaitingFirstSync``, that no sync has run yet. Syncing, the
schedule and exclusivity hang off the same registration function in later steps.
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import kopf

from gwsync.api import constants as c
from gwsync.controller.conditions import (
    conditions_from_status,
    conditions_to_wire,
    make_condition,
    merge_condition,
)

Clock = Callable[[], datetime]


def acknowledgement(*, generation: int | None, status: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The status patch saying this generation was seen and no sync has completed yet."""
    ready = make_condition(
        c.READY,
        "Unknown",
        c.AWAITING_FIRST_SYNC,
        "The configuration was accepted; no sync has completed yet.",
        now=now,
        generation=generation,
    )
    conditions = merge_condition(conditions_from_status(status), ready)
    return {"observedGeneration": generation, "conditions": conditions_to_wire(conditions)}


def register_provisioning_handlers(registry: kopf.OperatorRegistry, *, clock: Clock) -> None:
    """Register the GoogleProvisioning handlers on ``registry``, reading time from ``clock``."""
    resource = (c.GROUP, c.VERSION, c.PROVISIONING_PLURAL)

    @kopf.on.resume(*resource, id="acknowledge", registry=registry)
    @kopf.on.create(*resource, id="acknowledge", registry=registry)
    @kopf.on.update(*resource, id="acknowledge", registry=registry)
    def acknowledge(meta: kopf.Meta, status: kopf.Status, patch: kopf.Patch, **_: Any) -> None:
        generation = meta.get("generation")
        patch.status.update(acknowledgement(generation=generation, status=status, now=clock()))
