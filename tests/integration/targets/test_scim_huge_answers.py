"""A SCIM target answering 50 MB: refused before it is read whole, in one sentence, never retried."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gwsync.targets.scim import ScimTarget, TargetUnavailable

HUGE = 50 << 20
CHUNK = b" " * (1 << 20)
CONFIG = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "patch": {"supported": True},
    "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
    "filter": {"supported": True, "maxResults": 200},
    "changePassword": {"supported": False},
    "sort": {"supported": False},
    "etag": {"supported": False},
}


@dataclass
class Flood:
    """What the target sends, and how much of it the client took."""

    mode: str
    url: str = ""
    sent: int = 0
    requests: int = 0


def serve(flood: Flood) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the body ends when the connection closes

        def do_GET(self) -> None:
            flood.requests += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/scim+json")
            if flood.mode == "small gzip":
                body = gzip.compress(json.dumps(CONFIG).encode())
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if flood.mode in ("gzip bomb", "brotli"):
                body = gzip.compress(b"{" + b" " * HUGE + b"}", compresslevel=9)  # about 50 KB
                self.send_header("Content-Encoding", "gzip" if flood.mode == "gzip bomb" else "br")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                flood.sent = len(body)
                return
            if flood.mode == "declared":
                self.send_header("Content-Length", str(HUGE))
            self.end_headers()
            try:
                while flood.sent < HUGE:
                    self.wfile.write(CHUNK)
                    flood.sent += len(CHUNK)
            except OSError:
                pass  # the client hung up: what a bounded reader does

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    flood.url = f"http://127.0.0.1:{server.server_address[1]}/v2"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(params=["declared", "undeclared", "gzip bomb", "brotli"])
def flood(request: pytest.FixtureRequest) -> Iterator[Flood]:
    flood = Flood(request.param)
    server = serve(flood)
    try:
        yield flood
    finally:
        server.shutdown()
        server.server_close()


async def test_a_huge_answer_is_refused_before_it_is_read_whole(flood: Flood) -> None:
    async with ScimTarget(flood.url, "token", retry_base=0.01) as target:
        with pytest.raises(TargetUnavailable) as error:
            await target.check()
    if flood.mode == "brotli":
        reason = "is encoded as 'br', which gwsync did not ask for (it accepts gzip)"
    else:
        reason = "is larger than 32 MiB, which gwsync does not read"
    assert str(error.value) == (
        f"The SCIM target {flood.url} cannot be reached: the answer to GET "
        f"/v2/ServiceProviderConfig {reason}."
    )
    assert flood.requests == 1  # not retried
    if flood.mode in ("declared", "undeclared"):
        assert flood.sent < HUGE  # the client stopped reading: the 50 MB never arrived whole


async def test_a_small_gzip_answer_is_read_as_before() -> None:
    flood = Flood("small gzip")
    server = serve(flood)
    try:
        async with ScimTarget(flood.url, "token") as target:
            capabilities = await target.check()
        assert (capabilities.patch, capabilities.page_size) == (True, 200)
    finally:
        server.shutdown()
        server.server_close()
