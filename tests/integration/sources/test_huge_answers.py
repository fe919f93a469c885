"""A Directory API endpoint answering 50 MB: refused before it is read whole, in one sentence."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gwsync.sources.google import GoogleDirectory, static_token_credentials
from gwsync.sync.ports import SourceUnavailable

HUGE = 50 << 20
CHUNK = b" " * (1 << 20)


@dataclass
class Flood:
    """What the endpoint sends, and how much of it the client took."""

    mode: str
    url: str = ""
    sent: int = 0


def serve(flood: Flood) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the body ends when the connection closes

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if flood.mode == "declared":
                self.send_header("Content-Length", str(HUGE))
            if flood.mode == "gzip bomb":
                body = gzip.compress(b"{" + b" " * HUGE + b"}", compresslevel=9)  # about 50 KB
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                flood.sent = len(body)
                return
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
    flood.url = f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(params=["declared", "undeclared", "gzip bomb"])
def flood(request: pytest.FixtureRequest) -> Iterator[Flood]:
    flood = Flood(request.param)
    server = serve(flood)
    try:
        yield flood
    finally:
        server.shutdown()
        server.server_close()


def test_a_huge_answer_is_refused_before_it_is_read_whole(flood: Flood) -> None:
    directory = GoogleDirectory(
        static_token_credentials("ya29.test"),
        admin_email="admin@acme.example",
        service_account="gwsync@acme.iam.gserviceaccount.com",
        api_endpoint=flood.url,
        max_attempts=3,
    )
    with pytest.raises(SourceUnavailable) as error:
        directory.check_connection()
    assert str(error.value) == (
        f"Reading the customer failed: the answer is larger than 32 MiB, which gwsync does not read from "
        f"{flood.url}; is google.apiEndpoint the Directory API?"
    )
    assert directory.counts.requests == 1  # refused once, not retried
    if flood.mode != "gzip bomb":
        assert flood.sent < HUGE  # the client stopped reading: the 50 MB never arrived whole
