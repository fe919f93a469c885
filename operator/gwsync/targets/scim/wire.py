"""What gwsync sends: a SCIM User built from the mapped attributes (DESIGN §3 rule 2), PATCH
operations and their PUT twin (`put_user_fields`), member changes, filter literals, all bent
to what the provider declared (`fit_user`, `fit_operation`: no undeclared attribute or
sub-attribute, name.formatted when required). Pure functions: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from gwsync.api.attributes import (
    ENTERPRISE_TARGETS,
    MANAGER,
    PHONE_TYPES,
    is_custom_target,
    phone_target,
    split_custom,
)
from gwsync.sync.ports import UserAttributes, Value
from gwsync.targets.scim.discovery import ENTERPRISE, GROUP_SCHEMA, SCHEMA_FIELDS, USER_SCHEMA, Capabilities

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

# Our field names (gwsync.sync.ports.USER_FIELDS) as SCIM PATCH paths.
PATCH_PATHS = {
    "userName": "userName",
    "emails": "emails",
    "externalId": "externalId",
    "name.givenName": "name.givenName",
    "name.familyName": "name.familyName",
    "displayName": "displayName",
    "active": "active",
    "title": "title",
    "department": f"{ENTERPRISE}:department",
    "userType": "userType",
    "photos": "photos",
}


def filter_string(value: str) -> str:
    """A SCIM filter string literal (RFC 7644 §3.4.2.2: JSON string syntax)."""
    return json.dumps(value)


def fit_user(resource: dict[str, Any], user: UserAttributes, capabilities: Capabilities) -> dict[str, Any]:
    """A whole User made to fit the provider, in place: no unsupported field, only declared
    sub-attributes of emails and photos, name.formatted when required."""
    for name in capabilities.unsupported_fields & set(SCHEMA_FIELDS):
        resource.pop(name, None)
    if "department" in capabilities.unsupported_fields and ENTERPRISE in resource:
        del resource[ENTERPRISE]
        resource["schemas"] = [s for s in resource.get("schemas") or [USER_SCHEMA] if s != ENTERPRISE]
    for name, declared in capabilities.schema.sub_attributes.items():
        if isinstance(resource.get(name), list):
            resource[name] = only(resource[name], declared)
    if capabilities.schema.formatted_name and formatted_name(user):
        resource["name"] = {**(resource.get("name") or {}), "formatted": formatted_name(user)}
    return resource


def fit_operation(operation: dict[str, Any], capabilities: Capabilities) -> dict[str, Any]:
    """A PATCH operation with only the sub-attributes the provider declares."""
    declared = capabilities.schema.sub_attributes.get(operation["path"])
    if declared is None or not isinstance(operation.get("value"), list):
        return operation
    return {**operation, "value": only(operation["value"], declared)}


def only(values: list[Any], declared: frozenset[str]) -> list[Any]:
    """Each entry with only the `declared` sub-attributes."""
    return [
        {k: v for k, v in entry.items() if k in declared} if isinstance(entry, dict) else entry
        for entry in values
    ]


def formatted_name(user: UserAttributes) -> str:
    return " ".join(part for part in (user.given_name, user.family_name) if part) or user.user_name


def chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- the attribute mapping (DESIGN §3 rule 2) ------------------------------------------------


def user_resource(user: UserAttributes) -> dict[str, Any]:
    """The SCIM User (with the enterprise extension when there is a department)."""
    resource: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": user.user_name, "active": user.active}
    if user.external_id:
        resource["externalId"] = user.external_id
    name = {k: v for k, v in (("givenName", user.given_name), ("familyName", user.family_name)) if v}
    if name:
        resource["name"] = name
    for key, value in (
        ("displayName", user.display_name),
        ("title", user.title),
        ("userType", user.user_type),
    ):
        if value:
            resource[key] = value
    if user.email:
        resource["emails"] = work_email(user.email)
    if user.photo:
        resource["photos"] = photo(user.photo)
    if user.department:
        resource["schemas"] = [USER_SCHEMA, ENTERPRISE]
        resource[ENTERPRISE] = {"department": user.department}
    put_user_fields(resource, user, [field for field, value in user.extra if value is not None])
    return resource


def work_email(value: str) -> list[dict[str, Any]]:
    return [{"value": value, "type": "work", "primary": True}]


def photo(value: str) -> list[dict[str, Any]]:
    return [{"value": value, "type": "photo"}]


PHONE_FIELDS = {phone_target(kind): kind for kind in PHONE_TYPES}


def phone_numbers(user: UserAttributes) -> list[dict[str, Any]] | None:
    """Every mapped phone number: gwsync owns the list once a phone number is mapped."""
    numbers = [
        {"value": value, "type": PHONE_FIELDS[field]}
        for field, value in user.extra
        if field in PHONE_FIELDS and isinstance(value, str)
    ]
    return numbers or None


def extension_of(field: str) -> tuple[str, str] | None:
    """(schema URN, attribute) of a mapped attribute in an extension, else None (core)."""
    if field in ENTERPRISE_TARGETS:
        return ENTERPRISE, field
    if is_custom_target(field):
        return split_custom(field)
    return None


def wire_value(field: str, value: Value) -> Any:
    """A mapped value as SCIM carries it (the manager is a reference to the user's id)."""
    if value is None:
        return None
    if field == MANAGER:
        return {"value": value}
    return value


def patch_path(field: str) -> str:
    if field in PATCH_PATHS:
        return PATCH_PATHS[field]
    if field in PHONE_FIELDS:
        return "phoneNumbers"
    extension = extension_of(field)
    return f"{extension[0]}:{extension[1]}" if extension else field


def user_operation(field: str, user: UserAttributes) -> dict[str, Any]:
    """One PATCH operation writing `field`; a missing value removes the attribute."""
    value = user.value(field)
    path = patch_path(field)
    if field in PHONE_FIELDS:
        numbers = phone_numbers(user)
        if not numbers:
            return {"op": "remove", "path": path}
        return {"op": "replace", "path": path, "value": numbers}
    if value is None:
        return {"op": "remove", "path": path}
    if field == "emails":
        return {"op": "replace", "path": path, "value": work_email(str(value))}
    if field == "photos":
        return {"op": "replace", "path": path, "value": photo(str(value))}
    return {"op": "replace", "path": path, "value": wire_value(field, value)}


def put_user_fields(resource: dict[str, Any], user: UserAttributes, fields: Iterable[str]) -> None:
    """Write `fields` of `user` into a whole SCIM User read from the target, in place.

    The PUT twin of `user_operation`: the same values, and everything else on the resource
    (other name parts, other enterprise attributes, nickName, phoneNumbers...) untouched.
    """
    for field in fields:
        value = user.value(field)
        extension = extension_of(field)
        if field.startswith("name."):
            name = dict(resource.get("name") or {})
            put(name, field.split(".", 1)[1], value)
            if name:
                resource["name"] = name
            else:
                resource.pop("name", None)
        elif field == "department" or extension is not None:
            schema, attribute = extension or (ENTERPRISE, "department")
            extension_values = dict(resource.get(schema) or {})
            put(extension_values, attribute, wire_value(field, value))
            schemas = [s for s in resource.get("schemas") or [USER_SCHEMA] if s != schema]
            if extension_values:
                resource[schema] = extension_values
                schemas.append(schema)
            else:
                resource.pop(schema, None)
            resource["schemas"] = schemas
        elif field == "emails":
            put(resource, "emails", work_email(str(value)) if value is not None else None)
        elif field == "photos":
            put(resource, "photos", photo(str(value)) if value is not None else None)
        elif field in PHONE_FIELDS:
            put(resource, "phoneNumbers", phone_numbers(user))
        else:
            put(resource, patch_path(field), value)


def put(mapping: dict[str, Any], key: str, value: Any) -> None:
    """Set `key`, or remove it when the value is None."""
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


def group_resource(display_name: str, external_id: str | None = None) -> dict[str, Any]:
    """A new, empty SCIM Group; with the team's Google group id as externalId when given."""
    resource: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "displayName": display_name, "members": []}
    if external_id is not None:
        resource["externalId"] = external_id
    return resource


