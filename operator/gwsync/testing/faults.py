"""A fault-injecting reverse proxy: put it in front of any HTTP server to script its failures.

The fault matrix (docs/reliability.md) needs the same misbehaviours on every side — the Google
emulator, its token endpoint, scim2-server — including ones a server cannot produce about
itself: a connection reset after the upstream applied a write, an answer that never comes, a
body that trickles in one byte at a time. So the faults live here, in the network path, and
the servers behind stay honest. A test scripts it per request:

    proxy.inject(Answer(503), method="POST", path="/Users", times=3)   # next 3 creates: 503
    proxy.inject(Reset(applied=True), method="POST", path="/Users")    # forward, then RST
    proxy.inject(Hang(), path="/users")                                # never answer

Every request is logged with what the proxy did to it (`Entry.outcome`: forwarded, answered,
reset, hung, delayed, trickled, rewritten), when, and the status the client got, so a test
can count retries, measure back-off and prove that an injected fault really happened.

With no fault scripted it is a recording proxy: the interoperability matrix puts it in front
of third-party servers (Django, Flask, Node), which keep no request log a test can read, so
"the second sync writes nothing" is measured on any server.

The proxy changes nothing else in either direction except hop-by-hop headers. A fault
matches by method, a substring of the path, of the query string and of the body; the first
matching fault with hits left applies (`times=None`: every matching request).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from gwsync.testing.request_log import LoggedRequest, RequestLog, RequestMatch, take
from gwsync.testing.threads import serving_in_thread

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}
)


# --- what a fault does --------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """Answer with this status and body instead of the upstream's.

    `body`: bytes as is, str encoded, anything else as JSON. With `applied`, the request is
    first forwarded (the upstream does the work: a POST creates) and only its answer is
    replaced: the ambiguous failure of a gateway that broke after the backend acted.
    """

    status: int
    body: Any = b""
    headers: tuple[tuple[str, str], ...] = ()
    applied: bool = False
    content_type: str = "application/json"


@dataclass(frozen=True)
class Reset:
    """Drop the connection with a TCP reset; with `applied`, after forwarding the request."""

    applied: bool = False


@dataclass(frozen=True)
class Hang:
    """Never answer (until `seconds` pass, `FaultProxy.release()` or the proxy stops).

    With `applied`, the request is forwarded first: the write happens, the answer never
    comes, and the client's timeout decides. The connection is then reset.
    """

    seconds: float | None = None
    applied: bool = False


@dataclass(frozen=True)
class Delay:
    """Forward the request after `seconds` (a slow server that still answers)."""

    seconds: float


@dataclass(frozen=True)
class Trickle:
    """Forward, then send the answer's body one byte every `interval` seconds.

    A client whose timeout is per read (not per request) waits for as long as this lasts.
    """

    interval: float


@dataclass(frozen=True)
class Rewrite:
    """Forward, then answer `transform(upstream JSON)` (with `status` when set).

    For wrong-typed fields, a page token that comes back, an error inside a 200.
    """

    transform: Callable[[Any], Any]
    status: int | None = None


Action = Answer | Reset | Hang | Delay | Trickle | Rewrite


@dataclass
class Fault(RequestMatch):
    """An action and the requests it applies to (gwsync.testing.request_log.RequestMatch)."""

    action: Action


Entry = LoggedRequest
"""One request as the proxy handled it; logged when it arrives, completed when it ends."""


@dataclass
class FaultProxy:
    """The running proxy: `url` to give the client, `faults` scripted, `log` of what it did."""

    url: str
    upstream: str
    faults: list[Fault] = field(default_factory=list)
    log: RequestLog = field(default_factory=RequestLog)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.AbstractEventLoop | None = None

    def inject(
        self,
        action: Action,
        *,
        method: str | None = None,
        path: str | None = None,
        query: str | None = None,
        body: str | None = None,
        times: int | None = 1,
    ) -> Fault:
        """Add a fault after those already scripted; returns it (its `hits` are live)."""
        fault = Fault(action, method=method, path=path, query=query, body=body, times=times)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """No more faults: every request is forwarded; hung requests are let go."""
        with self.lock:
            self.faults.clear()
        self.release()

    def release(self) -> None:
        """End every Hang now (their connections are reset); callable from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._released.set)

    def entries(self, outcome: str | None = None, *, path: str | None = None) -> list[Entry]:
        with self.lock:
            return [
                e
                for e in self.log
                if (outcome is None or e.outcome == outcome) and (path is None or path in e.path)
            ]

    @property
    def injected(self) -> list[Entry]:
        with self.lock:
            return [e for e in self.log if e.injected]

    def reset_log(self) -> None:
        with self.lock:
            self.log.clear()

    def _take(self, method: str, path: str, query: str, body: bytes) -> Fault | None:
        with self.lock:
            fault = take(self.faults, method, path, query, body)
            if fault is not None and isinstance(fault.action, Hang):
                self._released.clear()
            return fault

    def _arrived(self, method: str, path: str, query: str, body: bytes) -> Entry:
        entry = LoggedRequest(method, path, query, body=body, outcome="pending")
        with self.lock:
            self.log.append(entry)
        return entry


