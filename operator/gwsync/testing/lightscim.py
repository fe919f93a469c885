"""A light in-memory SCIM 2.0 server: fast enough for 100,000 users and for rate-limit tests.

scim2-server (the real third-party server every behaviour test uses) validates each resource
with its models and scans its store, so it answers a list page of 500 users in seconds at
these sizes and serves some tens of requests per second on a busy machine: the benchmark
would measure scim2-server, and a rate limit of 50 requests/s could never be reached. This
server keeps users and groups in dicts and answers in well under a millisecond; it checks
the bearer token and userName uniqueness and does what gwsync's SCIM client sends:

- ServiceProviderConfig (PATCH and filter supported, filter.maxResults = `page_size`, no
  etag; bulk only when `bulk_max_operations` is set), ResourceTypes (User with the
  enterprise extension, Group);
- Bulk (RFC 7644 §3.7) when advertised: POST /Bulk runs its operations in order, resolves
  `bulkId:` references to users and groups created earlier in the same request, and answers
  each operation's status (an error's SCIM Error as its response); more than maxOperations or
  maxPayloadSize is a 413. `refuse_bulk` (a status, e.g. 501) refuses every Bulk request as a
  whole, as a provider that advertises Bulk without serving it;
- `refused_names`: userName -> the detail of a 400 answered to creating or writing that user
  (alone or in a Bulk request), the way a provider refuses one value;
- list with startIndex and count (capped at `page_size`), totalResults, and the filters
  `userName eq`, `externalId eq`, `displayName eq`; anything else is a 400 invalidFilter;
- POST, GET, PUT, PATCH (replace, add, remove of the paths gwsync writes, and of group
  members by `members[value eq "id"]`) and DELETE of Users and Groups.

It is not a reference: what it does not understand it refuses with 400 rather than guesses.
Like serve.py's Google side, each request is answered `latency` seconds after it arrived,
its own work done within that time as a real API's is (server-side, so requests in flight
overlap), and above `rate_limit` requests per second
(a token bucket holding one second's worth) it answers 429 with `Retry-After` at once.
Every answered request is logged (method, path, status, arrival time) for assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from gwsync.testing.request_log import LoggedRequest, RequestLog
from gwsync.testing.threads import serving_in_thread
from gwsync.testing.throttle import Throttle

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
FILTER = re.compile(r'^\s*(userName|externalId|displayName)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)
MEMBER_PATH = re.compile(r'^members\[value eq "([^"]+)"\]$')


class ScimRefusal(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


@dataclass
class Store:
    """One resource type: resources by id, their order for startIndex, a unique key's index."""

    kind: str
    unique: str
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    by_key: dict[str, str] = field(default_factory=dict)
    removed: int = 0

    def page(self, start: int, count: int) -> list[dict[str, Any]]:
        if self.removed:  # compact the order once deletions happened
            self.order = [rid for rid in self.order if rid in self.resources]
            self.removed = 0
        return [self.resources[rid] for rid in self.order[start - 1 : start - 1 + count]]

    def key(self, resource: dict[str, Any]) -> str:
        return str(resource.get(self.unique) or "").casefold()

    def put(self, rid: str, resource: dict[str, Any]) -> None:
        old = self.resources.get(rid)
        taken = self.by_key.get(self.key(resource))
        if taken is not None and taken != rid:
            raise ScimRefusal(409, f"{self.unique} is already in use", "uniqueness")
        if old is not None:
            self.by_key.pop(self.key(old), None)
        else:
            self.order.append(rid)
        self.by_key[self.key(resource)] = rid
        self.resources[rid] = resource

    def delete(self, rid: str) -> None:
        old = self.get(rid)
        self.by_key.pop(self.key(old), None)
        del self.resources[rid]
        self.removed += 1

    def get(self, rid: str) -> dict[str, Any]:
        found = self.resources.get(rid)
        if found is None:
            raise ScimRefusal(404, f"{self.kind} {rid} not found")
        return found