def group_external_id_operation(external_id: str, capabilities: Capabilities) -> dict[str, Any]:
    """The PATCH operation setting a group's externalId: `replace` with its path (RFC 7644
    §3.5.2.3); on AWS, an `add` of the attribute without a path (§3.5.2.1: an add to a
    single-valued attribute replaces it). AWS documents PatchGroup as taking externalId and
    refuses a `replace` of all members; the `add` is taken by AWS and its emulator
    (gwsync.testing.aws_scim) alike."""
    if capabilities.profile == "aws-identity-center":
        return {"op": "add", "value": {"externalId": external_id}}
    return {"op": "replace", "path": "externalId", "value": external_id}


def group_display_name_operation(display_name: str, capabilities: Capabilities) -> dict[str, Any]:
    """The PATCH operation renaming a group: `replace` with its path (RFC 7644 §3.5.2.3); on
    AWS, a `replace` of a value object without a path, as AWS's PatchGroup page shows it."""
    if capabilities.profile == "aws-identity-center":
        return {"op": "replace", "value": {"displayName": display_name}}
    return {"op": "replace", "path": "displayName", "value": display_name}


def change_members(group: dict[str, Any], add: Iterable[str], remove: Iterable[str]) -> bool:
    """Apply member additions and removals to a whole SCIM Group, in place; False if no change.

    Members keep their value and type; `$ref` and `display` are the server's to derive.
    """
    removed = set(remove)
    before = [m for m in group.get("members") or [] if m.get("value")]
    kept = [
        {key: member[key] for key in ("value", "type") if key in member}
        for member in before
        if str(member["value"]) not in removed
    ]
    present = {str(member["value"]) for member in kept}
    added = [uid for uid in dict.fromkeys(add) if uid not in present]
    if not added and len(kept) == len(before):
        return False
    group["members"] = kept + [{"value": uid} for uid in added]
    return True
