"""What gwsync reads back from a SCIM target: users, groups and list pages, checked as they are
read. The answer is untrusted: a value of the wrong type is a TargetError naming it (the read
fails cleanly), never a crash or a number posing as a name; what gwsync does not map is left
alone. Pure functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gwsync.api.attributes import ENTERPRISE_TARGETS, MANAGER, PHONE_TYPES, is_custom_target, phone_target
from gwsync.interning import Interner
from gwsync.sync.ports import TargetError, TargetGroup, TargetUser, UserAttributes, Value
from gwsync.targets.scim.discovery import ENTERPRISE
from gwsync.text import without_surrogates


def user_of(resource: Any, common: Interner | None = None) -> TargetUser:
    """Read back what gwsync maps; anything else on the user is left alone.

    A target's answer is checked as it is read: a value of the wrong type is a TargetError
    naming it (the read fails cleanly), never a crash or a number posing as a name. Values
    that repeat across users (titles, departments, the work email equal to the userName) are
    kept once in `common` (one per listing, `user_reader`): a listing of 100,000 users holds
    them all until the plan is made.
    """
    common = Interner(COMMON_LIMIT) if common is None else common
    resource = an_object(resource, "a User")
    name = an_object(resource.get("name"), "User.name")
    enterprise = an_object(resource.get(ENTERPRISE), "the User's enterprise extension")
    meta = an_object(resource.get("meta"), "User.meta")
    modified = text(meta.get("lastModified"), "User.meta.lastModified")
    uid = resource_id(resource, "User")  # checked in the order of the fields, as read
    user_name = text(resource.get("userName"), "User.userName") or ""
    external_id = text(resource.get("externalId"), "User.externalId")
    email = pick(resource.get("emails"), "work")
    return TargetUser(
        id=uid,
        modified=common(modified),
        attributes=UserAttributes(
            user_name=user_name,
            external_id=external_id,
            email=user_name if email == user_name else email,
            given_name=text(name.get("givenName"), "User.name.givenName"),
            family_name=text(name.get("familyName"), "User.name.familyName"),
            display_name=text(resource.get("displayName"), "User.displayName"),
            active=flag(resource.get("active"), "User.active"),
            title=common(text(resource.get("title"), "User.title")),
            department=common(text(enterprise.get("department"), "User.department")),
            user_type=common(text(resource.get("userType"), "User.userType")),
            photo=pick(resource.get("photos"), "photo"),
            extra=mapped_extras(resource, name, enterprise),
        ),
    )


COMMON_LIMIT = 4096
"""How many distinct values one listing shares (`Interner`); past it, values pass through."""


def user_reader() -> Callable[[Any], TargetUser]:
    """`user_of` for one listing of /Users: the values its users share (titles, departments,
    lastModified stamps) kept once, in an interner made for this listing and dropped with it."""
    common = Interner(COMMON_LIMIT)
    return lambda resource: user_of(resource, common)


CORE_EXTRAS = ("nickName", "profileUrl", "preferredLanguage", "locale", "timezone")
NAME_EXTRAS = ("middleName", "honorificPrefix", "honorificSuffix", "formatted")
NAME_EXTRA_TARGETS = tuple((key, f"name.{key}") for key in NAME_EXTRAS)
PHONE_TARGETS = tuple((kind, phone_target(kind)) for kind in PHONE_TYPES)


def scalar(value: Any) -> Value:
    """A mapped attribute as read back: text (a number as its digits) or a boolean; else None."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return value or None
    return str(value) if isinstance(value, int | float) else None


