"""An emulator of the AWS IAM Identity Center SCIM endpoint (aiohttp), for tests and benchmarks.

AWS's SCIM implementation is a strict subset of RFC 7644, and the tools people use to sync
Google into it (ssosync, idp-scim-sync) mostly fight its limits. This emulator follows what
AWS publishes, so gwsync is held to the same limits:

- "IAM Identity Center SCIM Implementation Developer Guide", pages ListUsers and ListGroups
  (https://docs.aws.amazon.com/singlesignon/latest/developerguide/listusers.html,
  .../listgroups.html): no ``startIndex`` (ignored here, as a client that relies on it gets
  the first page again); ``count`` 1-100 (default 100; anything else is a 400); cursor paging
  with ``cursor`` (empty for the first page) answered with ``itemsPerPage`` and
  ``nextCursor`` while more pages exist; without ``cursor`` one non-paginated page with
  totalResults. Filters: ``eq`` only, ``and`` only; users by (userName), (externalId),
  (groups.value), (id and manager); anything else is a 400 ValidationException.
- ListGroups filters follow the Constraints of the current (cursor-paging) version of
  https://docs.aws.amazon.com/singlesignon/latest/developerguide/listgroups.html, which
  documents exactly "(displayName), (externalId), (members.value), (id and member), and
  (member and id)", and ``id`` alone as "valid, [but] should be avoided". So
  ``members.value eq "<user id>"`` is accepted (the groups that user is in) because AWS
  documents it; the pair is accepted with ``member`` as the page writes it and ``members``
  as SCIM names the attribute; any other attribute or combination (``members.value`` with
  another term, ``members`` alone, ``displayName`` with ``id``...) is refused with AWS's
  400 ValidationException answer ("Filter '...' is not supported."). A member filter naming
  a user that does not exist is a 404 ResourceNotFoundException ("When filter querying with
  a nonexisting member"). The older version of the pages (50 results, no cursor) lists
  neither ``members.value`` on ListGroups nor ``groups.value`` on ListUsers:
  ``AwsIdentityCenter(groups_value_filter=False)`` refuses both, as that version documents.
- pages GetGroup and ListGroups (.../getgroup.html): "GetGroup and ListGroups return an empty
  member list"; membership is read with ``id eq "G" and members eq "U"`` (one pair per
  request), on ListGroups ``members.value eq "U"`` (the groups of one user) or, on ListUsers,
  ``groups.value eq "G"`` (the members of one group).
- pages CreateGroup and PatchGroup (.../creategroup.html, .../patchgroup.html): at most 100
  members added or removed in one request; "Limitations from SCIM specification"
  (.../limitations.html): only ``eq`` with ``and``; no /Bulk, /Me, /Search; multi-valued user
  attributes hold a single value (one email, which must be primary here); ``photos``,
  ``ims``, ``entitlements``, ``x509Certificates`` and ``password`` are not supported (a 400
  here, so a client that sends them is caught); PatchGroup takes only ``displayName``,
  ``members`` and ``externalId`` (``replace`` of an attribute, by path or as its example does,
  a value object of ``id`` and ``displayName``; ``add`` alike), and refuses a ``replace`` or
  ``remove`` of all members ("Not supported").
- page CreateUser (.../createuser.html): ``userName``, ``name.givenName``, ``name.familyName``
  and ``displayName`` are required; userName is unique (409 ConflictException); group
  displayName is unique (409).
- "Considerations for using automatic provisioning" and the ThrottlingException rows of every
  page: too many requests answer 429. Here a token bucket (``rate`` requests a second, a
  ``burst``) makes that happen under load, and only then.

PatchGroup answers 204 without a body, like AWS. Ids look like AWS's (``<tenant>-<uuid>``).
Every request is logged (method, path, query, status) so tests count requests per kind.
"""

from __future__ import annotations

import base64
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gwsync.testing.request_log import LoggedRequest, RequestLog
from gwsync.testing.threads import serving_in_thread
from gwsync.testing.throttle import Throttle

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
DOCS = "https://docs.aws.amazon.com/singlesignon/latest/developerguide"
MAX_COUNT = 100
MAX_MEMBER_OPERATIONS = 100
UNSUPPORTED_USER_ATTRIBUTES = ("photos", "ims", "entitlements", "x509Certificates", "password")
GROUP_FILTERS = frozenset(
    frozenset(keys)
    for keys in (
        (),
        ("displayname",),
        ("externalid",),
        ("members.value",),
        ("id",),
        ("id", "member"),
        ("id", "members"),
    )
)
"""The ListGroups filters AWS documents (lower-case attribute names, order free); see above."""
FILTER_TERM = re.compile(r'^\s*([A-Za-z.]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$')