class LightScim:
    """The server: `app()` to serve; `users`, `groups`, `log` to look at."""

    def __init__(
        self,
        token: str,
        *,
        latency: float = 0.0,
        rate_limit: float = 0.0,
        retry_after: str = "1",
        page_size: int = 500,
        bulk_max_operations: int = 0,
        bulk_max_payload: int = 1 << 20,
        refuse_bulk: int = 0,
        refused_names: dict[str, str] | None = None,
    ) -> None:
        self.token = token
        self.latency = latency
        self.throttle = Throttle(rate_limit or None)
        self.retry_after = retry_after
        self.page_size = page_size
        self.bulk_max_operations = bulk_max_operations
        self.bulk_max_payload = bulk_max_payload
        self.refuse_bulk = refuse_bulk
        self.refused_names = {name.casefold(): detail for name, detail in (refused_names or {}).items()}
        self.bulk_operations: list[int] = []  # operations of each Bulk request answered 200
        self.users = Store("User", "userName")
        self.groups = Store("Group", "displayName")
        self.log = RequestLog()
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""

    @property
    def throttled(self) -> int:
        return sum(1 for entry in self.log if entry.status == 429)

    def reset_log(self) -> None:
        self.log.clear()
        self.bulk_operations.clear()
        self.max_in_flight = self.in_flight

    def seed_user(self, resource: dict[str, Any]) -> str:
        """Store a User directly (no request); returns its id."""
        return self._create(self.users, dict(resource))["id"]  # type: ignore[no-any-return]

    # --- HTTP ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._real_world], client_max_size=16 * 1024 * 1024)
        app.router.add_get("/v2/ServiceProviderConfig", self._config)
        app.router.add_get("/v2/ResourceTypes", self._resource_types)
        app.router.add_post("/v2/Bulk", self._bulk)
        for name, store in (("Users", self.users), ("Groups", self.groups)):
            app.router.add_get(f"/v2/{name}", self._lister(store))
            app.router.add_post(f"/v2/{name}", self._creator(store))
            app.router.add_route("*", f"/v2/{name}/{{id}}", self._one(store))
        return app

    @web.middleware
    async def _real_world(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        arrived = time.monotonic()
        if not request.path.startswith("/v2/"):  # routes added by whoever serves it (bench/serve.py)
            return await handler(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            response: web.StreamResponse = error(401, "The bearer token is not valid")
        elif not self.throttle.allow():
            response = error(429, "Too many requests")
            response.headers["Retry-After"] = self.retry_after
        else:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                try:
                    response = await handler(request)
                except ScimRefusal as refusal:
                    response = error(refusal.status, refusal.detail, refusal.scim_type)
                except ValueError as exc:  # a body or a parameter that is not what SCIM says
                    response = error(400, f"Bad request: {exc}", "invalidValue")
                await asyncio.sleep(max(0.0, self.latency - (time.monotonic() - arrived)))
            finally:
                self.in_flight -= 1
        self.log.append(
            LoggedRequest(
                request.method, request.path, request.query_string, response.status, started=arrived
            )
        )
        return response

    async def _config(self, request: web.Request) -> web.Response:
        return scim_json(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "patch": {"supported": True},
                "bulk": {
                    "supported": self.bulk_max_operations > 0,
                    "maxOperations": self.bulk_max_operations,
                    "maxPayloadSize": self.bulk_max_payload if self.bulk_max_operations else 0,
                },
                "filter": {"supported": True, "maxResults": self.page_size},
                "changePassword": {"supported": False},
                "sort": {"supported": False},
                "etag": {"supported": False},
                "authenticationSchemes": [
                    {"type": "oauthbearertoken", "name": "Bearer", "description": "A bearer token"}
                ],
            }
        )

    async def _resource_types(self, request: web.Request) -> web.Response:
        user = {
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE, "required": False}],
        }
        group = {"id": "Group", "name": "Group", "endpoint": "/Groups", "schema": GROUP_SCHEMA}
        return scim_json({"schemas": [LIST_SCHEMA], "totalResults": 2, "Resources": [user, group]})

    def _lister(self, store: Store) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def listing(request: web.Request) -> web.Response:
            query = request.query
            count = min(int(query.get("count", self.page_size)), self.page_size)
            start = max(1, int(query.get("startIndex", 1)))
            if "filter" in query:
                found = self._filtered(store, query["filter"])
                total, page = len(found), found[start - 1 : start - 1 + count]
            else:
                total, page = len(store.resources), store.page(start, count)
            return scim_json(
                {
                    "schemas": [LIST_SCHEMA],
                    "totalResults": total,
                    "startIndex": start,
                    "itemsPerPage": len(page),
                    "Resources": page,
                }
            )

        return listing

    def _filtered(self, store: Store, expression: str) -> list[dict[str, Any]]:
        match = FILTER.match(expression)
        if match is None:
            raise ScimRefusal(400, f"Filter not supported: {expression}", "invalidFilter")
        attribute, value = match.group(1), json.loads(f'"{match.group(2)}"')
        if attribute.casefold() == store.unique.casefold():
            rid = store.by_key.get(value.casefold())
            return [store.resources[rid]] if rid else []
        return [r for r in store.resources.values() if str(r.get(attribute, "")) == value]

    async def _bulk(self, request: web.Request) -> web.Response:
        if not self.bulk_max_operations:
            raise ScimRefusal(501, "Bulk is not supported")
        if self.refuse_bulk:
            raise ScimRefusal(self.refuse_bulk, "Bulk is not available for this tenant")
        body = await request.read()
        if len(body) > self.bulk_max_payload:
            raise ScimRefusal(
                413, f"The request is larger than maxPayloadSize ({self.bulk_max_payload})", "tooLarge"
            )
        operations = orjson.loads(body).get("Operations") or []
        if len(operations) > self.bulk_max_operations:
            raise ScimRefusal(
                413, f"More operations than maxOperations ({self.bulk_max_operations})", "tooLarge"
            )
        created: dict[str, str] | None = {} if b"bulkId:" in body else None  # references to resolve
        now = stamp()  # the request's operations happen at once
        results = [self._bulk_operation(operation, created, now) for operation in operations]
        self.bulk_operations.append(len(operations))
        return scim_json({"schemas": [BULK_RESPONSE], "Operations": results})

    def _bulk_operation(
        self, operation: dict[str, Any], created: dict[str, str] | None, now: str
    ) -> dict[str, Any]:
        """One operation of a Bulk request, as its own request would go; its result. `created`:
        bulkId -> id of the creates so far, None when the request holds no reference."""
        method, bulk_id = str(operation.get("method", "")).upper(), operation.get("bulkId")
        result: dict[str, Any] = {"method": method, **({"bulkId": bulk_id} if bulk_id else {})}
        try:
            path, data = str(operation.get("path", "")), operation.get("data")
            if created is not None:
                path, data = resolved(path, created), resolved(data, created)
            kind, _, rid = path.strip("/").partition("/")
            store = {"Users": self.users, "Groups": self.groups}.get(kind)
            if store is None:
                raise ScimRefusal(404, f"No endpoint {path}")
            if method == "POST" and not rid:
                resource = self._create(store, dict(data or {}), now)
                if bulk_id and created is not None:
                    created[str(bulk_id)] = resource["id"]
                result.update(status="201", location=f"{self.url}/{kind}/{resource['id']}")
            elif method == "DELETE" and rid:
                store.delete(rid)
                result.update(status="204", location=f"{self.url}/{path.strip('/')}")
            elif method in ("PUT", "PATCH") and rid:
                self._write(store, rid, method, dict(data or {}), now)
                result.update(status="200", location=f"{self.url}/{path.strip('/')}")
            else:
                raise ScimRefusal(400, f"{method} {path} is not a Bulk operation", "invalidSyntax")
        except ScimRefusal as refusal:
            body: dict[str, Any] = {
                "schemas": [ERROR_SCHEMA],
                "status": str(refusal.status),
                "detail": refusal.detail,
            }
            if refusal.scim_type:
                body["scimType"] = refusal.scim_type
            result.update(status=str(refusal.status), response=body)
        return result

    def _refuse_named(self, resource: dict[str, Any]) -> None:
        detail = self.refused_names.get(str(resource.get("userName") or "").casefold())
        if detail is not None:
            raise ScimRefusal(400, detail, "invalidValue")

    def _creator(self, store: Store) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def creating(request: web.Request) -> web.Response:
            return scim_json(self._create(store, await request.json()), status=201)

        return creating

    def _create(self, store: Store, resource: dict[str, Any], now: str | None = None) -> dict[str, Any]:
        if not resource.get(store.unique):
            raise ScimRefusal(400, f"{store.unique} is required", "invalidValue")
        self._refuse_named(resource)
        rid = secrets.token_hex(16)
        now = now or stamp()
        resource.update(
            id=rid,
            meta={"resourceType": store.kind, "created": now, "lastModified": now, "location": rid},
        )
        if store.kind == "Group":
            resource.setdefault("members", [])
        store.put(rid, resource)
        return resource

    def _one(self, store: Store) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def one(request: web.Request) -> web.StreamResponse:
            rid = request.match_info["id"]
            current = store.get(rid)
            if request.method == "GET":
                return scim_json(current)
            if request.method == "DELETE":
                store.delete(rid)
                return web.Response(status=204)
            if request.method not in ("PUT", "PATCH"):
                raise ScimRefusal(405, f"{request.method} is not supported")
            return scim_json(self._write(store, rid, request.method, await request.json()))

        return one

    def _write(
        self, store: Store, rid: str, method: str, body: dict[str, Any], now: str | None = None
    ) -> dict[str, Any]:
        """PUT (the whole resource) or PATCH (its Operations) of a stored resource."""
        current = store.get(rid)
        replaced = body if method == "PUT" else patched(current, body.get("Operations") or [])
        self._refuse_named(replaced)
        replaced.update(id=rid, meta={**current["meta"], "lastModified": now or stamp()})
        store.put(rid, replaced)
        return replaced

    # --- serving ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def serving(self, port: int = 0) -> AsyncIterator[LightScim]:
        async with on_loopback(self.app(), port) as base:
            self.url = f"{base}/v2"
            yield self


