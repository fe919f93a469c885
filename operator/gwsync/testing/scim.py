"""scim2-server (third-party, in-memory, bearer token) in a thread, for tests, the demo and benches.

The target side of every gwsync test is the real scim2-server from PyPI, not something we
wrote, so the SCIM adapter is checked against someone else's reading of RFC 7643/7644. In
front of it sits a small WSGI middleware of ours that only observes and injects faults:

- every request is logged (method, path, status) so tests can count writes;
- the number of requests in flight is tracked, with its maximum (for maxConcurrency);
- chosen requests are answered with an error instead (500, 409, 429 with Retry-After...),
  or passed to scim2-server and applied, with the error as the only answer the client sees
  (`Fault(applied=True)`: the write happened, the client cannot know it);
- another client's request can be run just before a chosen one reaches scim2-server
  (`Interleave`), to make real concurrent edits (and so real 412s on a stale If-Match);
- `Quirks` reproduce providers that page badly (totalResults that is the page size, a
  startIndex that is ignored, a count silently capped);
- an optional per-request delay makes concurrency observable on a fast in-memory store.

Capabilities are scim2-server's own: `run_scim_server(patch=False)` makes its
ServiceProviderConfig say patch.supported=false, and scim2-server then answers every PATCH
with 501; `etag=False` turns resource versions (meta.version, ETag, If-Match) off;
`max_results` is filter.maxResults, the page size clients are told and held to;
`filter=False` says filter.supported=false, and scim2-server answers a filter with 501.
scim2-server serves Bulk (maxOperations 1000); `bulk=False`, the default here, makes its
ServiceProviderConfig say bulk.supported=false (it then answers /Bulk with 501), so the tests
of single requests keep seeing them; `bulk=True` advertises it as scim2-server does.

Seeding goes over HTTP with the standard library, so this module imports no HTTP client
(the SCIM client lives in gwsync.targets.scim only).
"""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any

from scim2_models import Schema, SchemaExtension, ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

from gwsync.testing.request_log import LoggedRequest, RequestLog, RequestMatch, take

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


@dataclass
class Fault(RequestMatch):
    """Answer matching requests with `status` instead of passing them to scim2-server.

    Which requests: gwsync.testing.request_log.RequestMatch (method, substrings of the path,
    query and body, `times`: 1 by default, None for all). With `applied`, the request first
    goes to scim2-server (a POST creates, a PUT replaces...) and only its answer is replaced:
    the ambiguous failure of a gateway that timed out after the backend did the work. `delay`
    holds the answer back that many seconds (server-side latency, e.g. past a client timeout).
    """

    status: int
    _: KW_ONLY  # which requests (method, path, ...) are named, never positional
    retry_after: str | None = None
    scim_type: str | None = None
    detail: str = "Injected fault"
    applied: bool = False
    delay: float = 0.0

    def response(self) -> tuple[str, list[tuple[str, str]], bytes]:
        error: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            error["scimType"] = self.scim_type
        headers = [("Content-Type", "application/scim+json")]
        if self.retry_after is not None:
            headers.append(("Retry-After", self.retry_after))
        return f"{self.status} Injected", headers, json.dumps(error).encode()


@dataclass
class Interleave(RequestMatch):
    """Run `action` (another client's request) just before a matching request is served.

    Matching is as for `Fault`. The action runs outside the middleware's lock, so it may
    itself call the server over HTTP.
    """

    action: Callable[[], object]


@dataclass
class Quirks:
    """Paging behaviours of real providers that scim2-server does not have by itself.

    - `total_is_page_size`: list responses say totalResults = the number of resources in
      that page (a provider confusing totalResults with itemsPerPage);
    - `ignore_start_index`: startIndex is dropped, so every request gets the first page;
    - `max_count`: count is silently capped to this, whatever filter.maxResults says.
    """

    total_is_page_size: bool = False
    ignore_start_index: bool = False
    max_count: int | None = None

    def rewrite_query(self, query: str) -> str:
        params = urllib.parse.parse_qsl(query, keep_blank_values=True)
        if self.ignore_start_index:
            params = [(k, v) for k, v in params if k != "startIndex"]
        if self.max_count is not None:
            params = [
                (k, str(min(int(v), self.max_count)) if k == "count" and v.isdigit() else v)
                for k, v in params
            ]
        return urllib.parse.urlencode(params)

    def rewrite_body(self, method: str, body: bytes) -> bytes:
        if not self.total_is_page_size or method != "GET" or not body:
            return body
        try:
            payload = json.loads(body)
        except ValueError:
            return body
        if isinstance(payload, dict) and "totalResults" in payload:
            payload["totalResults"] = len(payload.get("Resources") or [])
            return json.dumps(payload).encode()
        return body