# --- serving --------------------------------------------------------------------------------------


def _encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _reset(request: web.Request) -> None:
    """Close the client's connection with a TCP RST (SO_LINGER 0), not a clean FIN."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class _Dropped(Exception):
    """The connection was reset on purpose: no answer to write."""


@contextlib.asynccontextmanager
async def fault_proxy(upstream: str, prefix: str = "") -> AsyncIterator[FaultProxy]:
    """Serve the proxy on a free loopback port; `url` = proxy + `prefix` (e.g. /v2)."""
    upstream = upstream.rstrip("/")
    session = aiohttp.ClientSession(auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None))
    proxy = FaultProxy(url="", upstream=upstream, _loop=asyncio.get_running_loop())
    stopping = asyncio.Event()

    async def forward(request: web.Request, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with session.request(
            request.method,
            upstream + request.rel_url.path_qs,
            headers=headers,
            data=body or None,
            allow_redirects=False,
        ) as answer:
            payload = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            return answer.status, payload, kept

    async def hang(seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proxy._released.wait(), seconds)

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        entry = proxy._arrived(request.method, request.path, request.query_string, body)
        fault = proxy._take(request.method, request.path, request.query_string, body)
        action = fault.action if fault is not None else None
        outcome, status, applied = "forwarded", None, False
        if isinstance(action, Hang):
            entry.outcome = "hung"  # visible while it hangs

        def record() -> None:
            with proxy.lock:
                entry.outcome, entry.status, entry.applied = outcome, status, applied
                entry.ended = time.monotonic()

        try:
            if action is None or isinstance(action, Delay):
                if isinstance(action, Delay):
                    outcome = "delayed"
                    await asyncio.sleep(action.seconds)
                status, payload, headers = await forward(request, body)
                applied = True
                return web.Response(status=status, body=payload, headers=headers)
            if isinstance(action, Answer):
                outcome = "answered"
                if action.applied:
                    await forward(request, body)
                    applied = True
                status = action.status
                headers = {"Content-Type": action.content_type, **dict(action.headers)}
                return web.Response(status=status, body=_encode(action.body), headers=headers)
            if isinstance(action, Reset):
                outcome = "reset"
                if action.applied:
                    await forward(request, body)
                    applied = True
                _reset(request)
                raise _Dropped
            if isinstance(action, Hang):
                outcome = "hung"
                if action.applied:
                    await forward(request, body)
                    applied = True
                await hang(action.seconds)
                _reset(request)
                raise _Dropped
            if isinstance(action, Rewrite):
                outcome = "rewritten"
                upstream_status, payload, headers = await forward(request, body)
                applied = True
                status = action.status or upstream_status
                rewritten = action.transform(json.loads(payload) if payload else None)
                return web.Response(status=status, body=_encode(rewritten), headers=headers)
            # Trickle: the status and headers at once, then the body a byte at a time.
            outcome = "trickled"
            status, payload, headers = await forward(request, body)
            applied = True
            response = web.StreamResponse(status=status, headers=headers)
            response.content_length = len(payload)
            await response.prepare(request)
            for index in range(len(payload)):
                if stopping.is_set() or request.transport is None or request.transport.is_closing():
                    break
                await response.write(payload[index : index + 1])
                await asyncio.sleep(action.interval)
            return response
        except _Dropped:
            return web.Response(status=500)  # never written: the transport is gone
        finally:
            record()

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    proxy.url = f"http://127.0.0.1:{runner.addresses[0][1]}{prefix}"
    try:
        yield proxy
    finally:
        stopping.set()
        proxy._released.set()
        await runner.cleanup()
        await session.close()


@contextlib.contextmanager
def fault_proxy_in_thread(upstream: str, prefix: str = "") -> Iterator[FaultProxy]:
    """`fault_proxy` served from its own thread and loop, for blocking clients and tests."""
    with serving_in_thread(lambda: fault_proxy(upstream, prefix), "fault-proxy") as proxy:
        yield proxy
