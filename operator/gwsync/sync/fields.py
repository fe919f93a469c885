"""What a user's fields should be, and which of them differ from the target's. Pure.

Only the mapped attributes are compared and written (spec.attributes, gwsync.sync.mapping);
fields the target does not store are never compared.
"""

from collections.abc import Callable
from functools import lru_cache
from operator import attrgetter, itemgetter

from gwsync.api.attributes import (
    DEFAULT_MAPPINGS,
    MANAGER,
    AttributeMapping,
)
from gwsync.api.report import FieldChange
from gwsync.directory import Person
from gwsync.sync.mapping import mapped_values
from gwsync.sync.ports import DEFAULT_SLOTS, USER_FIELDS, UserAttributes, Value
from gwsync.text import same_address

CASE_INSENSITIVE = frozenset({"userName", "emails"})


def photo_value(person: Person) -> str | None:
    """The photo URL with the etag as fragment, so a new photo is a changed value."""
    if not person.photo_url:
        return None
    return f"{person.photo_url}#etag={person.photo_etag}" if person.photo_etag else person.photo_url


def desired_attributes(
    person: Person, mappings: tuple[AttributeMapping, ...] = DEFAULT_MAPPINGS
) -> UserAttributes:
    """What gwsync writes for `person`: its identity, then each mapping (the manager apart)."""
    if mappings is DEFAULT_MAPPINGS:  # the default mapping, spelled out: this runs for every user
        return UserAttributes(
            user_name=person.primary_email,
            external_id=person.id,
            email=person.primary_email,
            given_name=person.given_name or None,
            family_name=person.family_name or None,
            display_name=person.display_name or None,
            active=not person.inactive,
            title=person.title or None,
            department=person.department or None,
            user_type=person.employee_type or None,
            photo=photo_value(person),
        )
    slots, extra = mapped_values(person, mappings)
    return UserAttributes(
        user_name=person.primary_email,
        external_id=person.id,
        active=not person.inactive,
        photo=photo_value(person),
        extra=extra,
        **slots,
    )


def shown(value: Value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def same(field_name: str, left: Value, right: Value) -> bool:
    if field_name in CASE_INSENSITIVE and isinstance(left, str) and isinstance(right, str):
        return same_address(left, right)
    return (left or None) == (right or None) if not isinstance(left, bool) else left == right


@lru_cache(maxsize=64)
def compared(fields: tuple[str, ...], unsupported: frozenset[str]) -> Callable[[UserAttributes], object]:
    """The values of the compared `fields` of a user, as one object (the manager apart).

    Two users whose values are equal differ in none of the fields (`same` holds for equal
    values), so the planner settles each unchanged user with one comparison; only a user
    whose values differ goes through `same`, field by field.
    """
    names = [name for name in fields if name != MANAGER and name not in unsupported]
    slots = [DEFAULT_SLOTS[name] for name in names if name in DEFAULT_SLOTS]
    extras = [name for name in names if name not in DEFAULT_SLOTS]
    read_slots = attrgetter(*slots, "active") if slots else attrgetter("active")  # a tuple either way
    if not extras:
        return read_slots

    def values(user: UserAttributes) -> object:
        held = dict(user.extra)
        return read_slots(user), [held.get(name) for name in extras]

    return values


DEFAULT_ORDER: tuple[str, ...] = tuple(DEFAULT_SLOTS[name] for name in USER_FIELDS)
"""The UserAttributes slots of the default mapping, in USER_FIELDS order."""
read_default = attrgetter(*DEFAULT_ORDER)


def default_values(person: Person) -> tuple[Value, ...]:
    """desired_attributes(person) with the default mapping, as the DEFAULT_ORDER values: the
    planner compares them with the target user's before it builds anything."""
    return (
        person.primary_email,
        person.primary_email,
        person.id,
        person.given_name or None,
        person.family_name or None,
        person.display_name or None,
        not person.inactive,
        person.title or None,
        person.department or None,
        person.employee_type or None,
        photo_value(person),
    )


@lru_cache(maxsize=64)
def default_compared(unsupported: frozenset[str]) -> Callable[[tuple[Value, ...]], object]:
    """The part of DEFAULT_ORDER values the planner compares: the fields the target stores."""
    kept = [i for i, name in enumerate(USER_FIELDS) if name not in unsupported]
    if len(kept) == len(USER_FIELDS):
        return lambda values: values
    return itemgetter(*kept, 0)  # userName twice makes it a tuple even when it is alone


def unchanged_by_default(person: Person, current: UserAttributes, unsupported: frozenset[str]) -> bool:
    """Whether the default mapping writes nothing to `current`: every compared value is equal
    (then changed_fields finds no change; when one differs, changed_fields decides)."""
    part = default_compared(unsupported)
    return part(default_values(person)) == part(read_default(current))


def value_of(user: UserAttributes, name: str, extras: dict[str, Value]) -> Value:
    """UserAttributes.value without building its table for every call."""
    slot = DEFAULT_SLOTS.get(name)
    return getattr(user, slot) if slot is not None else extras.get(name)


def changed_fields(
    desired: UserAttributes,
    current: UserAttributes,
    unsupported: frozenset[str] = frozenset(),
    fields: tuple[str, ...] = USER_FIELDS,
) -> list[FieldChange]:
    """The fields that differ; those the target does not store (`unsupported`) never do."""
    values = compared(fields, unsupported)
    if values(desired) == values(current):
        return []
    wanted, held = dict(desired.extra), dict(current.extra)
    return [
        FieldChange(field=name, from_=shown(now), to=shown(new))
        for name in fields
        if name != MANAGER
        and name not in unsupported
        and not same(name, new := value_of(desired, name, wanted), now := value_of(current, name, held))
    ]
