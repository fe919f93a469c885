"""A recording reverse proxy: put it in front of any SCIM server to count what a client sends.

Third-party servers (Django, Flask, Node) keep no request log a test can read, so the
interoperability matrix points gwsync at this proxy instead: every request is forwarded
as is (method, path, query, headers, body) to the upstream server and logged with the
answer's status, so "the second sync writes nothing" is measured on any server. It changes
nothing in either direction except hop-by-hop headers.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from gwsync.testing.threads import serving_in_thread

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}
)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: str
    status: int

    @property
    def write(self) -> bool:
        return self.method in {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Recorder:
    """The running proxy: `url` to give the client, `log` of what went through."""

    url: str
    upstream: str
    log: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def writes(self) -> list[Recorded]:
        return [r for r in self.log if r.write]

    def reset(self) -> None:
        with self.lock:
            self.log.clear()


@contextlib.asynccontextmanager
async def recording(upstream: str, prefix: str = "") -> AsyncIterator[Recorder]:
    """Serve the proxy on a free loopback port; `url` = proxy + `prefix` (the SCIM base path)."""
    upstream = upstream.rstrip("/")
    session = aiohttp.ClientSession(auto_decompress=False)
    recorder = Recorder(url="", upstream=upstream)

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
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
            with recorder.lock:
                recorder.log.append(
                    Recorded(request.method, request.path, request.query_string, answer.status)
                )
            return web.Response(status=answer.status, body=payload, headers=kept)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    recorder.url = f"http://127.0.0.1:{port}{prefix}"
    try:
        yield recorder
    finally:
        await runner.cleanup()
        await session.close()


@contextlib.contextmanager
def recording_in_thread(upstream: str, prefix: str = "") -> Iterator[Recorder]:
    """`recording` served from its own thread, for blocking tests and servers in threads."""
    with serving_in_thread(lambda: recording(upstream, prefix), "scim-recorder") as recorder:
        yield recorder