class AwsError(Exception):
    def __init__(self, status: int, detail: str, exception: str = "ValidationException") -> None:
        super().__init__(detail)
        self.status, self.detail, self.exception = status, detail, exception

    def response(self) -> web.Response:
        body = {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),
            "detail": self.detail,
            "exceptionRequestId": str(uuid.uuid4()),
            "timeStamp": time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime()),
        }
        return web.json_response(body, status=self.status, content_type="application/json")


@dataclass
class AwsIdentityCenter:
    """The emulated identity store and its SCIM endpoint; `url` is the SCIM base URL."""

    token: str = "aws-scim-token"
    groups_value_filter: bool = True
    throttle: Throttle = field(default_factory=lambda: Throttle(burst=20))
    url: str = ""
    tenant: str = "9067729b3d"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    memberships: dict[str, set[str]] = field(default_factory=dict)
    log: RequestLog = field(default_factory=RequestLog)
    throttled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- for tests -------------------------------------------------------------------------

    @property
    def writes(self) -> list[LoggedRequest]:
        return self.log.writes

    def reset_log(self) -> None:
        with self.lock:
            self.log.clear()
            self.throttled = 0

    def members(self, group_id: str) -> set[str]:
        with self.lock:
            return set(self.memberships.get(group_id, set()))

    def all_users(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(u) for u in self.users.values()]

    def all_groups(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self._group(g) for g in self.groups.values()]

    # --- HTTP --------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        routes = {
            "/ServiceProviderConfig": {"GET": self._config},
            "/Users": {"GET": self._list_users, "POST": self._create_user},
            "/Users/{id}": {
                "GET": self._get_user,
                "PUT": self._put_user,
                "PATCH": self._patch_user,
                "DELETE": self._delete_user,
            },
            "/Groups": {"GET": self._list_groups, "POST": self._create_group},
            "/Groups/{id}": {
                "GET": self._get_group,
                "PATCH": self._patch_group,
                "DELETE": self._delete_group,
            },
        }
        for path, handlers in routes.items():
            for method, handler in handlers.items():
                app.router.add_route(method, f"/scim/v2{path}", handler)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            if not self.throttle.allow():
                self.throttled += 1
                raise AwsError(429, "Too many requests exceeded the limits.", "ThrottlingException")
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                raise AwsError(401, "Authorization header is invalid or missing.", "UnauthorizedException")
            try:
                response: web.StreamResponse = await handler(request)
            except web.HTTPNotFound as exc:
                raise AwsError(404, f"{request.path} is not a supported endpoint.", "NotFound") from exc
            except web.HTTPMethodNotAllowed as exc:
                raise AwsError(400, "The operation is unsupported.") from exc
        except AwsError as error:
            response = error.response()
        with self.lock:
            self.log.append(
                LoggedRequest(request.method, request.path, request.query_string, response.status)
            )
        return response

    async def _config(self, request: web.Request) -> web.Response:
        return scim_json(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "documentationUri": f"{DOCS}/what-is-scim.html",
                "authenticationSchemes": [
                    {
                        "type": "oauthbearertoken",
                        "name": "OAuth Bearer Token",
                        "primary": True,
                        "description": "Authentication scheme using the OAuth Bearer Token Standard",
                    }
                ],
                "patch": {"supported": True},
                "bulk": {"supported": False, "maxOperations": 1, "maxPayloadSize": 1048576},
                "filter": {"supported": True, "maxResults": MAX_COUNT},
                "changePassword": {"supported": False},
                "sort": {"supported": False},
                "etag": {"supported": False},
            }
        )

    # --- users -------------------------------------------------------------------------------

    async def _list_users(self, request: web.Request) -> web.Response:
        terms = parse_filter(request.query.get("filter"))
        with self.lock:
            users = list(self.users.values())
            keys = set(terms)
            if not terms:
                pass
            elif keys == {"username"}:
                users = [u for u in users if u["userName"].lower() == terms["username"].lower()]
            elif keys == {"externalid"}:
                users = [u for u in users if u.get("externalId") == terms["externalid"]]
            elif keys == {"groups.value"} and self.groups_value_filter:
                members = self.memberships.get(terms["groups.value"], set())
                users = [u for u in users if u["id"] in members]
            elif keys == {"id", "manager"}:
                users = []
            else:
                raise AwsError(400, f"Filter {request.query.get('filter')!r} is not supported.")
            return self._listing(request, [dict(u) for u in users])

    async def _get_user(self, request: web.Request) -> web.Response:
        with self.lock:
            return scim_json(dict(self._user(request.match_info["id"])))

    async def _create_user(self, request: web.Request) -> web.Response:
        body = await payload(request)
        with self.lock:
            user = self._valid_user(body)
            self._unique_user_name(user["userName"])
            user["id"] = f"{self.tenant}-{uuid.uuid4()}"
            user["meta"] = meta("User")
            self.users[user["id"]] = user
            return scim_json(dict(user), status=201)

    async def _put_user(self, request: web.Request) -> web.Response:
        body = await payload(request)
        with self.lock:
            return self._replace_user(self._user(request.match_info["id"]), body)

    async def _patch_user(self, request: web.Request) -> web.Response:
        body = await payload(request)
        with self.lock:
            current = self._user(request.match_info["id"])
            user = {k: v for k, v in current.items() if k not in ("id", "meta")}
            for operation in operations(body):
                apply_user_operation(user, operation)
            return self._replace_user(current, user)

    def _replace_user(self, current: dict[str, Any], body: dict[str, Any]) -> web.Response:
        """PutUser and PatchUser alike: the new attributes checked, then stored under the same id."""
        user = self._valid_user(body)
        self._unique_user_name(user["userName"], current["id"])
        user["id"], user["meta"] = current["id"], {**current["meta"], "lastModified": now()}
        self.users[current["id"]] = user
        return scim_json(dict(user))

    async def _delete_user(self, request: web.Request) -> web.Response:
        with self.lock:
            user = self._user(request.match_info["id"])
            del self.users[user["id"]]
            for members in self.memberships.values():
                members.discard(user["id"])
        return web.Response(status=204)

    def _user(self, user_id: str) -> dict[str, Any]:
        if user_id not in self.users:
            raise AwsError(404, f"User {user_id} does not exist.", "ResourceNotFoundException")
        return self.users[user_id]

    def _unique_user_name(self, user_name: str, own: str | None = None) -> None:
        for other in self.users.values():
            if other["id"] != own and other["userName"].lower() == user_name.lower():
                raise AwsError(409, "Duplicate userName.", "ConflictException")

    def _valid_user(self, body: dict[str, Any]) -> dict[str, Any]:
        user = {k: v for k, v in body.items() if k not in ("id", "meta", "groups")}
        for attribute in UNSUPPORTED_USER_ATTRIBUTES:
            if attribute in user:
                raise AwsError(400, f"The attribute {attribute} is not supported.")
        name = user.get("name") or {}
        for label, value in (
            ("userName", user.get("userName")),
            ("name.givenName", name.get("givenName")),
            ("name.familyName", name.get("familyName")),
            ("displayName", user.get("displayName")),
        ):
            if not value or not str(value).strip():
                raise AwsError(400, f"{label} is required.")
        for attribute in ("emails", "phoneNumbers", "addresses"):
            values = user.get(attribute) or []
            if len(values) > 1:
                raise AwsError(400, f"{attribute} supports a single value only.")
        emails = user.get("emails") or []
        if emails and emails[0].get("primary") is not True:
            raise AwsError(400, "The email must be primary.")
        user.setdefault("active", True)
        return user

    # --- groups ------------------------------------------------------------------------------

    async def _list_groups(self, request: web.Request) -> web.Response:
        terms = parse_filter(request.query.get("filter"))
        with self.lock:
            groups = list(self.groups.values())
            keys = frozenset(terms)
            if keys not in GROUP_FILTERS or ("members.value" in keys and not self.groups_value_filter):
                raise AwsError(400, f"Filter {request.query.get('filter')!r} is not supported.")
            if "displayname" in keys:
                groups = [g for g in groups if g["displayName"] == terms["displayname"]]
            if "externalid" in keys:
                groups = [g for g in groups if g.get("externalId") == terms["externalid"]]
            if "id" in keys:
                groups = [g for g in groups if g["id"] == terms["id"]]
            for key in keys & {"members.value", "members", "member"}:
                member = terms[key]
                self._known_users([member])
                groups = [g for g in groups if member in self.memberships.get(g["id"], set())]
            return self._listing(request, [self._group(g) for g in groups])

    async def _get_group(self, request: web.Request) -> web.Response:
        with self.lock:
            return scim_json(self._group(self._stored_group(request.match_info["id"])))

    async def _create_group(self, request: web.Request) -> web.Response:
        body = await payload(request)
        with self.lock:
            name = str(body.get("displayName") or "").strip()
            if not name:
                raise AwsError(400, "displayName is required.")
            if any(g["displayName"] == name for g in self.groups.values()):
                raise AwsError(409, "Group already exists.", "ConflictException")
            members = [str(m.get("value")) for m in body.get("members") or []]
            if len(members) > MAX_MEMBER_OPERATIONS:
                raise AwsError(
                    400, f"A maximum of {MAX_MEMBER_OPERATIONS} members can be added in a request."
                )
            self._known_users(members)
            group_id = f"{self.tenant}-{uuid.uuid4()}"
            group: dict[str, Any] = {"id": group_id, "displayName": name, "meta": meta("Group")}
            if body.get("externalId"):
                group["externalId"] = body["externalId"]
            self.groups[group_id] = group
            self.memberships[group_id] = set(members)
            return scim_json(self._group(group), status=201)

    async def _patch_group(self, request: web.Request) -> web.Response:
        body = await payload(request)
        with self.lock:
            group = self._stored_group(request.match_info["id"])
            members = self.memberships.setdefault(group["id"], set())
            steps = operations(body)
            count = sum(member_operation_count(op) for op in steps)
            if count > MAX_MEMBER_OPERATIONS:
                raise AwsError(400, f"A maximum of {MAX_MEMBER_OPERATIONS} member operations per request.")
            for op in steps:
                kind, path = str(op.get("op", "")).lower(), str(op.get("path") or "")
                if (kind == "replace" and path == "members") or (
                    kind == "remove" and path == "members" and not op.get("value")
                ):
                    raise AwsError(400, f"PatchGroup does not support {kind} of {path}.")
                if kind == "add" and path == "members":
                    added = [str(m.get("value")) for m in op.get("value") or []]
                    self._known_users(added)
                    members.update(added)
                elif kind == "remove" and path == "members":
                    members.difference_update(str(m.get("value")) for m in op.get("value") or [])
                elif kind == "remove" and (match := re.fullmatch(r'members\[value eq "([^"]+)"\]', path)):
                    members.discard(match.group(1))
                elif kind in ("add", "replace") and not path and isinstance(op.get("value"), dict):
                    value = {key: v for key, v in op["value"].items() if key != "id"}
                    if set(value) - {"displayName", "externalId"}:
                        raise AwsError(400, "Only displayName, members and externalId can be changed.")
                    self._change_group(group, value)
                elif kind == "replace" and path in ("displayName", "externalId"):
                    self._change_group(group, {path: op.get("value")})
                else:
                    raise AwsError(400, f"The operation {kind} {path!r} is unsupported.")
            group["meta"] = {**group["meta"], "lastModified": now()}
        return web.Response(status=204)

    def _change_group(self, group: dict[str, Any], value: dict[str, Any]) -> None:
        """displayName (required, unique: 409 as at CreateGroup) and externalId, from a PatchGroup."""
        if "displayName" in value:
            name = str(value["displayName"] or "").strip()
            if not name:
                raise AwsError(400, "displayName is required.")
            if any(g["displayName"] == name and g["id"] != group["id"] for g in self.groups.values()):
                raise AwsError(409, "Group already exists.", "ConflictException")
            group["displayName"] = name
        if "externalId" in value:
            group["externalId"] = value["externalId"]

    async def _delete_group(self, request: web.Request) -> web.Response:
        with self.lock:
            group = self._stored_group(request.match_info["id"])
            del self.groups[group["id"]]
            self.memberships.pop(group["id"], None)
        return web.Response(status=204)

    def _stored_group(self, group_id: str) -> dict[str, Any]:
        if group_id not in self.groups:
            raise AwsError(404, f"Group {group_id} does not exist.", "ResourceNotFoundException")
        return self.groups[group_id]

    def _known_users(self, ids: list[str]) -> None:
        for user_id in ids:
            if user_id not in self.users:
                raise AwsError(404, f"User {user_id} does not exist.", "ResourceNotFoundException")

    def _group(self, group: dict[str, Any]) -> dict[str, Any]:
        """As AWS shows a group: never with its members."""
        return {"schemas": [GROUP_SCHEMA], **group, "members": []}

    # --- paging ------------------------------------------------------------------------------

    def _listing(self, request: web.Request, resources: list[dict[str, Any]]) -> web.Response:
        raw_count = request.query.get("count", str(MAX_COUNT))
        if not (raw_count.isascii() and raw_count.isdigit()) or not 1 <= int(raw_count) <= MAX_COUNT:
            raise AwsError(400, f"count must be between 1 and {MAX_COUNT}.")
        count = int(raw_count)
        if "cursor" not in request.query:  # the non-paginated format: one page, startIndex ignored
            page = resources[:count]
            return scim_json(
                {
                    "schemas": [LIST_SCHEMA],
                    "totalResults": len(resources),
                    "itemsPerPage": len(page),
                    "startIndex": 1,
                    "Resources": page,
                }
            )
        cursor = request.query["cursor"]
        try:
            offset = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
        except ValueError as exc:
            raise AwsError(400, "The cursor is invalid.") from exc
        page = resources[offset : offset + count]
        body: dict[str, Any] = {"schemas": [LIST_SCHEMA], "itemsPerPage": len(page), "Resources": page}
        if offset + count < len(resources):
            body["nextCursor"] = base64.urlsafe_b64encode(str(offset + count).encode()).decode()
        return scim_json(body)


