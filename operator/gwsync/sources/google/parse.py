"""Reading Google's answers: users, members and groups pages as people and members.

Whatever answers at apiEndpoint is read as untrusted: an answer of the wrong shape fails the
read with one sentence naming the first thing wrong (a half-understood page must never look
like people leaving), and text quoted from an answer into a message is bounded and printable,
since messages end up in conditions, Events and terminals.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, cast

from gwsync.api.attributes import BOOLEAN_SOURCES, LIST_SOURCES, custom_schema
from gwsync.directory import Person
from gwsync.interning import Interner
from gwsync.text import address_key
from gwsync.text import quoted as text_quoted

USER_FIELDS = (
    "nextPageToken,users(id,primaryEmail,name(givenName,familyName,fullName),suspended,archived,"
    "organizations(title,department,description,primary),thumbnailPhotoUrl,thumbnailPhotoEtag)"
)
MEMBER_FIELDS = "nextPageToken,members(id,email,type)"
GROUP_FIELDS = "nextPageToken,groups(email,name,directMembersCount)"
GROUP_ID_FIELDS = "id"
"""groups.get of a team's group: its id only (the team's externalId)."""

QUOTE_LIMIT = 300


class Malformed(ValueError):
    """Where an answer differs from the Directory API's resources, e.g. users[3].primaryEmail."""


@dataclass(frozen=True)
class Member:
    """One direct member of a group, as members.list returns it."""

    kind: str  # USER, GROUP, CUSTOMER (everyone in the organization) or EXTERNAL
    email: str = ""
    id: str = ""