@contextlib.asynccontextmanager
async def on_loopback(app: web.Application, port: int = 0) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 (a free port by default) while the context lasts; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def run_light_scim(token: str = "test-scim-token", **options: Any) -> Iterator[LightScim]:
    """A LightScim served from a thread of its own on a free port; the URL ends in /v2."""
    server = LightScim(token, **options)
    with serving_in_thread(server.serving, "light-scim"):
        yield server


def patched(resource: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """The resource with PATCH operations applied (a copy)."""
    try:
        result: dict[str, Any] = orjson.loads(orjson.dumps(resource))
    except TypeError:  # a lone surrogate kept from a seed
        result = copy.deepcopy(resource)
    for operation in operations:
        op, path, value = str(operation.get("op", "")).lower(), operation.get("path"), operation.get("value")
        if not isinstance(path, str):
            raise ScimRefusal(400, "A PATCH operation without a path is not supported", "noTarget")
        member = MEMBER_PATH.match(path)
        if op == "remove" and member is not None:
            result["members"] = [m for m in result.get("members", []) if m.get("value") != member.group(1)]
        elif op == "add" and path == "members":
            present = {m.get("value") for m in result.get("members", [])}
            added = [m for m in value or [] if m.get("value") not in present]
            result["members"] = result.get("members", []) + added
        elif op in ("add", "replace", "remove"):
            holder, key = located(result, path)
            if op == "remove":
                holder.pop(key, None)
            else:
                holder[key] = value
        else:
            raise ScimRefusal(400, f"PATCH op {op} is not supported", "invalidSyntax")
    return result


def located(resource: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    """The object holding `path` (`name.givenName`, `urn:...:User:department`) and its key."""
    if path.startswith(ENTERPRISE + ":"):
        extension = resource.setdefault(ENTERPRISE, {})
        if ENTERPRISE not in resource.setdefault("schemas", [USER_SCHEMA]):
            resource["schemas"].append(ENTERPRISE)
        return extension, path[len(ENTERPRISE) + 1 :]
    if "." in path:
        parent, key = path.split(".", 1)
        return resource.setdefault(parent, {}), key
    return resource, path


def resolved(value: Any, created: dict[str, str]) -> Any:
    """`value` with each `bulkId:<id>` string replaced by the id that POST created; a reference
    to nothing created (yet) in the request is a 409 (RFC 7644 §3.7.2)."""
    if isinstance(value, str) and "bulkId:" in value:
        head, _, tail = value.partition("bulkId:")
        bulk_id, sep, rest = tail.partition("/")
        if bulk_id not in created:
            raise ScimRefusal(
                409, f"bulkId {bulk_id} does not name a resource created before it", "invalidValue"
            )
        return head + created[bulk_id] + sep + resolved(rest, created)
    if isinstance(value, list):
        return [resolved(item, created) for item in value]
    if isinstance(value, dict):
        return {key: resolved(item, created) for key, item in value.items()}
    return value


def stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def scim_json(payload: dict[str, Any], status: int = 200) -> web.Response:
    try:
        body = orjson.dumps(payload)
    except TypeError:  # a lone surrogate kept from a seed: written as its escape, `\ud800`
        body = json.dumps(payload).encode()
    return web.Response(status=status, body=body, content_type="application/scim+json")


def error(status: int, detail: str, scim_type: str | None = None) -> web.Response:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return scim_json(body, status=status)
