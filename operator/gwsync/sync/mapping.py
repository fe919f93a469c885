"""spec.attributes applied to one person: the values gwsync writes (pure, no I/O).

The Google side of a mapping is a source path (gwsync.api.attributes): the ones every Person
carries natively are read from its fields, the others from `Person.extra`, which the source
fills for the paths `source_fields` names.
"""

from collections.abc import Callable, Iterable
from typing import Any, Final

from gwsync.api.attributes import (
    MANAGER,
    AttributeMapping,
    Attributes,
    Transform,
    effective_mappings,
)
from gwsync.directory import Person
from gwsync.sync.ports import DEFAULT_SLOTS, USER_FIELDS, Value

FIXED_FIELDS: Final = ("userName", "externalId", "active", "photos")

PERSON_SOURCES: Final[dict[str, Callable[[Person], str | None]]] = {
    "id": lambda p: p.id,
    "primaryEmail": lambda p: p.primary_email,
    "name.givenName": lambda p: p.given_name or None,
    "name.familyName": lambda p: p.family_name or None,
    "name.fullName": lambda p: p.display_name or None,
    "organizations.title": lambda p: p.title,
    "organizations.department": lambda p: p.department,
    "organizations.description": lambda p: p.employee_type,
}
"""Source paths every Person carries (the default mapping's); the reader needs no more for them."""


def source_fields(attributes: Attributes | None) -> frozenset[str]:
    """The source paths the mapping reads beyond what every Person carries."""
    return frozenset(
        mapping.source
        for mapping in effective_mappings(attributes)
        if mapping.source is not None and mapping.source not in PERSON_SOURCES
    )


def mapped_fields(mappings: Iterable[AttributeMapping]) -> tuple[str, ...]:
    """The fields compared and written, in report order: USER_FIELDS first, then the added ones."""
    targets = [mapping.target for mapping in mappings]
    first = [name for name in USER_FIELDS if name in FIXED_FIELDS or name in targets]
    return (*first, *(name for name in targets if name not in USER_FIELDS))


def transformed(value: str, transforms: Iterable[Transform]) -> str:
    for transform in transforms:
        if transform is Transform.LOWERCASE:
            value = value.lower()
        elif transform is Transform.LOCAL_PART:
            value = value.partition("@")[0]
    return value


def mapped_value(person: Person, mapping: AttributeMapping) -> Value:
    """The value a mapping gives this person (None: the attribute is absent)."""
    if mapping.constant is not None:
        value: Value = mapping.constant
    elif mapping.source in PERSON_SOURCES:
        value = PERSON_SOURCES[mapping.source](person)
    else:
        value = person.extra.get(mapping.source or "")
    if isinstance(value, str):
        value = transformed(value, mapping.transforms) or None
    return value


def mapped_values(
    person: Person, mappings: Iterable[AttributeMapping]
) -> tuple[dict[str, Any], tuple[tuple[str, Value], ...]]:
    """Every mapped value but the manager's (see plan): UserAttributes slots, and the extras."""
    slots: dict[str, Any] = {}
    extra: list[tuple[str, Value]] = []
    for mapping in mappings:
        if mapping.target == MANAGER:
            continue
        value = mapped_value(person, mapping)
        if mapping.target in DEFAULT_SLOTS:
            slots[DEFAULT_SLOTS[mapping.target]] = value
        else:
            extra.append((mapping.target, value))
    return slots, tuple(extra)