def mapped_extras(
    resource: dict[str, Any], name: dict[str, Any], enterprise: dict[str, Any]
) -> tuple[tuple[str, Value], ...]:
    """The attributes spec.attributes may map beyond USER_FIELDS, as the target holds them.

    Read leniently: whatever a target keeps in attributes gwsync does not map by default must not
    fail a read; a value of another shape reads as absent (and a mapping of it writes it again).
    Most users have none of them: each is looked up only where it may be.
    """
    found: list[tuple[str, Value]] = [
        (key, scalar(resource[key])) for key in CORE_EXTRAS if resource.get(key) is not None
    ]
    if name:
        found += [
            (target, scalar(name[key])) for key, target in NAME_EXTRA_TARGETS if name.get(key) is not None
        ]
    numbers = resource.get("phoneNumbers")
    if numbers and isinstance(numbers, list):
        entries = [n for n in numbers if isinstance(n, dict)]
        for kind, target in PHONE_TARGETS:
            entry = next((number for number in entries if number.get("type") == kind), {})
            found.append((target, scalar(entry.get("value"))))
    if enterprise:
        for key in ENTERPRISE_TARGETS:
            if key == MANAGER:
                manager = enterprise.get(MANAGER)
                found.append((MANAGER, scalar(manager.get("value")) if isinstance(manager, dict) else None))
            elif key != "department":
                found.append((key, scalar(enterprise.get(key))))
    for schema, values in resource.items():  # custom extensions: their single-valued attributes
        if isinstance(values, dict) and is_custom_target(schema):
            found += [(f"{schema}:{attribute}", scalar(value)) for attribute, value in values.items()]
    return tuple((field, value) for field, value in found if value is not None)


PICKED = {kind: (f"User.{attribute}", f"an entry of User.{attribute}", f"User.{attribute}.value")
          for kind, attribute in (("work", "emails"), ("photo", "photos"))}  # fmt: skip


def pick(values: Any, kind: str) -> str | None:
    """The primary value of a multi-valued attribute, else the first of `kind`, else the first."""
    if values is None or values == []:
        return None
    where, entry_where, value_where = PICKED[kind]
    if not isinstance(values, list):
        raise not_scim(where, values, "a list")
    entries = [an_object(value, entry_where) for value in values]
    if len(entries) == 1:
        return text(entries[0].get("value"), value_where)
    ranked = sorted(entries, key=lambda v: (v.get("primary") is not True, v.get("type") != kind))
    return text(ranked[0].get("value"), value_where)


def group_of(resource: Any) -> TargetGroup:
    resource = an_object(resource, "a Group")
    members = resource.get("members")
    if members is not None and not isinstance(members, list):
        raise not_scim("Group.members", members, "a list")
    ids = frozenset(
        value
        for member in members or []
        if (value := text(an_object(member, "a member of a Group").get("value"), "Group.members.value"))
    )
    display_name = text(resource.get("displayName"), "Group.displayName") or ""
    return TargetGroup(id=resource_id(resource, "Group"), display_name=display_name, members=ids)


# --- reading untrusted answers -----------------------------------------------------------------


def not_scim(where: str, value: Any, expected: str) -> TargetError:
    kind = "missing" if value is None else f"a {type(value).__name__}"
    return TargetError(f"The target's answer is not SCIM: {where} is {kind}, not {expected}.")


def an_object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise not_scim(where, value, "an object")
    return value


def text(value: Any, where: str) -> str | None:
    """A string attribute (None when absent or empty); a number is read as its digits.

    A lone surrogate (JSON `"\\ud800"`) is read as U+FFFD: it has no UTF-8 form, so kept as it
    is it would fail every report and ledger that holds the value."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return without_surrogates(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise not_scim(where, value, "a string")


def flag(value: Any, where: str) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise not_scim(where, value, "a boolean")


def resource_id(resource: dict[str, Any], kind: str) -> str:
    found = text(resource.get("id"), f"{kind}.id")
    if not found:
        raise not_scim(f"{kind}.id", None, "a string")
    return found


def resource_id_of(resource: dict[str, Any]) -> str:
    """A listed resource's id (checked present by `listed_resources`)."""
    return str(resource["id"])


def listed_resources(page: Any, endpoint: str) -> list[dict[str, Any]]:
    """The Resources of a list answer: objects that carry an id."""
    resources = an_object(page, f"the answer to {endpoint}").get("Resources") or []
    if not isinstance(resources, list):
        raise not_scim(f"Resources of {endpoint}", resources, "a list")
    listed = [an_object(r, f"an entry of {endpoint}") for r in resources]
    for entry in listed:
        resource_id(entry, endpoint.strip("/").rstrip("s") or "resource")
    return listed
