"""scim2-server (third-party, in-memory, bearer token) in a thread, for tests, the demo and benches.

The target side of every gwsync test is the real scim2-server from PyPI, not something we
wrote, so the SCIM adapter is checked against someone else's reading of RFC 7643/7644. In
front of it sits a small WSGI middleware of ours that only observes and injects faults:

- every request is logged (method, path, status) so tests can count writes;
- the number of requests in flight is tracked, with its maximum (for maxConcurrency);
- chosen requests are answered with an error instead (500, 409, 429 with Retry-After...);
- an optional per-request delay makes concurrency observable on a fast in-memory store.

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
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


@dataclass
class Fault:
    """Answer matching requests with `status` instead of passing them to scim2-server.

    A request matches when its method equals `method` (if set), its path contains `path`
    (if set) and its body contains `body` (if set). `times` is how many matching requests
    get the fault (None: all of them).
    """

    status: int
    method: str | None = None
    path: str | None = None
    body: str | None = None
    times: int | None = 1
    retry_after: str | None = None
    scim_type: str | None = None
    detail: str = "Injected fault"
    hits: int = 0

    def matches(self, method: str, path: str, body: bytes) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method != method:
            return False
        if self.path is not None and self.path not in path:
            return False
        return self.body is None or self.body.encode() in body

    def response(self) -> tuple[str, list[tuple[str, str]], bytes]:
        error: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            error["scimType"] = self.scim_type
        headers = [("Content-Type", "application/scim+json")]
        if self.retry_after is not None:
            headers.append(("Retry-After", self.retry_after))
        return f"{self.status} Injected", headers, json.dumps(error).encode()


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int

    @property
    def write(self) -> bool:
        return self.method in {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class FaultInjector:
    """The observing, fault-injecting WSGI middleware in front of scim2-server."""

    app: WSGIApplication
    faults: list[Fault] = field(default_factory=list)
    delay: float = 0.0
    request_log: list[LoggedRequest] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        body = read_body(environ)
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            fault = next((f for f in self.faults if f.matches(method, path, body)), None)
            if fault is not None:
                fault.hits += 1
        try:
            if self.delay:
                time.sleep(self.delay)  # server-side latency, so concurrency is observable
            status_holder: list[str] = []

            def recording_start(status: str, headers: Any, exc_info: Any = None) -> Any:
                status_holder.append(status)
                return start_response(status, headers, exc_info)

            if fault is not None:
                status, headers, payload = fault.response()
                recording_start(status, headers)
                chunks: list[bytes] = [payload]
            else:
                chunks = list(self.app(environ, recording_start))
            with self.lock:
                self.request_log.append(LoggedRequest(method, path, int(status_holder[0].split()[0])))
            return chunks
        finally:
            with self.lock:
                self.in_flight -= 1


def read_body(environ: WSGIEnvironment) -> bytes:
    """Read the request body and put it back, so the application can read it again."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class ScimServer:
    """A running scim2-server: its URL, token, request log, and seeding over HTTP."""

    def __init__(self, url: str, token: str, injector: FaultInjector, storage: InMemoryStorage) -> None:
        self.url = url
        self.token = token
        self.injector = injector
        self.storage = storage

    @property
    def request_log(self) -> list[LoggedRequest]:
        return self.injector.request_log

    @property
    def writes(self) -> list[LoggedRequest]:
        return [r for r in self.injector.request_log if r.write]

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

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        """One SCIM request; returns the decoded JSON body (None when empty)."""
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Content-Type", "application/scim+json")
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

    def _all(self, path: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            page = self.call("GET", f"{path}?startIndex={len(found) + 1}&count=1000")
            resources = page.get("Resources", [])
            found.extend(resources)
            if not resources or len(found) >= page.get("totalResults", 0):
                return found


class BackloggedServer(ThreadingWSGIServer):
    """A deeper listen backlog than the default 5, for concurrent clients and benchmarks."""

    request_queue_size = 256


def scim_application(token: str, storage: InMemoryStorage) -> BearerTokenApplication:
    """scim2-server's own app, as its CLI builds it with --bearer-token."""
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
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
) -> Iterator[ScimServer]:
    """Serve scim2-server on host:port (a free port by default) in a thread; the URL ends in /v2."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output clean: the middleware keeps its own request log."""

    storage = InMemoryStorage()
    app: WSGIApplication = scim_application(token, storage)
    if wrap is not None:
        app = wrap(app)
    injector = FaultInjector(app, list(faults), delay)
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