def quoted(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`gwsync.text.quoted`, at most QUOTE_LIMIT characters unless asked."""
    return text_quoted(text, limit)


@dataclass(frozen=True)
class GroupInfo:
    """A Google group found by `search_groups`."""

    email: str
    name: str
    members: int


def kind_of(value: object) -> str:
    """What a JSON value is, for a message: "a string", "null", "a list"..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    kinds = {dict: "an object", list: "a list", str: "a string", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{where} is {kind_of(value)}, not an object")
    return value


def _list(page: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = page.get(key)
    if value is None:  # Google leaves the key out of an empty page
        return []
    if not isinstance(value, list):
        raise Malformed(f"{key} is {kind_of(value)}, not a list")
    return [_object(item, f"{key}[{index}]") for index, item in enumerate(value)]


def _text(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Malformed(f"{where}.{key} is {kind_of(value)}, not a string")
    return value


def _required(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(obj, key, where)
    if value is None:
        raise Malformed(f"{where}.{key} is missing")
    return value


def _flag(obj: Mapping[str, Any], key: str, where: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Malformed(f"{where}.{key} is {kind_of(value)}, not true or false")
    return value


def _page_token(page: Mapping[str, Any]) -> str | None:
    return _text(page, "nextPageToken", "the page")


def mapped_user_fields(paths: Collection[str]) -> str:
    """The users.list `fields` selector for the default attributes plus the mapped source paths."""
    lists: dict[str, set[str]] = {}
    scalars: list[str] = []
    for path in paths:
        head = re.split(r"[.\[]", path, maxsplit=1)[0]
        if head in LIST_SOURCES:
            lists.setdefault(head, {"type", "customType", "primary"}).add(path.rsplit(".", 1)[1])
        elif head == "customSchemas":
            scalars.append("customSchemas")
        elif head not in ("id", "primaryEmail", "name"):
            scalars.append(head)
    organizations = {"title", "department", "description", "primary"} | lists.pop("organizations", set())
    parts = [
        "id",
        "primaryEmail",
        "name(givenName,familyName,fullName)",
        "suspended",
        "archived",
        f"organizations({','.join(sorted(organizations))})",
        "thumbnailPhotoUrl",
        "thumbnailPhotoEtag",
        *(f"{name}({','.join(sorted(keys))})" for name, keys in sorted(lists.items())),
        *sorted(set(scalars)),
    ]
    return f"nextPageToken,users({','.join(parts)})"


_LIST_PATH = re.compile(r"^([A-Za-z]+)(?:\[type=([^\]=]+)\])?\.([A-Za-z]+)$")


def source_value(user: Mapping[str, Any], path: str, where: str) -> str | bool | None:
    """The value of one mapped source path in a Directory API user resource; Malformed if mistyped.

    A list field without `[type=...]` reads the primary entry, else the first; with it, the first
    entry of that type (a custom type is matched by its customType). A custom schema field with
    several values gives the first.
    """
    schema = custom_schema(path)
    if schema is not None:
        schemas = _object(user.get("customSchemas") or {}, f"{where}.customSchemas")
        values = _object(schemas.get(schema) or {}, f"{where}.customSchemas.{schema}")
        value = values.get(path.rsplit(".", 1)[1])
        if isinstance(value, list):
            value = value[0] if value else None
            value = value.get("value") if isinstance(value, dict) else value
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, str):
            raise Malformed(f"{where}.customSchemas.{schema} holds {kind_of(value)} for {path}")
        return value or None
    listed = _LIST_PATH.match(path)
    if listed is not None and listed.group(1) in LIST_SOURCES:
        name, kind, key = listed.groups()
        entries = user.get(name) or []
        if not isinstance(entries, list):
            raise Malformed(f"{where}.{name} is {kind_of(entries)}, not a list")
        objects = [_object(entry, f"{where}.{name}[{index}]") for index, entry in enumerate(entries)]
        if kind is not None:
            chosen = [
                o
                for o in objects
                if o.get("type") == kind or (o.get("type") == "custom" and o.get("customType") == kind)
            ]
        else:
            chosen = sorted(objects, key=lambda o: o.get("primary") is not True)
        return _text(chosen[0], key, f"{where}.{name}") if chosen else None
    if path in BOOLEAN_SOURCES:
        return _flag(user, path, where)
    if path.startswith("name."):
        return _text(_object(user.get("name") or {}, f"{where}.name"), path[5:], f"{where}.name")
    return _text(user, path, where)


NO_EXTRA: Mapping[str, str | bool] = MappingProxyType({})
"""The `extra` of a person read without mapped fields, one for all (a dict each is 64 bytes)."""
SHARED_VALUES = 20_000
"""How many distinct values a read shares (Common); past it, values are kept as they come."""


class Common(Interner):
    """The values of one Google read, each kept once (`gwsync.interning`); the reader makes
    one per read and drops it after."""

    __slots__ = ()

    def __init__(self, limit: int = SHARED_VALUES) -> None:
        super().__init__(limit)


def _plain_text(value: object) -> str | bool | None:
    """`_text` of a value of the usual shape; False when it is not (the careful path says why)."""
    if value is None or value == "":
        return None
    return value if type(value) is str else False


def plain_person(user: Mapping[str, Any], common: Common) -> Person | None:
    """A user resource of the usual shape as a Person, the quick way; None when anything in
    it is not what Google sends (to_person then reads it field by field and names the fault)."""
    uid, email = user.get("id"), user.get("primaryEmail")
    name = user.get("name") or {}
    organizations = user.get("organizations") or []
    suspended, archived = user.get("suspended", False), user.get("archived", False)
    if (
        type(uid) is not str
        or not uid
        or type(email) is not str
        or not email
        or type(name) is not dict
        or type(organizations) is not list
        or type(suspended if suspended is not None else False) is not bool
        or type(archived if archived is not None else False) is not bool
    ):
        return None
    if any(type(entry) is not dict for entry in organizations):
        return None
    organization: Mapping[str, Any] = {}
    for entry in organizations:
        primary = entry.get("primary")
        if primary is not None and type(primary) is not bool:
            return None
        if primary:
            organization = entry
            break
    else:
        if organizations:
            organization = organizations[0]
    texts = (
        _plain_text(name.get("givenName")),
        _plain_text(name.get("familyName")),
        _plain_text(name.get("fullName")),
        _plain_text(organization.get("title")),
        _plain_text(organization.get("department")),
        _plain_text(organization.get("description")),
        _plain_text(user.get("thumbnailPhotoUrl")),
        _plain_text(user.get("thumbnailPhotoEtag")),
    )
    if False in texts:
        return None
    given, family, full, title, department, kind, photo_url, photo_etag = cast(tuple[str | None, ...], texts)
    return Person(
        id=uid,
        primary_email=email,
        given_name=common(given) or "",
        family_name=common(family) or "",
        full_name=full or "",
        suspended=bool(suspended),
        archived=bool(archived),
        title=common(title),
        department=common(department),
        employee_type=common(kind),
        photo_url=photo_url,
        photo_etag=common(photo_etag),
        extra=NO_EXTRA,
    )


def to_person(
    user: Mapping[str, Any],
    where: str = "the user",
    fields: Collection[str] = (),
    common: Common | None = None,
) -> Person:
    """A Directory API user resource as the source-neutral Person; Malformed if it is not one."""
    if not fields:
        quick = plain_person(user, common or Common())
        if quick is not None:
            return quick
    name = _object(user.get("name") or {}, f"{where}.name")
    organizations = user.get("organizations") or []
    if not isinstance(organizations, list):
        raise Malformed(f"{where}.organizations is {kind_of(organizations)}, not a list")
    orgs = [_object(o, f"{where}.organizations[{index}]") for index, o in enumerate(organizations)]
    index, organization = next(
        ((i, o) for i, o in enumerate(orgs) if _flag(o, "primary", f"{where}.organizations[{i}]")),
        (0, orgs[0]) if orgs else (0, {}),
    )
    at = f"{where}.organizations[{index}]"
    return Person(
        id=_required(user, "id", where),
        primary_email=_required(user, "primaryEmail", where),
        given_name=_text(name, "givenName", f"{where}.name") or "",
        family_name=_text(name, "familyName", f"{where}.name") or "",
        full_name=_text(name, "fullName", f"{where}.name") or "",
        suspended=_flag(user, "suspended", where),
        archived=_flag(user, "archived", where),
        title=_text(organization, "title", at),
        department=_text(organization, "department", at),
        employee_type=_text(organization, "description", at),
        photo_url=_text(user, "thumbnailPhotoUrl", where),
        photo_etag=_text(user, "thumbnailPhotoEtag", where),
        extra={path: value for path in fields if (value := source_value(user, path, where)) is not None},
    )


def users_page(
    page: Mapping[str, Any], fields: Collection[str] = (), common: Common | None = None
) -> tuple[list[Person], str | None]:
    """A users.list page: its people (with the mapped `fields`) and the next page's token.

    `common` shares repeated values between the people of every page of one read."""
    common = common or Common()
    users = [
        to_person(user, f"users[{index}]", fields, common) for index, user in enumerate(_list(page, "users"))
    ]
    return users, _page_token(page)


def members_page(page: Mapping[str, Any]) -> tuple[list[Member], str | None]:
    """A members.list page: its direct members and the next page's token."""
    members = []
    for index, member in enumerate(_list(page, "members")):
        where = f"members[{index}]"
        kind = _required(member, "type", where)
        email = _required(member, "email", where) if kind == "GROUP" else _text(member, "email", where) or ""
        members.append(Member(kind, email, _text(member, "id", where) or ""))
    return members, _page_token(page)


def groups_page(page: Mapping[str, Any]) -> tuple[list[GroupInfo], str | None]:
    """A groups.list page: each group's email, name and direct member count."""
    groups = []
    for index, group in enumerate(_list(page, "groups")):
        where = f"groups[{index}]"
        count = group.get("directMembersCount", 0)
        if isinstance(count, str) and count.isascii() and count.isdigit():  # int64 travels as a JSON string
            count = int(count)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise Malformed(f"{where}.directMembersCount is {kind_of(count)}, not a count")
        email = address_key(_required(group, "email", where))
        groups.append(GroupInfo(email, _text(group, "name", where) or "", count))
    return groups, _page_token(page)


def group_id_of(answer: Mapping[str, Any]) -> str:
    """groups.get: the group's id (Google's immutable one, which the team carries as externalId)."""
    return _required(answer, "id", "the group")


def customer_of(answer: Mapping[str, Any]) -> tuple[str, str]:
    """customers.get: the customer id and the primary domain."""
    return _required(answer, "id", "the customer"), _text(answer, "customerDomain", "the customer") or ""


def exception_text(exc: BaseException) -> str:
    """An error's own text, fit for a message (its class name when it has none)."""
    return quoted(str(exc)) or type(exc).__name__
