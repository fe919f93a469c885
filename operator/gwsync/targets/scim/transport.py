"""HTTP to the SCIM target: scim2-client over httpx, answers bounded in size, 429/503 retried.

A request waits for one of the pacer's slots (`pacing.Pacer`: a 429 or 503 halves the
requests allowed in flight, answers grow it back, a Retry-After holds every new request), and
429/503 are retried a bounded number of times, waiting as `gwsync.backoff` says (exponential
back-off with jitter, Retry-After as a floor up to MAX_RETRY_AFTER); the wait happens outside
the slot, so a storm does not pin the slots. TLS verification is always on; a PEM CA bundle may
be added, never replace it. Every answer is bounded at MAX_ANSWER_BYTES, gzip included.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import httpx
from scim2_client import RequestNetworkException
from scim2_client.client import BaseAsyncSCIMClient, RawResponse, describe_resource_models
from scim2_models import EnterpriseUser, Group, ScimProvider, User
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt

from gwsync.backoff import Backoff, retry_after_seconds
from gwsync.sync.ports import TargetUnavailable
from gwsync.targets.scim.pacing import Pacer

RETRIED_STATUSES = frozenset({429, 503})
RETRY_CAP = 30.0
"""The longest back-off step between two attempts of one request (before jitter)."""
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Counters:
    """Requests sent (retries included) and, of those, writes and throttled (429/503) ones."""

    requests: int = 0
    writes: int = 0
    retries: int = 0
    throttled: int = 0


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """System trust plus the optional PEM bundle; verification can never be switched off."""
    context = ssl.create_default_context()
    if ca_bundle:
        try:
            context.load_verify_locations(cadata=ca_bundle)
        except ssl.SSLError as exc:
            raise TargetUnavailable(
                "The CA bundle (caBundleSecretRef) is not valid PEM certificates; "
                "put one or more -----BEGIN CERTIFICATE----- blocks in that Secret key."
            ) from exc
    return context


# --- Bounded answers: a hostile target must not make the operator read 50 MB into memory --------

READ = httpx.ByteStream(b"")
"""The stream of a response whose body has been read (ScimTransport.send_once)."""
MAX_ANSWER_BYTES = 32 << 20  # a 500-user page with every attribute is well under 1 MiB


def answer_too_large(request: httpx.Request) -> httpx.RequestError:
    return httpx.RequestError(
        f"the answer to {request.method} {request.url.path} is larger than {MAX_ANSWER_BYTES >> 20} MiB, "
        "which gwsync does not read",
        request=request,
    )


class BoundedStream(httpx.AsyncByteStream):
    """A response body that fails past MAX_ANSWER_BYTES, counted after gzip is undone (httpx
    inflates without a bound, so a 50 KB gzip bomb would become gigabytes)."""

    def __init__(self, request: httpx.Request, raw: httpx.AsyncByteStream, *, gzipped: bool) -> None:
        # The request, not the response: a response holding its own stream holding it would be
        # a reference cycle, its body freed only by the garbage collector (issue 12: 100 MB of
        # list pages waited for it in a daily sync of 100,000 users).
        self.request = request
        self.raw = raw
        self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self.raw:
            for piece in self._decoded(chunk, MAX_ANSWER_BYTES - size):
                size += len(piece)
                if size > MAX_ANSWER_BYTES:
                    raise answer_too_large(self.request)
                yield piece

    def _decoded(self, chunk: bytes, room: int) -> Iterator[bytes]:
        if self.inflater is None:
            yield chunk
            return
        try:
            piece = self.inflater.decompress(chunk, room + 1)
            yield piece
            while self.inflater.unconsumed_tail and len(piece) <= room:
                room -= len(piece)
                piece = self.inflater.decompress(self.inflater.unconsumed_tail, room + 1)
                yield piece
        except zlib.error as exc:
            raise httpx.DecodingError(f"the gzip answer cannot be read ({exc})") from None

    async def aclose(self) -> None:
        await self.raw.aclose()


async def bound_answer(response: httpx.Response) -> None:
    """httpx response hook, before the body is read: too large is refused, gzip is undone here."""
    declared = response.headers.get("Content-Length", "")
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES and encoding == "identity":
        await response.aclose()
        raise answer_too_large(response.request)
    if encoding not in ("identity", "gzip"):
        await response.aclose()
        raise httpx.RequestError(
            f"the answer to {response.request.method} {response.request.url.path} is encoded as "
            f"{encoding[:40]!r}, which gwsync did not ask for (it accepts gzip)",
            request=response.request,
        )
    if encoding == "gzip":
        del response.headers["Content-Encoding"]  # inflated by BoundedStream, within the bound
    response.stream = BoundedStream(
        response.request, cast(httpx.AsyncByteStream, response.stream), gzipped=encoding == "gzip"
    )


class Withdrawn(Exception):
    """A request not sent: what it carried was withdrawn while it waited for a slot."""


class ScimTransport(BaseAsyncSCIMClient):
    """scim2-client over httpx, with an adaptive concurrency bound and 429/503 retries.

    scim2-client 0.13 ships an engine for "httpx2"; this is the same thin engine for httpx.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_concurrency: int,
        retry_base: float,
        max_attempts: int,
        counters: Counters,
        retry_cap: float = RETRY_CAP,
    ) -> None:
        models, resource_types = describe_resource_models([User[EnterpriseUser], Group])
        super().__init__(
            provider=ScimProvider(models=models, resource_types=resource_types),
            check_request_payload=False,
            check_response_payload=False,
        )
        self.client = client
        self.pacer = Pacer(max_concurrency)
        self.backoff = Backoff(retry_base, retry_cap)
        self.max_attempts = max_attempts
        self.counters = counters
        self.halted: str | None = None
        """Set by ScimTarget.halt: why no request may be sent any more."""

    def _stays_under_base_url(self, endpoint: str) -> bool:
        return not endpoint.startswith(("http://", "https://", "//"))

    def _parse_json(self, response: RawResponse) -> Any:
        return cast(httpx.Response, response).json()

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self.wait,
            retry=retry_if_result(lambda response: response.status_code in RETRIED_STATUSES),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        return cast(httpx.Response, await retrying(self.send_once, method, url, **kwargs))

    def wait(self, state: RetryCallState) -> float:
        response = cast(httpx.Response, state.outcome.result()) if state.outcome else None
        return self.delay(state.attempt_number, response)

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """The wait before the next attempt (`gwsync.backoff`: Retry-After as a floor, else
        exponential back-off with jitter); counted as a retry."""
        self.counters.retries += 1
        header = response.headers.get("Retry-After") if response is not None else None
        return self.backoff.delay(attempt, header)

    async def send_once(
        self, method: str, url: str, *, wanted: Callable[[], bool] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request in one of the pacer's slots, bounded as a whole by the client's timeout;
        its answer tells the pacer how it went. `wanted` is asked once the slot is free: False
        raises Withdrawn and nothing is sent (the writes it carried were withdrawn meanwhile).

        httpx times each read, not the request: an answer trickling in a byte at a time
        would hold the sync for as long as the server likes, so the whole exchange gets the
        same bound (docs/reliability.md, the trickle row).
        """
        async with self.pacer.slot() as ticket:
            if wanted is not None and not wanted():
                raise Withdrawn
            if self.halted is not None:  # apply stops as for a target gone (sync.apply)
                raise TargetUnavailable(self.halted)
            self.counters.requests += 1
            if method in WRITE_METHODS:
                self.counters.writes += 1
            try:
                async with asyncio.timeout(self.client.timeout.read):
                    response = await self.client.request(method, url, **kwargs)
                # The body is read: httpx's stream refers back to the response, a cycle that
                # kept every list page's body alive until a full garbage collection (issue 12).
                response.stream = READ
            except httpx.RequestError as exc:
                error = RequestNetworkException()
                error.add_note(describe_network_error(exc))
                raise error from exc
            except TimeoutError as exc:
                error = RequestNetworkException()
                error.add_note("the request timed out")
                raise error from exc
            if response.status_code in RETRIED_STATUSES:
                self.counters.throttled += 1
                asked = retry_after_seconds(response.headers.get("Retry-After"), 0.0)
                self.pacer.throttled(ticket, asked or None)
            else:
                self.pacer.succeeded(ticket)
            return response


def describe_network_error(exc: httpx.RequestError) -> str:
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text or isinstance(exc.__cause__, ssl.SSLError):
        return (
            f"TLS verification failed ({text}); add the server's CA to spec.target.scim.caBundleSecretRef "
            "(gwsync sync and plan: --scim-ca-bundle-file FILE)"
        )
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({text})"
    if isinstance(exc, httpx.TimeoutException):
        return "the request timed out"
    return text