def parse_filter(text: str | None) -> dict[str, str]:
    """`a eq "x" and b eq "y"` -> {"a": "x", "b": "y"} (lower-case names); anything else: 400."""
    if not text:
        return {}
    terms: dict[str, str] = {}
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = FILTER_TERM.match(part)
        if match is None:
            raise AwsError(400, f"Filter {text!r} is not supported: only eq joined by and.")
        terms[match.group(1).lower()] = match.group(2).replace('\\"', '"').replace("\\\\", "\\")
    return terms


def operations(body: dict[str, Any]) -> list[dict[str, Any]]:
    if PATCH_SCHEMA not in (body.get("schemas") or []) or not isinstance(body.get("Operations"), list):
        raise AwsError(400, "The request is not a PatchOp.")
    return list(body["Operations"])


def member_operation_count(op: dict[str, Any]) -> int:
    path = str(op.get("path") or "")
    if path == "members":
        return len(op.get("value") or []) or 1
    return 1 if path.startswith("members") else 0


def apply_user_operation(user: dict[str, Any], op: dict[str, Any]) -> None:
    kind, path, value = str(op.get("op", "")).lower(), op.get("path"), op.get("value")
    if kind not in ("add", "replace", "remove"):
        raise AwsError(400, f"The operation {kind} is unsupported.")
    if not path:
        if kind == "remove" or not isinstance(value, dict):
            raise AwsError(400, "A PATCH without a path needs an object value.")
        for key, item in value.items():
            user[key] = item
        return
    path = str(path)
    container, key = user, path
    if path.startswith(ENTERPRISE + ":"):
        container, key = user.setdefault(ENTERPRISE, {}), path[len(ENTERPRISE) + 1 :]
    elif "." in path:
        head, key = path.split(".", 1)
        container = user.setdefault(head, {})
    if kind == "remove":
        container.pop(key, None)
    else:
        container[key] = value


async def payload(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise AwsError(400, "Request cannot be parsed.") from exc
    if not isinstance(body, dict):
        raise AwsError(400, "Request cannot be parsed.")
    return body


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def meta(kind: str) -> dict[str, str]:
    return {"resourceType": kind, "created": now(), "lastModified": now()}


def scim_json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, content_type="application/json")


@asynccontextmanager
async def running_aws_identity_center(
    emulator: AwsIdentityCenter | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[AwsIdentityCenter]:
    """Serve the emulator on host:port (a free port by default); `url` ends in /scim/v2."""
    emulator = emulator or AwsIdentityCenter()
    runner = web.AppRunner(emulator.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    emulator.url = f"http://127.0.0.1:{runner.addresses[0][1]}/scim/v2"
    try:
        yield emulator
    finally:
        await runner.cleanup()


@contextmanager
def aws_identity_center_in_thread(emulator: AwsIdentityCenter | None = None) -> Iterator[AwsIdentityCenter]:
    """The emulator served from its own thread and loop (tests seed it with blocking HTTP)."""
    with serving_in_thread(lambda: running_aws_identity_center(emulator), "aws-scim") as served:
        yield served