@dataclass
class FaultInjector:
    """The observing, fault-injecting WSGI middleware in front of scim2-server."""

    app: WSGIApplication
    faults: list[Fault] = field(default_factory=list)
    delay: float = 0.0
    request_log: RequestLog = field(default_factory=RequestLog)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    interleaves: list[Interleave] = field(default_factory=list)
    quirks: Quirks = field(default_factory=Quirks)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        query, body = environ.get("QUERY_STRING", ""), read_body(environ)
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            fault = take(self.faults, method, path, query, body)
            interleave = take(self.interleaves, method, path, query, body)
        try:
            if self.delay:
                time.sleep(self.delay)  # server-side latency, so concurrency is observable
            if interleave is not None:
                interleave.action()
            if fault is None:
                environ["QUERY_STRING"] = self.quirks.rewrite_query(environ.get("QUERY_STRING", ""))
                status, headers, payload = self.serve(environ)
                rewritten = self.quirks.rewrite_body(method, payload)
                if rewritten is not payload:
                    payload = rewritten
                    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                    headers.append(("Content-Length", str(len(payload))))
            else:
                if fault.applied:  # scim2-server does the work; the client only sees the fault
                    self.serve(environ)
                status, headers, payload = fault.response()
                if fault.delay:
                    time.sleep(fault.delay)  # the answer comes late (a client may have given up)
            start_response(status, headers)
            with self.lock:
                self.request_log.append(LoggedRequest(method, path, query, int(status.split()[0])))
            return [payload]
        finally:
            with self.lock:
                self.in_flight -= 1

    def serve(self, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes]:
        """scim2-server's answer, whole: status line, headers and body."""
        answer: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], object]:
            answer.append((status, list(headers)))
            return lambda data: None

        payload = b"".join(self.app(environ, capture))
        status, headers = answer[-1]
        return status, headers, payload


