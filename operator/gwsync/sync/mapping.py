"""spec.attributes applied to people: the values gwsync writes, and their managers (pure, no I/O).

The Google side of a mapping is a source path (gwsync.api.attributes): the ones every Person
carries natively are read from its fields, the others from `Person.extra`, which the source
fills for the paths `source_fields` names.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from gwsync.api.attributes import (
    ENTERPRISE_TARGETS,
    ENTERPRISE_URN,
    MANAGER,
    AttributeMapping,
    Attributes,
    Transform,
    effective_mappings,
    is_custom_target,
    split_custom,
)
from gwsync.directory import Directory, Person
from gwsync.sync.ports import DEFAULT_SLOTS, USER_FIELDS, Value
from gwsync.text import address_key

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


@dataclass(frozen=True)
class ManagerRef:
    """A user's manager (spec.attributes maps `manager`): whom Google names, and who that is."""

    email: str  # as Google holds it
    source_id: str | None = None  # the manager's Google id, when the manager is provisioned
    target_id: str | None = None  # the manager's target id, when it exists before this sync
    note: str = ""  # why the manager is left empty, for the item's details


def resolve_managers(
    mapping: AttributeMapping,
    chosen: dict[str, Person],
    directory: Directory,
    target_ids: dict[str, str | None],
) -> dict[str, ManagerRef]:
    """Each chosen person's manager: its Google id and target id when it is provisioned.

    `target_ids`: Google id -> target id of every person provisioned by this sync (None: created
    in it). A manager Google names who is not provisioned (another organization, not in the
    chosen groups, suspended) is left empty, with a note.
    """
    by_email = {address_key(person.primary_email): gid for gid, person in directory.people.items()}
    managers: dict[str, ManagerRef] = {}
    for gid, person in chosen.items():
        email = mapped_value(person, mapping)
        if not isinstance(email, str):
            continue
        manager = by_email.get(address_key(email))
        if manager is None or manager not in target_ids:
            note = f"Manager {email} is not provisioned by this GoogleProvisioning; manager left empty."
            managers[gid] = ManagerRef(email, note=note)
        else:
            managers[gid] = ManagerRef(email, manager, target_ids[manager])
    return managers


def supported_mappings(
    mappings: tuple[AttributeMapping, ...], extensions: Mapping[str, frozenset[str]] | None
) -> tuple[tuple[AttributeMapping, ...], list[str]]:
    """The mappings whose extension the target declares, and a sentence per schema it does not.

    `extensions` (Target.user_extensions): None when the target cannot say, then all are kept.
    The enterprise department stays with the target's own handling (unsupported_fields).
    """
    if extensions is None:
        return mappings, []
    dropped: dict[str, list[str]] = {}
    kept: list[AttributeMapping] = []
    for mapping in mappings:
        target = mapping.target
        if target in ENTERPRISE_TARGETS and target != "department" and ENTERPRISE_URN not in extensions:
            dropped.setdefault(f"the enterprise extension ({ENTERPRISE_URN})", []).append(target)
        elif is_custom_target(target) and (schema_attribute := split_custom(target))[0] not in extensions:
            dropped.setdefault(f"the extension schema {schema_attribute[0]}", []).append(target)
        elif (
            is_custom_target(target)
            and extensions[split_custom(target)[0]]
            and (split_custom(target)[1].casefold() not in extensions[split_custom(target)[0]])
        ):
            dropped.setdefault(f"the attribute {target} in its /Schemas", []).append(target)
        else:
            kept.append(mapping)
    if not dropped:
        return mappings, []  # the very tuple: the default mapping keeps its fast path
    notes = [
        f"The target does not declare {what} for Users; gwsync does not send "
        f"{', '.join(targets)} (spec.attributes)."
        for what, targets in dropped.items()
    ]
    return tuple(kept), notes
