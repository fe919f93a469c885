"""Conditions as the Kubernetes API conventions define them.

A condition's ``lastTransitionTime`` records when its *status* last changed, so that
``kubectl describe`` and alerting can say "Ready has been False for 3 days". Rewriting a
condition with the same status (a new message, a new generation) must therefore keep the
old time; only a status change moves it.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from gwsync.api.common import Condition

ConditionStatus = Literal["True", "False", "Unknown"]


def make_condition(
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    *,
    now: datetime,
    generation: int | None,
) -> Condition:
    """A condition observed now, for the given metadata.generation."""
    return Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=now,
        observed_generation=generation,
    )


def find_condition(conditions: Iterable[Condition], type_: str) -> Condition | None:
    """The condition of a type, if it is set."""
    return next((condition for condition in conditions if condition.type == type_), None)


def merge_condition(conditions: Sequence[Condition], new: Condition) -> list[Condition]:
    """Set ``new`` in place of the same type; the transition time moves only with the status."""
    old = find_condition(conditions, new.type)
    if old is not None and old.status == new.status:
        new = new.model_copy(update={"last_transition_time": old.last_transition_time})
    merged = [new if condition.type == new.type else condition for condition in conditions]
    return merged if old is not None else [*merged, new]


def conditions_from_status(status: Any) -> list[Condition]:
    """The conditions stored in an object's status (a mapping as Kopf or the API hands it)."""
    raw = (status or {}).get("conditions") or []
    return [Condition.model_validate(item) for item in raw]


def conditions_to_wire(conditions: Iterable[Condition]) -> list[dict[str, Any]]:
    """The conditions as stored in the cluster (camelCase, RFC 3339 times)."""
    return [condition.to_wire() for condition in conditions]


def set_conditions(
    status: Mapping[str, Any],
    changes: Mapping[str, tuple[str, str, str]],
    *,
    now: datetime,
    generation: int | None,
) -> list[dict[str, Any]]:
    """The status' conditions with `changes` (type -> status, reason, message) merged in."""
    conditions = conditions_from_status(status)
    for type_, (state, reason, message) in changes.items():
        new = make_condition(type_, state, reason, message, now=now, generation=generation)  # type: ignore[arg-type]
        conditions = merge_condition(conditions, new)
    return conditions_to_wire(conditions)