def read_body(environ: WSGIEnvironment) -> bytes:
    """Read the request body and put it back, so the application can read it again."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class ScimAdmin:
    """Seeding and reading a SCIM server over HTTP, as another tool would (standard library only).

    Subclasses say where (`admin_base`), with which scheme and how many per page; reads go
    "the slow sure way" (until a page brings nothing new), so assertions stay right when a
    server caps, ignores startIndex or miscounts.
    """

    token: str
    admin_scheme: str = "Bearer"
    admin_page: int = 1000

    def admin_base(self) -> str:
        raise NotImplementedError

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        """One SCIM request; returns the decoded JSON body (None when empty)."""
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.admin_base() + path, data=data, method=method)
        request.add_header("Authorization", f"{self.admin_scheme} {self.token}")
        request.add_header("Content-Type", "application/scim+json")
        request.add_header("Accept", "application/scim+json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path} answered {exc.code}: {exc.read().decode()}") from exc
        return json.loads(body) if body else None

    def seed_user(self, user_name: str, **attributes: Any) -> str:
        """Create a user directly (as another tool would have); returns its id."""
        payload = {"schemas": [USER_SCHEMA], "userName": user_name, **attributes}
        if ENTERPRISE in payload:
            payload["schemas"] = [USER_SCHEMA, ENTERPRISE]
        return str(self.call("POST", "/Users", payload)["id"])

    def seed_group(self, display_name: str, member_ids: Iterable[str] = ()) -> str:
        payload = {
            "schemas": [GROUP_SCHEMA],
            "displayName": display_name,
            "members": [{"value": member} for member in member_ids],
        }
        return str(self.call("POST", "/Groups", payload)["id"])

    def users(self) -> list[dict[str, Any]]:
        return self._all("/Users")

    def groups(self) -> list[dict[str, Any]]:
        return self._all("/Groups")

    def _all(self, path: str) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        start = 1
        while True:
            page = self.call("GET", f"{path}?startIndex={start}&count={self.admin_page}")
            resources = page.get("Resources") or []
            fresh = [r for r in resources if str(r["id"]) not in found]
            if not fresh:
                return list(found.values())
            found.update((str(r["id"]), r) for r in fresh)
            start += len(resources)


class ScimServer(ScimAdmin):
    """A running scim2-server: its URL, token, request log, and seeding over HTTP."""

    def __init__(self, url: str, token: str, injector: FaultInjector, storage: InMemoryStorage) -> None:
        self.url = url
        self.token = token
        self.injector = injector
        self.storage = storage

    def admin_base(self) -> str:
        return self.url

    @property
    def request_log(self) -> RequestLog:
        return self.injector.request_log

    @property
    def writes(self) -> list[LoggedRequest]:
        return self.injector.request_log.writes

    @property
    def max_in_flight(self) -> int:
        return self.injector.max_in_flight

    @property
    def faults(self) -> list[Fault]:
        return self.injector.faults

    def reset_log(self) -> None:
        with self.injector.lock:
            self.injector.request_log.clear()
            self.injector.max_in_flight = 0

    def set_faults(self, faults: Iterable[Fault], delay: float = 0.0) -> None:
        with self.injector.lock:
            self.injector.faults = list(faults)
            self.injector.delay = delay

    def set_interleaves(self, interleaves: Iterable[Interleave]) -> None:
        with self.injector.lock:
            self.injector.interleaves = list(interleaves)

    def set_quirks(self, quirks: Quirks) -> None:
        with self.injector.lock:
            self.injector.quirks = quirks

    def user_by_name(self, user_name: str) -> dict[str, Any]:
        matches = [u for u in self.users() if u["userName"].lower() == user_name.lower()]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} users named {user_name}")
        return matches[0]

    def group_members(self, display_name: str) -> set[str]:
        """userNames of the members of the group with this display name."""
        names = {u["id"]: u["userName"] for u in self.users()}
        (group,) = [g for g in self.groups() if g["displayName"] == display_name]
        return {names.get(m["value"], m["value"]) for m in group.get("members", [])}


class BackloggedServer(ThreadingWSGIServer):
    """A deeper listen backlog than the default 5, for concurrent clients and benchmarks."""

    request_queue_size = 256


def scim_application(
    token: str,
    storage: InMemoryStorage,
    *,
    patch: bool = True,
    etag: bool = True,
    max_results: int | None = None,
    filter: bool = True,
    extensions: Iterable[dict[str, Any]] = (),
    bulk: bool = False,
) -> BearerTokenApplication:
    """scim2-server's own app, as its CLI builds it with --bearer-token.

    `patch`, `etag`, `max_results` and `filter` change what its ServiceProviderConfig says,
    and scim2-server behaves accordingly (501 to PATCH or to a filter, no versions, pages of
    at most max_results). `extensions`: custom User extension schemas (RFC 7643 §7 Schema
    documents) it declares in /Schemas and /ResourceTypes, and then stores.
    """
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    if config.patch is not None:
        config.patch.supported = patch
    if config.etag is not None:
        config.etag.supported = etag
    if max_results is not None and config.filter is not None:
        config.filter.max_results = max_results
    if config.filter is not None:
        config.filter.supported = filter
    if config.bulk is not None:
        config.bulk.supported = bulk
    schemas = [*load_default_schemas().values()]
    resource_types = load_default_resource_types()
    for document in extensions:
        schema = Schema.model_validate(document)
        schemas.append(schema)
        user = resource_types["User"]
        user.schema_extensions = [
            *(user.schema_extensions or []),
            SchemaExtension.model_validate({"schema": schema.id, "required": False}),
        ]
    provider = ScimProvider.from_discovery(schemas, resource_types.values(), config=config)
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    return BearerTokenApplication(storage, provider, service=service, bearer_tokens=[token])


@contextmanager
def run_scim_server(
    token: str = "test-scim-token",
    faults: Iterable[Fault] = (),
    *,
    delay: float = 0.0,
    wrap: Callable[[WSGIApplication], WSGIApplication] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    patch: bool = True,
    etag: bool = True,
    max_results: int | None = None,
    filter: bool = True,
    quirks: Quirks | None = None,
    extensions: Iterable[dict[str, Any]] = (),
    bulk: bool = False,
) -> Iterator[ScimServer]:
    """Serve scim2-server on host:port (a free port by default) in a thread; the URL ends in /v2."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output clean: the middleware keeps its own request log."""

    storage = InMemoryStorage()
    app: WSGIApplication = scim_application(
        token,
        storage,
        patch=patch,
        etag=etag,
        max_results=max_results,
        filter=filter,
        extensions=extensions,
        bulk=bulk,
    )
    if wrap is not None:
        app = wrap(app)
    injector = FaultInjector(app, list(faults), delay, quirks=quirks or Quirks())
    server = make_server(host, port, injector, server_class=BackloggedServer, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="scim2-server", daemon=True)
    thread.start()
    try:
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        yield ScimServer(f"http://{shown}:{server.server_port}/v2", token, injector, storage)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
