"""The SCIM 2.0 target: gwsync's users and teams written to any RFC 7643/7644 service provider.

This is the only module that imports the SCIM client (scim2-client, over httpx) and the SCIM
models. It implements `gwsync.sync.ports.Target`, so the sync core never sees HTTP.

What a real provider needs, and where it is handled:
- capabilities differ: ServiceProviderConfig is read once and decides PATCH or PUT, and the
  page size (filter.maxResults);
- without PATCH, every write is a read-modify-write PUT: GET the resource, change only the
  attributes gwsync manages (a user's mapped fields, a group's member list), PUT the whole
  resource back without `meta`, so what other tools or admins set (nickName, phoneNumbers,
  locale, roles, other members...) survives. When the server versions resources
  (meta.version or an ETag header) the PUT carries If-Match; a 412 means someone wrote in
  between, so the resource is read again and the change re-applied, at most
  PRECONDITION_ATTEMPTS times;
- rate limits: 429/503 are retried in the transport, honouring Retry-After, with exponential
  back-off and jitter (tenacity), a bounded number of times; the wait happens outside the
  concurrency slot, so a storm does not pin the slots. The slots themselves adapt
  (`gwsync.targets.pacing.Pacer`): a 429 or 503 halves the requests allowed in flight,
  answers grow it back up to `max_concurrency`, and a Retry-After holds every new request
  until then, so a sync under a rate limit runs as a steady stream near the limit;
- creates are not idempotent, so a POST is never blindly sent twice (`ScimTarget._create`):
  429 means the server refused before acting, and is retried as is; 503, any other 5xx and
  a request with no answer (a timeout) are ambiguous, since a gateway may fail after the
  provider stored the object. Then the object is first looked up by filter
  (`userName eq "..."`, `displayName eq "..."`) and, if it is there and is ours (same
  externalId for a user), its id is returned, with a sentence in `write_notes`. Only 503 is
  retried after a lookup that finds nothing; other failures fail the item and the next
  sync, which reads the whole target, finds the object if it was made. Without filter
  support there is no lookup and no retry after a 503;
- paging never trusts totalResults to stop: some providers report the page size there. A
  list stops on an empty page, or on a page shorter than an earlier one once the ids read
  reach totalResults (a first page shorter than the count asked is not "short": providers
  cap count silently, so one more page is asked). A page holding only ids already read
  (startIndex ignored) stops it too: with a note when the target gives no totalResults, as a
  failed read when totalResults counts more than was read (the rest cannot be reached, and a
  list cut short must not be planned against). When totalResults and what was read disagree,
  or paging looks broken, a sentence goes to `ScimTarget.notes` for the sync report.
  Every listing ends: cursor paging remembers each cursor of the listing and fails the read
  on one that comes back, or on a page of ids already read that still has a nextCursor; and
  each listing may take at most spec.target.scim.listLimits' pages and resources, and keep at
  most TEXT_PER_RESOURCE characters of text per resource maxResources allows (`ListingBounds`),
  so pages that always bring new ids, or users padded with huge values, fail the read instead
  of filling the operator's memory. Over the internet
  each page is mostly waiting, so once a first page as long as asked has given totalResults,
  the pages it implies are asked ahead, `max_concurrency` at a time, and taken in order with
  the same rules (`Paging`); a page shorter than asked before the end drops the pages asked
  ahead and the rest is read one page after the other. Cursor paging stays sequential;
- what a provider's /Schemas says about the User bends what is sent (`user_schema_of`,
  `fit_user`): attributes it does not declare, or declares readOnly or never returned, are not
  sent nor compared; emails and photos carry only the sub-attributes it declares; a required
  name.formatted is sent; a rename on an immutable userName fails its item with a sentence.
  A provider that fails on `count` is listed without it (`Capabilities.count`). Member values
  that are userNames, not ids (Canaille), are read as the users' ids and removed by the value
  the provider showed;
- a bound on requests in flight (`max_concurrency`, the pacer's ceiling, around each send);
- membership changes are PATCHes of at most 100 member operations, because providers
  (Azure, Okta, Slack) cap PATCH size around there;
- SCIM Bulk (RFC 7644 §3.7), when ServiceProviderConfig advertises it with PATCH and the
  spec does not turn it off (`bulk`): creates, updates, deactivations, deletions and
  membership changes go as operations of Bulk requests within maxOperations and
  maxPayloadSize (`gwsync.targets.bulk`), each keeping its own result; a user created in the
  same batch is added to teams by `bulkId` reference (`add_created_members`). A Bulk request
  refused as a whole switches this target to single requests, with a write note;
- TLS verification is always on; a PEM CA bundle may be added, never replace verification;
- a refused write becomes a `TargetError` whose message is a sentence for the report
  ("Target refused: 409 uniqueness on userName ..."); the token never appears anywhere.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import hashlib
import json
import logging
import random
import ssl
import time
import urllib.parse
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import httpx
from scim2_client import RequestNetworkException, SCIMClientException
from scim2_client.client import BaseAsyncSCIMClient, RawResponse, describe_resource_models
from scim2_models import EnterpriseUser, Group, ScimProvider, ServiceProviderConfig, User
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt

from gwsync.api.attributes import (
    ENTERPRISE_TARGETS,
    MANAGER,
    PHONE_TYPES,
    is_custom_target,
    phone_target,
    split_custom,
)
from gwsync.api.provisioning import ListLimits
from gwsync.sync.ports import (
    TargetError,
    TargetGroup,
    TargetUnavailable,
    TargetUser,
    UserAttributes,
    Value,
)
from gwsync.targets.scim.bulk import Batcher, BulkRefused, Operation, member_patch
from gwsync.targets.scim.pacing import Pacer
from gwsync.text import address_key, same_address, visible, without_surrogates

__all__ = ["ScimTarget", "TargetError", "TargetUnavailable"]

log = logging.getLogger(__name__)
Kept = TypeVar("Kept")

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
DEFAULT_BULK_PAYLOAD = 1 << 20
"""maxPayloadSize when a target advertises Bulk without one (RFC 7644's example: 1 MiB)."""
BULK_REFUSALS = frozenset({400, 403, 404, 405, 413, 415, 422, 501})
"""Answers to POST /Bulk that refuse Bulk as a whole (not there, not allowed, too large...)."""
MAX_MEMBER_OPS = 100
MAX_REFERENCES = 20
"""PATCHes naming a create by bulkId in one Bulk request (ScimTarget.add_created_members)."""
PRECONDITION_ATTEMPTS = 4
PAST_THE_END = 2**31 - 1
"""A startIndex past any target's last user: a list that returns nobody, without `count`."""
DEFAULT_PAGE_SIZE = 500
RETRIED_STATUSES = frozenset({429, 503})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Our field names (gwsync.sync.ports.USER_FIELDS) as SCIM PATCH paths.
PATCH_PATHS = {
    "userName": "userName",
    "emails": "emails",
    "externalId": "externalId",
    "name.givenName": "name.givenName",
    "name.familyName": "name.familyName",
    "displayName": "displayName",
    "active": "active",
    "title": "title",
    "department": f"{ENTERPRISE}:department",
    "userType": "userType",
    "photos": "photos",
}


OPTIONAL_USER_FIELDS = ("displayName", "title", "userType", "photos")
"""Core User attributes gwsync writes but can do without; the identity ones it cannot."""
SCHEMA_FIELDS = (*OPTIONAL_USER_FIELDS, "externalId")
"""gwsync fields (and User attributes of the same name) a schema may declare readOnly or never
returned: the provider then does not store them, and gwsync does not send them."""

PROFILES = ("auto", "generic", "aws-identity-center")
AWS_DOC_HOSTS = ("amazon.com", "amazonaws.com", "amazonaws.cn")
AWS_PAGE_SIZE = 100


@dataclass(frozen=True)
class UserSchema:
    """The parts of a provider's core User schema (/Schemas) that change what gwsync sends."""

    unsupported: frozenset[str] = frozenset()
    """Fields it does not declare (OPTIONAL_USER_FIELDS), or declares readOnly or never returned."""
    sub_attributes: dict[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    """emails, photos -> the sub-attributes it declares (others are refused by strict servers)."""
    formatted_name: bool = False
    """name.formatted is required: gwsync sends it (given and family name)."""
    immutable_user_name: bool = False
    """userName is immutable (set at creation): a rename cannot be written."""


@dataclass
class Capabilities:
    """What the provider's ServiceProviderConfig (and its profile) say we may use."""

    patch: bool = True
    page_size: int = DEFAULT_PAGE_SIZE
    filter: bool = True
    cursor: bool = False
    """Cursor paging (RFC 9865: `cursor`, `nextCursor`) instead of startIndex."""
    group_members: bool = True
    """Groups are read with their members; False: membership is read by filter (AWS)."""
    unsupported_fields: frozenset[str] = frozenset()
    """gwsync fields (USER_FIELDS) the provider does not store: never sent."""
    profile: str = "generic"
    count: bool = True
    """Lists may carry `count`; False: the provider fails on it (a 5xx), lists go without."""
    schema: UserSchema = dataclasses.field(default_factory=UserSchema)
    """What its /Schemas says about the core User (generic profile)."""
    bulk_max_operations: int = 0
    """bulk.maxOperations when bulk.supported (0: no Bulk)."""
    bulk_max_payload: int = 0
    """bulk.maxPayloadSize in bytes when bulk.supported."""


@dataclass
class Counters:
    """Requests sent (retries included) and, of those, writes and throttled (429/503) ones."""

    requests: int = 0
    writes: int = 0
    retries: int = 0
    throttled: int = 0


MAX_RETRY_AFTER = 120.0
"""The longest pause a Retry-After may impose: a provider asking for a day (86400) would hold
the sync that long at each of its attempts; past two minutes the sync goes on and the request
is retried (or fails its item) as for any other refusal."""


def retry_after_seconds(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), at most
    `MAX_RETRY_AFTER`."""
    if not value:
        return default
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):  # neither form: the header says nothing usable
        return default
    return min(MAX_RETRY_AFTER, max(0.0, parsed.timestamp() - time.time()))


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
    ) -> None:
        models, resource_types = describe_resource_models([User[EnterpriseUser], Group])
        super().__init__(
            provider=ScimProvider(models=models, resource_types=resource_types),
            check_request_payload=False,
            check_response_payload=False,
        )
        self.client = client
        self.pacer = Pacer(max_concurrency)
        self.retry_base = retry_base
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
        """Retry-After when the provider says, else exponential back-off with jitter."""
        self.counters.retries += 1
        backoff = self.retry_base * 2 ** (attempt - 1)
        jittered = backoff * (0.5 + random.random())
        header = response.headers.get("Retry-After") if response is not None else None
        asked: float = retry_after_seconds(header, 0.0)
        # Retry-After is honoured as a floor; a little jitter keeps clients from re-syncing.
        return float(asked + jittered * 0.1 if asked else jittered)

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
        return f"TLS verification failed ({text}); add the server's CA to caBundleSecretRef"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({text})"
    if isinstance(exc, httpx.TimeoutException):
        return "the request timed out"
    return text


class ScimTarget:
    """A SCIM 2.0 service provider as a gwsync `Target`."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        ca_bundle: str | None = None,
        max_concurrency: int = 8,
        retry_base: float = 0.5,
        max_attempts: int = 6,
        timeout: float = 30.0,
        profile: str = "auto",
        teams: Iterable[str] | None = None,
        bulk: bool = True,
        list_limits: ListLimits | None = None,
    ) -> None:
        """`profile`: "auto" (from ServiceProviderConfig), "generic" or "aws-identity-center".
        `teams`: the display names of the mapped teams, when known; on a target whose groups
        come without members (AWS), only those groups' members are read (each costs requests).
        `bulk`: use SCIM Bulk when the target advertises it (spec.target.scim.bulk).
        `list_limits`: the pages and resources one listing may take (spec.target.scim.listLimits)."""
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
        self.profile = profile
        self.teams = None if teams is None else {team.casefold() for team in teams}
        self._users_listing: asyncio.Future[list[TargetUser]] | None = None
        self._member_values: dict[str, str] = {}  # user id -> how groups name it, when not by id
        self.url = url.rstrip("/")
        self.bulk = bulk
        self.list_limits = list_limits or ListLimits()
        self.max_concurrency = max_concurrency
        self._batcher: Batcher | None = None
        self._creating: dict[asyncio.Future[Any], Operation] = {}  # create_user's task -> its Bulk op
        self.counters = Counters()
        self.capabilities: Capabilities | None = None
        self.user_extensions: dict[str, frozenset[str]] | None = None
        """`Target.user_extensions`: the User schema extensions /ResourceTypes declares, each with
        the attribute names /Schemas lists for it; None when the target does not say."""
        self._checking = asyncio.Lock()  # users and groups are listed at once: one check for both
        self.notes: list[str] = []
        """`Target.notes`: sentences for the sync report about a doubtful read (totalResults
        that disagrees with what was read, a server ignoring startIndex). Listing /Users or
        /Groups replaces that endpoint's earlier notes, so they describe the latest read of
        each and listing twice does not repeat them. Never holds the token."""
        self.write_notes: list[str] = []
        """Sentences about writes worth a line in the report but not doubting the read: a
        create answered with an error after the target had applied it, recovered by lookup.
        At most one sentence (it counts), accumulated over this object's life (one sync)."""
        self._notes_by_topic: dict[str, list[str]] = {}
        self._recoveries: list[str] = []
        self._recovery_note: str | None = None
        self._client = httpx.AsyncClient(
            base_url=self.url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/scim+json",
                "Accept-Encoding": "gzip",
            },
            event_hooks={"response": [bound_answer]},  # answers bounded at MAX_ANSWER_BYTES
            verify=ssl_context(ca_bundle),
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
        )
        self._scim = ScimTransport(
            self._client,
            max_concurrency=max_concurrency,
            retry_base=retry_base,
            max_attempts=max_attempts,
            counters=self.counters,
        )

    def __repr__(self) -> str:  # never show the token
        return f"ScimTarget({self.url!r})"

    def halt(self, reason: str) -> None:
        """Send nothing more: each request not sent yet raises TargetUnavailable(reason), so apply
        stops as when the target is gone (the rest Skipped, the ledger checkpointed). Requests
        in flight are answered first, so every write the target applied is known (Ctrl-C in
        `gwsync sync`)."""
        self._scim.halted = reason

    async def aclose(self) -> None:
        if self._batcher is not None:
            await self._batcher.aclose()
        await self._client.aclose()

    async def __aenter__(self) -> ScimTarget:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- capabilities and reachability -----------------------------------------------------

    async def check(self) -> Capabilities:
        """GET ServiceProviderConfig: the TargetReachable check; raises TargetUnavailable."""
        try:
            response = await self._scim.request("GET", "/ServiceProviderConfig")
        except SCIMClientException as exc:
            notes = "; ".join(getattr(exc, "__notes__", [])) or str(exc)
            raise TargetUnavailable(f"The SCIM target {self.url} cannot be reached: {notes}.") from exc
        if response.status_code != 200:
            raise TargetUnavailable(
                f"The SCIM target {self.url} answered {response.status_code} to GET "
                "/ServiceProviderConfig; check spec.target.scim.url points at the SCIM base URL.",
                status=response.status_code,
            )
        try:
            config = ServiceProviderConfig.model_validate(response.json())
        except ValueError as exc:
            raise TargetUnavailable(
                f"The SCIM target {self.url} did not answer a ServiceProviderConfig; check "
                "spec.target.scim.url points at the SCIM base URL (e.g. https://host/scim/v2)."
            ) from exc
        self.capabilities = capabilities_of(config, response.json(), self.profile)
        if self.capabilities.profile == "generic":
            if not await self._accepts_enterprise_extension():
                self.capabilities.unsupported_fields |= {"department"}
            self.capabilities.schema = await self._user_schema()
            self.capabilities.unsupported_fields |= self.capabilities.schema.unsupported
        if self.capabilities.unsupported_fields:
            fields = ", ".join(sorted(self.capabilities.unsupported_fields))
            self.write_notes.append(
                f"The target ({self.capabilities.profile}) does not support {fields}; gwsync does not send "
                f"{'them' if len(self.capabilities.unsupported_fields) > 1 else 'it'}."
            )
        await self._check_token()
        self._batcher = self._bulk_batcher(self.capabilities)
        return self.capabilities

    def _bulk_batcher(self, capabilities: Capabilities) -> Batcher | None:
        """A Bulk batcher when the target advertises Bulk (more than one operation a request)
        and PATCH, and `bulk` is on; without PATCH each write is a read-modify-write: singly."""
        if not (self.bulk and capabilities.patch and capabilities.bulk_max_operations > 1):
            return None
        if self._batcher is not None:  # checked again: keep the batcher (and whether it was refused)
            return self._batcher
        return Batcher(
            self._send_bulk,
            bulk_result,
            max_operations=capabilities.bulk_max_operations,
            max_payload=capabilities.bulk_max_payload,
            max_values=MAX_MEMBER_OPS,
            on_refused=self._bulk_refused,
        )

    @property
    def bulk_requests(self) -> int:
        """Bulk requests sent so far."""
        return self._batcher.requests if self._batcher is not None else 0

    @property
    def batch_size(self) -> int | None:
        """`Batching.batch_size`: with Bulk, as many writes as twice `max_concurrency` Bulk
        requests hold, so that apply's batch fills all those in flight and as many more, ready
        to go as each answers (one batch at a time, the next waited for the slowest request);
        None without Bulk."""
        if self._batcher is None or not self._batcher.on:
            return None
        return self._batcher.max_operations * self.max_concurrency * 2

    @property
    def request_size(self) -> int | None:
        """`Batching.request_size`: Bulk's maxOperations while Bulk is on, else None."""
        if self._batcher is None or not self._batcher.on:
            return None
        return self._batcher.max_operations

    def _bulk_refused(self, reason: str) -> None:
        self.write_notes.append(
            f"The target advertises SCIM Bulk but refused a Bulk request ({reason}); gwsync sent "
            "each write as a request of its own for the rest of the sync."
        )

    async def _send_bulk(
        self, body: bytes, count: int, wanted: Callable[[], bool]
    ) -> list[dict[str, Any]] | None:
        """`bulk.Send`: POST /Bulk; the answer's Operations, or None when nothing was sent
        (withdrawn while waiting for a slot). BulkRefused when Bulk is refused as a whole."""
        doing = f"sending {count} writes in a SCIM Bulk request"
        headers = {"Content-Type": "application/scim+json"}
        try:
            # 429 refused before acting: sent again. A 503 may come after the target applied
            # some operations (creates are not idempotent), so it fails the writes instead.
            for attempt in range(1, self._scim.max_attempts + 1):
                response = await self._scim.send_once(
                    "POST", "/Bulk", wanted=wanted, content=body, headers=headers
                )
                if response.status_code != 429 or attempt == self._scim.max_attempts:
                    break
                await asyncio.sleep(self._scim.delay(attempt, response))
        except Withdrawn:
            return None
        except SCIMClientException as exc:
            notes = "; ".join(getattr(exc, "__notes__", [])) or str(exc)
            raise TargetError(f"Target failed while {doing}: {notes}") from exc
        payload = answer(response, doing)
        status = response.status_code
        if status == 401:
            raise TargetUnavailable(
                "The SCIM token was refused (401); check the Secret named in "
                "spec.target.scim.tokenSecretRef holds a valid bearer token.",
                status=401,
            )
        operations = payload.get("Operations") if isinstance(payload, dict) else None
        if status == 200 and isinstance(operations, list):
            return [op for op in operations if isinstance(op, dict)]
        if status in BULK_REFUSALS or 200 <= status < 300:
            if not isinstance(payload, TargetError):
                raise BulkRefused(f"it answered {status} without a BulkResponse")
            said = str(payload).split(f"{doing}: ", 1)[-1]
            raise BulkRefused(said if said.startswith("it answered") else f"it answered {said}")
        raise payload if isinstance(payload, TargetError) else TargetError(f"Target failed while {doing}.")

    async def _write(
        self,
        method: str,
        path: str,
        doing: str,
        single: Callable[[], Awaitable[str | None]],
        data: dict[str, Any] | None = None,
    ) -> str | None:
        """One write: an operation of a Bulk request when Bulk is on, else `single`."""
        if self._batcher is None:
            return await single()

        async def alone(_: list[str]) -> str | None:
            return await single()

        return await self._batcher.write(Operation(method, path, doing, alone, data=data))

    async def _accepts_enterprise_extension(self) -> bool:
        """False when /ResourceTypes lists a User type without the enterprise extension (some
        providers refuse a User carrying it); True when it has it or cannot say."""
        try:
            response = await self._scim.request("GET", "/ResourceTypes")
            payload = response.json() if response.status_code == 200 else None
        except (SCIMClientException, ValueError):
            return True
        types = payload.get("Resources") if isinstance(payload, dict) else payload
        for resource_type in types if isinstance(types, list) else []:
            if isinstance(resource_type, dict) and resource_type.get("name") == "User":
                extensions = resource_type.get("schemaExtensions") or []
                declared = [str(e["schema"]) for e in extensions if isinstance(e, dict) and e.get("schema")]
                self.user_extensions = {schema: frozenset() for schema in declared}
                return ENTERPRISE in declared
        return True

    async def _user_schema(self) -> UserSchema:
        """The core User schema from /Schemas (`user_schema_of`); nothing when it cannot be read.
        The attributes of the User extensions /ResourceTypes declares go to `user_extensions`."""
        try:
            response = await self._scim.request("GET", "/Schemas")
            payload = response.json() if response.status_code == 200 else None
        except (SCIMClientException, ValueError):
            return UserSchema()
        schemas = payload.get("Resources") if isinstance(payload, dict) else payload
        for schema in schemas if isinstance(schemas, list) else []:
            if not isinstance(schema, dict) or not isinstance(schema.get("attributes") or [], list):
                continue
            attributes = schema.get("attributes") or []
            declared = frozenset(str(a.get("name", "")).casefold() for a in attributes if isinstance(a, dict))
            if self.user_extensions is not None and schema.get("id") in self.user_extensions:
                self.user_extensions[str(schema["id"])] = declared  # mapped extension attributes are checked
        return user_schema_of(payload)

    @property
    def unsupported_fields(self) -> frozenset[str]:
        """`Target.unsupported_fields`: what the provider does not store (known after check)."""
        return self.capabilities.unsupported_fields if self.capabilities else frozenset()

    async def _check_token(self) -> None:
        """Discovery endpoints may be anonymous (RFC 7644 §4), so the token is tried on /Users.

        A provider that fails on `count` (Canaille compares it as a string: a 500) but lists
        without it is listed without it from then on (`Capabilities.count`). That second
        question starts past the last user (PAST_THE_END), so it lists nobody."""
        try:
            response = await self._scim.request("GET", "/Users", params={"startIndex": 1, "count": 1})
            if response.status_code >= 500 and self.capabilities is not None:
                bare = await self._scim.request("GET", "/Users", params={"startIndex": PAST_THE_END})
                if bare.status_code == 200:
                    self.capabilities.count = False
                    response = bare
        except SCIMClientException as exc:
            notes = "; ".join(getattr(exc, "__notes__", [])) or str(exc)
            raise TargetUnavailable(f"The SCIM target {self.url} cannot be reached: {notes}.") from exc
        if response.status_code in (401, 403):
            raise TargetUnavailable(
                f"The SCIM token was refused ({response.status_code}) by {self.url}; check the Secret "
                "named in spec.target.scim.tokenSecretRef holds a valid bearer token.",
                status=response.status_code,
            )

    async def _capabilities(self) -> Capabilities:
        if self.capabilities is not None:
            return self.capabilities
        async with self._checking:  # a concurrent read waits for the first one's check
            return self.capabilities or await self.check()

    # --- reads -------------------------------------------------------------------------------

    async def list_users(self) -> list[TargetUser]:
        return list(await self._listed_users(fresh=True))

    def _listed_users(self, *, fresh: bool) -> asyncio.Future[list[TargetUser]]:
        """One listing of /Users shared by list_users and the member reads that need it.

        The engine lists users and groups at the same time: a member read that needs the
        users waits for the listing under way instead of starting a second one. `fresh` starts
        a new listing unless one is still running.
        """
        listing = self._users_listing
        if listing is None or (fresh and listing.done()):
            listing = self._users_listing = asyncio.ensure_future(self._list("User", "/Users", user_of))
        return listing

    async def list_groups(self) -> list[TargetGroup]:
        try:
            listed = await self._list("Group", "/Groups", group_of)
            if (await self._capabilities()).group_members:
                return await self._members_by_id(listed)
            groups: list[TargetGroup] = []
            for group in listed:
                if self.teams is None or group.display_name.casefold() in self.teams:
                    members = await self._members_of(group.id)
                    groups.append(TargetGroup(group.id, group.display_name, members))
                else:
                    groups.append(group)
            return groups
        finally:
            # The member reads were the listing's only other readers: once the groups are
            # read, the target keeps no users of its own (the sync holds them while it needs them).
            self._users_listing = None

    async def _members_by_id(self, groups: list[TargetGroup]) -> list[TargetGroup]:
        """Groups whose member values are users' ids: a value that is no user's id but one
        user's userName (Canaille lists members by userName) is read as that user's id, and
        kept to name the member in removals (`_member_values`)."""
        if not any(group.members for group in groups):
            return groups
        users = await self._listed_users(fresh=False)
        ids = {user.id for user in users}
        if all(value in ids for group in groups for value in group.members):
            return groups
        names: dict[str, list[str]] = {}
        for user in users:
            names.setdefault(address_key(user.user_name), []).append(user.id)

        def by_id(value: str) -> str:
            found = names.get(address_key(value), [])
            if value in ids or len(found) != 1:
                return value
            self._member_values[found[0]] = value
            return found[0]

        return [
            TargetGroup(g.id, g.display_name, frozenset(by_id(value) for value in g.members)) for g in groups
        ]

    async def _members_of(self, group_id: str) -> frozenset[str]:
        """Members of a group whose reads omit them (AWS): `groups.value eq` on /Users, one
        page per 100 members; if the target refuses that filter, one `id eq G and members eq U`
        question per user carrying an externalId (the only users gwsync may manage)."""
        try:
            query = f"groups.value eq {filter_string(group_id)}"
            return frozenset(await self._list("User", "/Users", resource_id_of, filter=query))
        except TargetError as exc:
            if exc.status != 400:
                raise
        listed = await self._listed_users(fresh=False)
        candidates = [user.id for user in listed if user.attributes.external_id]

        async def member(user_id: str) -> bool:
            query = f"id eq {filter_string(group_id)} and members eq {filter_string(user_id)}"
            page = await self._call(
                self._scim.query("Group", query_parameters={"filter": query}, expected_status_codes=None),
                "reading team members",
            )
            return bool(page.get("Resources"))

        answers = await asyncio.gather(*(member(uid) for uid in candidates))
        return frozenset(uid for uid, yes in zip(candidates, answers, strict=True) if yes)

    async def _list(
        self,
        resource_type: str,
        endpoint: str,
        keep: Callable[[dict[str, Any]], Kept],
        filter: str | None = None,
    ) -> list[Kept]:
        """Every resource of the type, page by page, as `keep` makes it of each resource as its
        page comes (so the raw answers of a 100,000-user list are not all held at once); see
        the module docstring for when it stops.

        Once the first page has given totalResults and was as long as asked (the server keeps
        to our count), the pages totalResults implies are asked ahead, up to `max_concurrency`
        at a time, and taken in order exactly as if read one after the other: a page shorter
        than asked before the end shifts every later startIndex, so then the pages asked
        ahead are dropped and the rest is read one after the other.
        """
        capabilities = await self._capabilities()
        if capabilities.cursor:
            return await self._list_by_cursor(resource_type, endpoint, keep, filter, capabilities.page_size)
        asked = capabilities.page_size

        async def fetch(start: int) -> Any:
            return await self._call(
                self._scim.query(
                    resource_type,
                    query_parameters={
                        "startIndex": start,
                        **({"count": asked} if capabilities.count else {}),
                        **({"filter": filter} if filter else {}),
                    },
                    expected_status_codes=None,
                ),
                f"listing {endpoint}",
            )

        paging = Paging(endpoint, f"{resource_type.lower()}s", keep, self._bounds(endpoint, resource_type))
        going = paging.take(await fetch(1))
        planned = iter(paging.starts_ahead(asked))
        ahead: dict[int, asyncio.Future[Any]] = {}
        try:
            while going:
                while len(ahead) < self._scim.pacer.ceiling and (start := next(planned, None)):
                    ahead[start] = asyncio.ensure_future(fetch(start))
                asked_ahead = ahead.pop(paging.start, None)
                if asked_ahead is None and ahead:  # a short page moved the starts: one by one now
                    planned = iter(())
                    await cancelled(ahead.values())
                    ahead.clear()
                going = paging.take(await (asked_ahead or fetch(paging.start)))
        finally:
            await cancelled(ahead.values())
        if filter is None:
            self._note(endpoint, paging.notes())
        return list(paging.found.values())

    async def _list_by_cursor(
        self,
        resource_type: str,
        endpoint: str,
        keep: Callable[[dict[str, Any]], Kept],
        filter: str | None,
        count: int,
    ) -> list[Kept]:
        """RFC 9865 cursor paging: `cursor` empty first, then each answer's `nextCursor`.

        Every cursor of the listing is remembered (a digest of it, whatever its length): one
        that comes back would loop forever, so it fails the read. So does a page bringing no
        resource not already read while a nextCursor says there is more, unless totalResults
        says everything is read."""
        bounds = self._bounds(endpoint, resource_type)
        found: dict[str, Kept] = {}
        cursor = ""
        seen = {cursor_digest(cursor)}
        while True:
            bounds.ask_page()
            page = await self._call(
                self._scim.query(
                    resource_type,
                    query_parameters={
                        "cursor": cursor,
                        "count": count,
                        **({"filter": filter} if filter else {}),
                    },
                    expected_status_codes=None,
                ),
                f"listing {endpoint}",
            )
            fresh = [r for r in listed_resources(page, endpoint) if str(r["id"]) not in found]
            bounds.hold(len(found) + len(fresh))
            kept = [(str(r["id"]), keep(r)) for r in fresh]
            bounds.keep(value for _, value in kept)
            found.update(kept)
            next_cursor = page.get("nextCursor")
            if not next_cursor:
                return list(found.values())
            if not fresh:
                reported = page.get("totalResults")
                if isinstance(reported, int) and not isinstance(reported, bool) and len(found) >= reported:
                    return list(found.values())  # a last page with a needless nextCursor
                raise bounds.broken(f"with only {bounds.kind} already read, yet with a nextCursor for more")
            digest = cursor_digest(str(next_cursor))
            if digest in seen:
                raise bounds.broken("with a nextCursor it had already given in this listing")
            seen.add(digest)
            cursor = str(next_cursor)

    def _bounds(self, endpoint: str, resource_type: str) -> ListingBounds:
        return ListingBounds(self.url, endpoint, f"{resource_type.lower()}s", self.list_limits)

    def _note(self, topic: str, notes: list[str]) -> None:
        """Replace the notes kept under `topic` (so listing twice does not repeat them)."""
        for old in self._notes_by_topic.pop(topic, []):
            if old in self.notes:
                self.notes.remove(old)
        self._notes_by_topic[topic] = notes
        self.notes.extend(notes)

    # --- user writes ---------------------------------------------------------------------------

    async def create_user(self, user: UserAttributes) -> str:
        capabilities = await self._capabilities()
        if self._batcher is None:
            return await self._create_alone(user, capabilities)
        operation = self._create_operation(user, capabilities)
        task = asyncio.current_task()
        if task is not None:  # add_created_members may name this user by its bulkId
            self._creating[task] = operation
        try:
            return created_id(await self._batcher.write(operation), f"creating {user.user_name}")
        finally:
            if task is not None:
                self._creating.pop(task, None)

    async def create_users(self, users: Sequence[UserAttributes]) -> list[asyncio.Future[str]]:
        """`Batching.create_users`: each create queued for Bulk, its future giving the id (a
        create's result always has one: bulk_result) or a TargetError; add_created_members
        may name these futures."""
        capabilities = await self._capabilities()
        batcher = self._batcher
        if batcher is None:  # Bulk was never on: each create a task of its own
            return [asyncio.ensure_future(self.create_user(user)) for user in users]
        created: list[asyncio.Future[str]] = []
        for user in users:
            operation = self._create_operation(user, capabilities)
            result = batcher.queue(operation)
            self._creating[result] = operation
            result.add_done_callback(self._created)
            created.append(cast("asyncio.Future[str]", result))
        return created

    def _created(self, result: asyncio.Future[str | None]) -> None:
        self._creating.pop(result, None)

    def _create_operation(self, user: UserAttributes, capabilities: Capabilities) -> Operation:
        """The Bulk operation creating `user`; alone, it goes as create_user sends it."""

        async def alone(_: list[str]) -> str:
            return await self._create_alone(user, capabilities)

        # The resource is made again if it has to go alone: a queued write holds only its JSON,
        # so thousands of them waiting for their request leave little for the GC to scan.
        resource = fit_user(user_resource(user), user, capabilities)
        return Operation("POST", "/Users", f"creating {user.user_name}", alone, data=resource)

    async def _create_alone(self, user: UserAttributes, capabilities: Capabilities) -> str:
        def ours(found: dict[str, Any]) -> bool:
            same_name = same_address(str(found.get("userName", "")), user.user_name)
            return same_name and (found.get("externalId") or None) == user.external_id

        resource = fit_user(user_resource(user), user, capabilities)
        return await self._create("User", resource, ("userName", user.user_name), ours, user.user_name)

    async def update_user(self, target_id: str, user: UserAttributes, fields: Sequence[str]) -> None:
        capabilities = await self._capabilities()
        fields = [field for field in fields if field not in capabilities.unsupported_fields]
        renaming = "userName" in fields and capabilities.schema.immutable_user_name
        if renaming:  # the rest is written; the rename fails its item, saying why
            fields.remove("userName")
        if fields and capabilities.patch:
            operations = [fit_operation(user_operation(field, user), capabilities) for field in fields]
            if capabilities.schema.formatted_name and {"name.givenName", "name.familyName"} & set(fields):
                operations.append({"op": "replace", "path": "name.formatted", "value": formatted_name(user)})
            await self._patch_user(target_id, operations, f"updating {user.user_name}")
        elif fields:

            def change(resource: dict[str, Any]) -> bool:
                put_user_fields(resource, user, fields)
                fit_user(resource, user, capabilities)
                return True

            await self._read_modify_write("User", target_id, change, f"replacing {user.user_name}")
        if renaming:
            raise TargetError(
                f"Target cannot rename user {target_id} to {user.user_name}: its User schema declares "
                "userName immutable (set once, at creation); rename it in the target itself."
            )

    async def _patch_user(self, target_id: str, operations: list[dict[str, Any]], doing: str) -> None:
        """PATCH a user: one operation of a Bulk request, or a request of its own."""
        await self._write(
            "PATCH",
            f"/Users/{target_id}",
            doing,
            lambda: self._patch("User", target_id, operations, doing),
            {"schemas": [PATCH_SCHEMA], "Operations": operations},
        )

    async def deactivate_user(self, target_id: str) -> None:
        if (await self._capabilities()).patch:
            operations = [{"op": "replace", "path": "active", "value": False}]
            await self._patch_user(target_id, operations, "deactivating the user")
            return

        def change(resource: dict[str, Any]) -> bool:
            resource["active"] = False
            return True

        await self._read_modify_write("User", target_id, change, "deactivating the user")

    async def delete_user(self, target_id: str) -> None:
        async def single() -> None:
            await self._call(
                self._scim.delete("User", target_id, expected_status_codes=None), "deleting the user"
            )

        await self._write("DELETE", f"/Users/{target_id}", "deleting the user", single)

    # --- groups ----------------------------------------------------------------------------------

    async def create_group(self, display_name: str) -> str:
        payload = {"schemas": [GROUP_SCHEMA], "displayName": display_name, "members": []}

        def ours(found: dict[str, Any]) -> bool:
            return found.get("displayName") == display_name

        async def single() -> str:
            return await self._create(
                "Group", payload, ("displayName", display_name), ours, f"team {display_name}"
            )

        doing = f"creating team {display_name}"
        return created_id(await self._write("POST", "/Groups", doing, single, payload), doing)

    async def _create(
        self,
        resource_type: str,
        payload: dict[str, Any],
        key: tuple[str, str],
        ours: Callable[[dict[str, Any]], bool],
        what: str,
    ) -> str:
        """POST, never twice: after an ambiguous failure, look the object up before retrying.

        429 is retried as is (the server refused before doing anything). A 5xx or no answer
        may come after the server stored the object: it is looked up by `key` (a filter
        `attribute eq "value"`), and an object that `ours` recognizes is returned as the
        created one. Only 503 is retried after a lookup that finds nothing; other 5xx and
        network errors fail the item (the next sync reads the target and finds the object if
        it was made). Without filter support no lookup is possible, so 503 is not retried.
        """
        endpoint, doing = f"/{resource_type}s", f"creating {what}"
        can_look_up = (await self._capabilities()).filter
        for attempt in range(1, self._scim.max_attempts + 1):
            response: httpx.Response | None = None
            try:
                response = await self._scim.send_once("POST", endpoint, json=payload)
            except SCIMClientException as exc:
                notes = "; ".join(getattr(exc, "__notes__", []))
                failure = TargetError(f"Target failed while {doing}: {notes or exc}")
            else:
                created = answer(response, doing)
                if isinstance(created, TargetError):
                    failure = created
                elif created.get("id"):
                    return str(created["id"])
                else:
                    failure = TargetError(f"Target failed while {doing}: its answer has no id")
            status = response.status_code if response is not None else None
            if status is None or status >= 500:
                if can_look_up and (found := await self._find(resource_type, key, ours)) is not None:
                    self._recovered(what, status)
                    return found
                if status == 503 and not can_look_up:
                    raise failure
            if status not in RETRIED_STATUSES or attempt == self._scim.max_attempts:
                raise failure
            await asyncio.sleep(self._scim.delay(attempt, response))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _find(
        self, resource_type: str, key: tuple[str, str], ours: Callable[[dict[str, Any]], bool]
    ) -> str | None:
        """The id of the object `ours` recognizes among those whose `key` matches, else None."""
        attribute, value = key
        try:
            page = await self._call(
                self._scim.query(
                    resource_type,
                    query_parameters={
                        "filter": f"{attribute} eq {filter_string(value)}",
                        "startIndex": 1,
                        "count": 10,
                    },
                    expected_status_codes=None,
                ),
                f"looking up {value}",
            )
        except TargetError as exc:
            log.info("Could not look up %s after an ambiguous create: %s", value, exc)
            return None
        matches = [r for r in page.get("Resources") or [] if ours(r) and r.get("id")]
        return str(matches[0]["id"]) if matches else None

    def _recovered(self, what: str, status: int | None) -> None:
        self._recoveries.append(f"{what} ({status or 'no answer'})")
        count = len(self._recoveries)
        shown = ", ".join(self._recoveries[:5]) + (f" and {count - 5} more" if count > 5 else "")
        plural = count > 1
        sentence = (
            f"{count} create{'s' if plural else ''} answered with an error after the target had "
            f"applied {'them' if plural else 'it'}; gwsync found the created "
            f"object{'s' if plural else ''} instead of creating {'them' if plural else 'it'} "
            f"twice: {shown}."
        )
        if self._recovery_note in self.write_notes:
            self.write_notes.remove(self._recovery_note)
        self._recovery_note = sentence
        self.write_notes.append(sentence)

    async def add_members(self, group_id: str, user_ids: Sequence[str]) -> None:
        if not (await self._capabilities()).patch:
            await self._put_members(group_id, add=user_ids, remove=(), doing="adding team members")
            return
        for chunk in chunks(user_ids, MAX_MEMBER_OPS):
            await self._members(group_id, "add", list(chunk))

    async def remove_members(self, group_id: str, user_ids: Sequence[str]) -> None:
        if not (await self._capabilities()).patch:
            await self._put_members(group_id, add=(), remove=user_ids, doing="removing team members")
            return
        for chunk in chunks([self._member_values.get(uid, uid) for uid in user_ids], MAX_MEMBER_OPS):
            await self._members(group_id, "remove", list(chunk))

    async def add_created_members(self, group_id: str, created: Sequence[asyncio.Future[str]]) -> None:
        """`Batching.add_created_members`: users whose create_user runs as these tasks. A create
        still queued for Bulk is named by its bulkId (the same request carries both), one
        reference per PATCH: SCIMMY 1.3 resolves only the last of several in one operation
        and keeps the others as member values "bulkId:..." (tests/integration/interop). At
        most MAX_REFERENCES such PATCHes go in a request: past that, resolving references gets
        slow on some servers (SCIMMY took over 30 s for 250), so the other additions wait for
        their creates and go as merged PATCHes of real ids (100 per PATCH: fewer operations).
        A user whose create failed is left out."""
        batcher = self._batcher
        room = MAX_REFERENCES - batcher.references if batcher is not None else 0
        pending = [self._creating.get(task) for task in created]
        pending = [op if op is not None and (room := room - 1) >= 0 else None for op in pending]
        if batcher is not None:
            batcher.references += sum(1 for op in pending if op is not None)
        if self._batcher is None or not any(pending):
            answers = await asyncio.gather(*created, return_exceptions=True)
            if ids := [uid for uid in answers if isinstance(uid, str)]:
                await self.add_members(group_id, ids)
            return
        writes = [self._members(group_id, "add", [operation]) for operation in pending if operation]
        waited = [t for t, op in zip(created, pending, strict=True) if not op]
        answers = await asyncio.gather(*waited) if waited else []
        ids = [uid for uid in answers if isinstance(uid, str)]
        writes += [self._members(group_id, "add", list(chunk)) for chunk in chunks(ids, MAX_MEMBER_OPS)]
        # One write (a create's addition, as apply sends them) is queued now, not a turn of the
        # event loop later as a task: it goes in the request that carries the create.
        await (writes[0] if len(writes) == 1 else asyncio.gather(*writes))

    async def _members(self, group_id: str, op: str, members: list[str | Operation]) -> None:
        """One PATCH of members (at most MAX_MEMBER_OPS): alone, or merged into a Bulk operation."""
        doing = "adding team members" if op == "add" else "removing team members"

        async def single(ids: list[str]) -> None:
            if ids:
                await self._patch("Group", group_id, member_patch(op, ids)["Operations"], doing)

        if self._batcher is None:
            await single([m for m in members if isinstance(m, str)])
            return
        operation = Operation(
            "PATCH",
            f"/Groups/{group_id}",
            doing,
            single,
            members=members,
            member_op=op,
            merge=(op, group_id) if all(isinstance(m, str) for m in members) else None,
        )
        await self._batcher.members(operation)

    async def _put_members(
        self, group_id: str, *, add: Iterable[str], remove: Iterable[str], doing: str
    ) -> None:
        """Membership on a target without PATCH: the group's whole member list, by PUT."""

        def change(resource: dict[str, Any]) -> bool:
            named = self._member_values
            return change_members(resource, add, [named.get(uid, uid) for uid in remove])

        await self._read_modify_write("Group", group_id, change, doing)

    async def _read_modify_write(
        self,
        resource_type: str,
        target_id: str,
        change: Callable[[dict[str, Any]], bool],
        doing: str,
    ) -> None:
        """GET, `change` in place (False: nothing to write), PUT back with If-Match; 412 → again."""
        endpoint = f"/{resource_type}s/{target_id}"
        for attempt in range(1, PRECONDITION_ATTEMPTS + 1):
            current, version = await self._read(endpoint, f"reading before {doing}")
            current.pop("meta", None)
            if not change(current):
                return
            headers = {"If-Match": version} if version else {}
            try:
                await self._call(
                    self._scim.replace(
                        resource_type, current, url=endpoint, expected_status_codes=None, headers=headers
                    ),
                    doing,
                )
                return
            except TargetError as exc:
                if exc.status != 412:
                    raise
                if attempt == PRECONDITION_ATTEMPTS:
                    raise TargetError(
                        f"Target refused {doing}: the {resource_type.lower()} was changed by someone "
                        f"else each of the {PRECONDITION_ATTEMPTS} times gwsync read and wrote it "
                        "(412 Precondition Failed); the next sync tries again.",
                        status=412,
                    ) from exc
                log.info("%s %s changed while %s; reading it again.", resource_type, target_id, doing)

    async def _read(self, endpoint: str, doing: str) -> tuple[dict[str, Any], str | None]:
        """GET one resource and its version: meta.version, else the ETag header, else None."""
        try:
            response = await self._scim.request("GET", endpoint)
        except SCIMClientException as exc:
            notes = "; ".join(getattr(exc, "__notes__", []))
            raise TargetError(f"Target failed while {doing}: {notes or exc}") from exc
        payload = answer(response, doing)
        if isinstance(payload, TargetError):
            raise payload
        version = (payload.get("meta") or {}).get("version") or response.headers.get("ETag")
        return payload, str(version) if version else None

    async def _patch(
        self, resource_type: str, target_id: str, operations: list[dict[str, Any]], doing: str
    ) -> None:
        payload = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        await self._call(
            self._scim.modify(resource_type, target_id, payload, expected_status_codes=None), doing
        )

    async def _call(self, request: Awaitable[Any], doing: str) -> Any:
        """Await one scim2-client call; turn refusals and network errors into TargetError."""
        try:
            result = await request
        except SCIMClientException as exc:
            notes = "; ".join(getattr(exc, "__notes__", []))
            status = getattr(getattr(exc, "source", None), "status_code", None)
            raise TargetError(f"Target failed while {doing}: {notes or exc}", status=status) from exc
        if isinstance(result, dict) and ERROR_SCHEMA in (result.get("schemas") or []):
            raise refusal(result, doing)
        return result


def created_id(found: str | None, doing: str) -> str:
    if not found:
        raise TargetError(f"Target failed while {doing}: its answer has no id")
    return found


def bulk_result(operation: Operation, result: dict[str, Any]) -> str | None:
    """`bulk.Judge`: one operation's result in a BulkResponse (RFC 7644 §3.7.3): its id when
    it created something, None when it succeeded otherwise; a TargetError when it failed (a
    create whose answer gives no id too)."""
    status_field = result.get("status")
    if isinstance(status_field, dict):  # SCIM 1.1 said {"code": "201"}
        status_field = status_field.get("code")
    status = str(status_field or "").strip()
    code = int(status) if status.isascii() and status.isdigit() and len(status) == 3 else 0
    response = result.get("response")
    if not 200 <= code < 300:
        if isinstance(response, dict) and ERROR_SCHEMA in (response.get("schemas") or []):
            raise refusal(response, operation.doing)
        if isinstance(response, dict) and response.get("detail"):
            raise refusal({"status": status, **response}, operation.doing)
        shown = quoted(status, 10) or "no status"
        raise TargetError(f"Target refused {operation.doing}: it answered {shown}", status=code or None)
    if operation.method != "POST":
        return None
    if isinstance(response, dict) and response.get("id"):
        return text(response.get("id"), "the created resource's id")
    location = text(result.get("location"), "the operation's location") or ""
    return created_id(location.rstrip("/").rsplit("/", 1)[-1], operation.doing)


NEVER_ENDS = "the listing would never end; gwsync stopped reading it"
TEXT_PER_RESOURCE = 256
"""Characters of text one listing may keep, per resource maxResources allows: a user keeps
about 300 (ids, names, title, department, a photo URL), so 100,000 of them keep about 30
million, and the default budget (51 million) holds a hostile target that pads few users with
huge values to about 50 MB, beside maxResources' 75 MB of minimal users."""


class ListingBounds:
    """One listing's pages, resources and the text they keep, held to
    spec.target.scim.listLimits: a target whose paging never ends fails the read (a TargetError
    naming the limit and the field to raise) instead of being read until the operator runs out
    of memory."""

    def __init__(self, url: str, endpoint: str, kind: str, limits: ListLimits) -> None:
        self.url, self.endpoint, self.kind, self.limits = url, endpoint, kind, limits
        self.pages = 0
        self.text = 0

    def ask_page(self) -> None:
        """Count a page about to be asked; past maxPages, the read fails instead."""
        if self.pages >= self.limits.max_pages:
            raise TargetError(
                f"The SCIM target {self.url} needed more than {self.limits.max_pages} pages to list "
                f"{self.endpoint}, the most gwsync reads in one listing; if it really pages that "
                "finely, raise spec.target.scim.listLimits.maxPages."
            )
        self.pages += 1

    def hold(self, count: int) -> None:
        """`count` resources about to be kept; past maxResources, the read fails instead."""
        if count > self.limits.max_resources:
            raise TargetError(
                f"The SCIM target {self.url} listed more than {self.limits.max_resources} "
                f"{self.kind} at {self.endpoint}, the most gwsync reads in one listing; if it "
                "really holds that many, raise spec.target.scim.listLimits.maxResources."
            )

    def keep(self, kept: Iterable[object]) -> None:
        """Count the text of resources kept; past maxResources' text budget, the read fails.

        Counting resources alone does not bound memory: a target may pad each user with
        megabytes of text (an answer is bounded, a listing's answers together are not)."""
        self.text += sum(map(kept_text, kept))
        budget = self.limits.max_resources * TEXT_PER_RESOURCE
        if self.text > budget:
            raise TargetError(
                f"The SCIM target {self.url} listed {self.kind} at {self.endpoint} carrying more than "
                f"{budget} characters, the most gwsync keeps from one listing ({TEXT_PER_RESOURCE} a "
                "resource on average); if they really carry that much, raise "
                "spec.target.scim.listLimits.maxResources."
            )

    def broken(self, what: str, so: str = NEVER_ENDS) -> TargetError:
        """The read fails: the target's paging cannot be followed to a complete list."""
        answered = f"The SCIM target {self.url} answered {self.endpoint} page {self.pages}"
        return TargetError(f"{answered} {what}, so {so}.")


def kept_text(kept: object) -> int:
    """The characters a listed resource keeps, as `ScimTarget._list` keeps it."""
    if isinstance(kept, TargetUser):
        a = kept.attributes
        values = (kept.id, a.user_name, a.external_id, a.given_name, a.family_name, a.display_name)
        more = (a.title, a.department, a.user_type, a.photo, kept.modified)
        email = len(a.email) if a.email and a.email is not a.user_name else 0  # kept once when equal
        extra = sum(len(str(value)) for _, value in a.extra)
        return sum(len(v) for v in (*values, *more) if v) + email + extra
    if isinstance(kept, TargetGroup):
        return len(kept.id) + len(kept.display_name) + sum(map(len, kept.members))
    return len(str(kept))


def cursor_digest(cursor: str) -> bytes:
    """What is remembered of a cursor: a target may send long ones, a listing many of them."""
    return hashlib.blake2b(cursor.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class Paging(Generic[Kept]):
    """A startIndex listing read page after page: what was found, and whether to go on."""

    def __init__(
        self, endpoint: str, kind: str, keep: Callable[[dict[str, Any]], Kept], bounds: ListingBounds
    ) -> None:
        self.endpoint, self.kind, self.keep, self.bounds = endpoint, kind, keep, bounds
        self.found: dict[str, Kept] = {}
        self.start, self.pages, self.largest, self.first = 1, 0, 0, 0
        self.reported: int | None = None
        self._notes: list[str] = []
        bounds.ask_page()  # the first page

    def take(self, page: Any) -> bool:
        """Add the page asked at `start`; False when the list is over (see the module docstring).

        A TargetError when the list cannot end well: a page of resources all read already while
        totalResults counts more (the target ignores startIndex, the rest cannot be reached),
        or more pages or resources than spec.target.scim.listLimits allows."""
        self.pages += 1
        resources = listed_resources(page, self.endpoint)
        reported = page.get("totalResults")
        if self.reported is None and isinstance(reported, int) and not isinstance(reported, bool):
            self.reported = reported
        if self.pages == 1:
            self.first = len(resources)
        fresh = [r for r in resources if str(r["id"]) not in self.found]
        if resources and not fresh:
            if self.reported is None:
                self._notes.append(
                    f"The target answered {self.endpoint} page {self.pages} (startIndex={self.start}) with "
                    f"{self.kind} already read, so it ignores startIndex; gwsync stopped after "
                    f"{len(self.found)} {self.kind} and the list may be incomplete."
                )
                return False
            if len(self.found) >= self.reported:
                return False  # everything the target counts is read: it just fitted in one page
            raise self.bounds.broken(
                f"(startIndex={self.start}) with only {self.kind} already read, though it counts "
                f"{self.reported} and {len(self.found)} were read: it ignores startIndex",
                "its list cannot be read completely",
            )
        self.bounds.hold(len(self.found) + len(fresh))
        kept = [(str(r["id"]), self.keep(r)) for r in fresh]
        self.bounds.keep(value for _, value in kept)
        self.found.update(kept)
        # A page shorter than an earlier one is the last, unless totalResults says there is
        # more (then one more page is asked: an empty answer settles it). A first page
        # shorter than `asked` proves nothing: the server may cap count without saying so.
        short = len(resources) < self.largest
        if not resources or (short and len(self.found) >= (self.reported or 0)):
            return False
        self.largest = max(self.largest, len(resources))
        self.start += len(resources)
        self.bounds.ask_page()  # the next page (perhaps asked ahead already)
        return True

    def starts_ahead(self, asked: int) -> range:
        """The startIndex of every page totalResults implies after a first page of `asked`
        (and of the empty page after a full last one, which settles the end); none when the
        first page was shorter than asked or totalResults is missing."""
        if self.pages != 1 or self.first != asked or self.reported is None:
            return range(0)
        return range(1 + asked, self.reported + 2, asked)

    def notes(self) -> list[str]:
        notes = list(self._notes)
        if self.reported is not None and self.reported != len(self.found):
            notes.append(
                f"The target reported totalResults={self.reported} for {self.endpoint} but "
                f"{len(self.found)} {self.kind} were read; gwsync used all {len(self.found)}."
            )
        return notes


async def cancelled(requests: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel requests no longer wanted and wait until they are gone (their errors dropped)."""
    pending = list(requests)
    for request in pending:
        request.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def answer(response: httpx.Response, doing: str) -> dict[str, Any] | TargetError:
    """The JSON object of a 2xx answer, else the failure as a sentence for the report."""
    try:
        payload = response.json() if response.content else None
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        payload = None
    if isinstance(payload, dict) and ERROR_SCHEMA in (payload.get("schemas") or []):
        return refusal(payload, doing)
    if not 200 <= response.status_code < 300 or not isinstance(payload, dict):
        return TargetError(
            f"Target failed while {doing}: it answered {response.status_code} without a SCIM resource",
            status=response.status_code,
        )
    return payload


def filter_string(value: str) -> str:
    """A SCIM filter string literal (RFC 7644 §3.4.2.2: JSON string syntax)."""
    return json.dumps(value)


def refusal(error: dict[str, Any], doing: str) -> TargetError:
    """A SCIM Error as the sentence people read in the report."""
    status = quoted(str(error.get("status", "")), 10).strip()
    scim_type = quoted(str(error.get("scimType") or ""), 40)
    detail = quoted(str(error.get("detail") or "").strip(), DETAIL_LIMIT).rstrip(".")
    words = " ".join(w for w in (status, scim_type) if w)
    text = f"Target refused {doing}: {words}" + (f": {detail}" if detail else "")
    if status == "401":
        raise TargetUnavailable(
            "The SCIM token was refused (401); check the Secret named in "
            "spec.target.scim.tokenSecretRef holds a valid bearer token.",
            status=401,
        )
    known = status.isascii() and status.isdigit() and len(status) <= 3  # not '²': isdigit() but no int
    return TargetError(text, status=int(status) if known else None)


def capabilities_of(
    config: ServiceProviderConfig, raw: dict[str, Any] | None = None, profile: str = "auto"
) -> Capabilities:
    """Capabilities from ServiceProviderConfig; `raw` is its JSON (for what scim2-models drops).

    The AWS IAM Identity Center profile applies when asked, or when the config's
    documentationUri is on an AWS documentation host: cursor paging with pages of 100, groups
    read without members (membership is read by filter), and no photos.
    """
    raw = raw or {}
    patch = bool(config.patch and config.patch.supported)
    max_results = config.filter.max_results if config.filter and config.filter.supported else None
    page_size = min(DEFAULT_PAGE_SIZE, max_results) if max_results else DEFAULT_PAGE_SIZE
    supports_filter = bool(config.filter and config.filter.supported)
    pagination: dict[str, Any] = raw["pagination"] if isinstance(raw.get("pagination"), dict) else {}
    bulk = config.bulk if config.bulk is not None and config.bulk.supported else None
    capabilities = Capabilities(
        patch=patch,
        page_size=max(1, page_size),
        filter=supports_filter,
        cursor=bool(pagination.get("cursor")) and not pagination.get("index", False),
        bulk_max_operations=max(0, bulk.max_operations or 0) if bulk is not None else 0,
        bulk_max_payload=max(0, bulk.max_payload_size or DEFAULT_BULK_PAYLOAD) if bulk is not None else 0,
    )
    host = urllib.parse.urlsplit(str(raw.get("documentationUri") or "")).hostname or ""
    is_aws = host == "aws.amazon.com" or host.endswith(tuple("." + h for h in AWS_DOC_HOSTS))
    if profile == "aws-identity-center" or (profile == "auto" and is_aws):
        capabilities.profile = "aws-identity-center"
        capabilities.cursor = True
        capabilities.page_size = min(capabilities.page_size, AWS_PAGE_SIZE)
        capabilities.group_members = False
        capabilities.unsupported_fields = frozenset({"photos"})
        capabilities.bulk_max_operations = 0  # AWS publishes no Bulk
    return capabilities


def user_schema_of(payload: Any) -> UserSchema:
    """The core User schema of a /Schemas answer (a ListResponse, or a bare list).

    A provider that lists its attributes stores only those (django-scim2-server drops the
    rest), cannot take what it declares readOnly, and does not show what it returns never
    (Canaille: externalId, photos). Nothing when no User schema with attributes is there.
    """
    schemas = payload.get("Resources") if isinstance(payload, dict) else payload
    for schema in schemas if isinstance(schemas, list) else []:
        if not (isinstance(schema, dict) and schema.get("id") == USER_SCHEMA):
            continue
        attributes = {
            str(a.get("name", "")).casefold(): a
            for a in schema.get("attributes") or []
            if isinstance(a, dict)
        }
        if not attributes:
            break
        unsupported = {f for f in OPTIONAL_USER_FIELDS if f.casefold() not in attributes}
        for name in SCHEMA_FIELDS:
            declared = attributes.get(name.casefold()) or {}
            if declared.get("mutability") == "readOnly" or declared.get("returned") == "never":
                unsupported.add(name)
        name_parts = subs(attributes.get("name"))
        return UserSchema(
            unsupported=frozenset(unsupported),
            sub_attributes={
                name: frozenset(str(s.get("name")) for s in found)
                for name in ("emails", "photos")
                if (found := subs(attributes.get(name)))
            },
            formatted_name=any(
                s.get("name") == "formatted" and s.get("required") is True for s in name_parts
            ),
            immutable_user_name=(attributes.get("username") or {}).get("mutability") == "immutable",
        )
    return UserSchema()


def subs(attribute: Any) -> list[dict[str, Any]]:
    """The subAttributes a schema attribute declares."""
    found = attribute.get("subAttributes") if isinstance(attribute, dict) else None
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []


def fit_user(resource: dict[str, Any], user: UserAttributes, capabilities: Capabilities) -> dict[str, Any]:
    """A whole User made to fit the provider, in place: no unsupported field, only declared
    sub-attributes of emails and photos, name.formatted when required."""
    for name in capabilities.unsupported_fields & set(SCHEMA_FIELDS):
        resource.pop(name, None)
    if "department" in capabilities.unsupported_fields and ENTERPRISE in resource:
        del resource[ENTERPRISE]
        resource["schemas"] = [s for s in resource.get("schemas") or [USER_SCHEMA] if s != ENTERPRISE]
    for name, declared in capabilities.schema.sub_attributes.items():
        if isinstance(resource.get(name), list):
            resource[name] = only(resource[name], declared)
    if capabilities.schema.formatted_name and formatted_name(user):
        resource["name"] = {**(resource.get("name") or {}), "formatted": formatted_name(user)}
    return resource


def fit_operation(operation: dict[str, Any], capabilities: Capabilities) -> dict[str, Any]:
    """A PATCH operation with only the sub-attributes the provider declares."""
    declared = capabilities.schema.sub_attributes.get(operation["path"])
    if declared is None or not isinstance(operation.get("value"), list):
        return operation
    return {**operation, "value": only(operation["value"], declared)}


def only(values: list[Any], declared: frozenset[str]) -> list[Any]:
    """Each entry with only the `declared` sub-attributes."""
    return [
        {k: v for k, v in entry.items() if k in declared} if isinstance(entry, dict) else entry
        for entry in values
    ]


def formatted_name(user: UserAttributes) -> str:
    return " ".join(part for part in (user.given_name, user.family_name) if part) or user.user_name


def chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- the attribute mapping (DESIGN §3 rule 2) ------------------------------------------------


def user_resource(user: UserAttributes) -> dict[str, Any]:
    """The SCIM User (with the enterprise extension when there is a department)."""
    resource: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": user.user_name, "active": user.active}
    if user.external_id:
        resource["externalId"] = user.external_id
    name = {k: v for k, v in (("givenName", user.given_name), ("familyName", user.family_name)) if v}
    if name:
        resource["name"] = name
    for key, value in (
        ("displayName", user.display_name),
        ("title", user.title),
        ("userType", user.user_type),
    ):
        if value:
            resource[key] = value
    if user.email:
        resource["emails"] = work_email(user.email)
    if user.photo:
        resource["photos"] = photo(user.photo)
    if user.department:
        resource["schemas"] = [USER_SCHEMA, ENTERPRISE]
        resource[ENTERPRISE] = {"department": user.department}
    put_user_fields(resource, user, [field for field, value in user.extra if value is not None])
    return resource


def work_email(value: str) -> list[dict[str, Any]]:
    return [{"value": value, "type": "work", "primary": True}]


def photo(value: str) -> list[dict[str, Any]]:
    return [{"value": value, "type": "photo"}]


PHONE_FIELDS = {phone_target(kind): kind for kind in PHONE_TYPES}


def phone_numbers(user: UserAttributes) -> list[dict[str, Any]] | None:
    """Every mapped phone number: gwsync owns the list once a phone number is mapped."""
    numbers = [
        {"value": value, "type": PHONE_FIELDS[field]}
        for field, value in user.extra
        if field in PHONE_FIELDS and isinstance(value, str)
    ]
    return numbers or None


def extension_of(field: str) -> tuple[str, str] | None:
    """(schema URN, attribute) of a mapped attribute in an extension, else None (core)."""
    if field in ENTERPRISE_TARGETS:
        return ENTERPRISE, field
    if is_custom_target(field):
        return split_custom(field)
    return None


def wire_value(field: str, value: Value) -> Any:
    """A mapped value as SCIM carries it (the manager is a reference to the user's id)."""
    if value is None:
        return None
    if field == MANAGER:
        return {"value": value}
    return value


def patch_path(field: str) -> str:
    if field in PATCH_PATHS:
        return PATCH_PATHS[field]
    if field in PHONE_FIELDS:
        return "phoneNumbers"
    extension = extension_of(field)
    return f"{extension[0]}:{extension[1]}" if extension else field


def user_operation(field: str, user: UserAttributes) -> dict[str, Any]:
    """One PATCH operation writing `field`; a missing value removes the attribute."""
    value = user.value(field)
    path = patch_path(field)
    if field in PHONE_FIELDS:
        numbers = phone_numbers(user)
        if not numbers:
            return {"op": "remove", "path": path}
        return {"op": "replace", "path": path, "value": numbers}
    if value is None:
        return {"op": "remove", "path": path}
    if field == "emails":
        return {"op": "replace", "path": path, "value": work_email(str(value))}
    if field == "photos":
        return {"op": "replace", "path": path, "value": photo(str(value))}
    return {"op": "replace", "path": path, "value": wire_value(field, value)}


def put_user_fields(resource: dict[str, Any], user: UserAttributes, fields: Iterable[str]) -> None:
    """Write `fields` of `user` into a whole SCIM User read from the target, in place.

    The PUT twin of `user_operation`: the same values, and everything else on the resource
    (other name parts, other enterprise attributes, nickName, phoneNumbers...) untouched.
    """
    for field in fields:
        value = user.value(field)
        extension = extension_of(field)
        if field.startswith("name."):
            name = dict(resource.get("name") or {})
            put(name, field.split(".", 1)[1], value)
            if name:
                resource["name"] = name
            else:
                resource.pop("name", None)
        elif field == "department" or extension is not None:
            schema, attribute = extension or (ENTERPRISE, "department")
            extension_values = dict(resource.get(schema) or {})
            put(extension_values, attribute, wire_value(field, value))
            schemas = [s for s in resource.get("schemas") or [USER_SCHEMA] if s != schema]
            if extension_values:
                resource[schema] = extension_values
                schemas.append(schema)
            else:
                resource.pop(schema, None)
            resource["schemas"] = schemas
        elif field == "emails":
            put(resource, "emails", work_email(str(value)) if value is not None else None)
        elif field == "photos":
            put(resource, "photos", photo(str(value)) if value is not None else None)
        elif field in PHONE_FIELDS:
            put(resource, "phoneNumbers", phone_numbers(user))
        else:
            put(resource, patch_path(field), value)


def put(mapping: dict[str, Any], key: str, value: Any) -> None:
    """Set `key`, or remove it when the value is None."""
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


def change_members(group: dict[str, Any], add: Iterable[str], remove: Iterable[str]) -> bool:
    """Apply member additions and removals to a whole SCIM Group, in place; False if no change.

    Members keep their value and type; `$ref` and `display` are the server's to derive.
    """
    removed = set(remove)
    before = [m for m in group.get("members") or [] if m.get("value")]
    kept = [
        {key: member[key] for key in ("value", "type") if key in member}
        for member in before
        if str(member["value"]) not in removed
    ]
    present = {str(member["value"]) for member in kept}
    added = [uid for uid in dict.fromkeys(add) if uid not in present]
    if not added and len(kept) == len(before):
        return False
    group["members"] = kept + [{"value": uid} for uid in added]
    return True


def user_of(resource: Any) -> TargetUser:
    """Read back what gwsync maps; anything else on the user is left alone.

    A target's answer is checked as it is read: a value of the wrong type is a TargetError
    naming it (the read fails cleanly), never a crash or a number posing as a name. Values
    that repeat across users (titles, departments, the work email equal to the userName) are
    kept once: a listing of 100,000 users holds them all until the plan is made.
    """
    resource = an_object(resource, "a User")
    name = an_object(resource.get("name"), "User.name")
    enterprise = an_object(resource.get(ENTERPRISE), "the User's enterprise extension")
    meta = an_object(resource.get("meta"), "User.meta")
    modified = text(meta.get("lastModified"), "User.meta.lastModified")
    uid = resource_id(resource, "User")  # checked in the order of the fields, as read
    user_name = text(resource.get("userName"), "User.userName") or ""
    external_id = text(resource.get("externalId"), "User.externalId")
    email = pick(resource.get("emails"), "work")
    return TargetUser(
        id=uid,
        modified=common(modified),
        attributes=UserAttributes(
            user_name=user_name,
            external_id=external_id,
            email=user_name if email == user_name else email,
            given_name=text(name.get("givenName"), "User.name.givenName"),
            family_name=text(name.get("familyName"), "User.name.familyName"),
            display_name=text(resource.get("displayName"), "User.displayName"),
            active=flag(resource.get("active"), "User.active"),
            title=common(text(resource.get("title"), "User.title")),
            department=common(text(enterprise.get("department"), "User.department")),
            user_type=common(text(resource.get("userType"), "User.userType")),
            photo=pick(resource.get("photos"), "photo"),
            extra=mapped_extras(resource, name, enterprise),
        ),
    )


COMMON_VALUES: dict[str, str] = {}
"""Values many users share (user_of), one object each; bounded, so unique values pass through."""
COMMON_LIMIT = 4096


def common(value: str | None) -> str | None:
    if value is None:
        return None
    found = COMMON_VALUES.get(value)
    if found is None:
        if len(COMMON_VALUES) >= COMMON_LIMIT:
            return value
        found = COMMON_VALUES.setdefault(value, value)
    return found


CORE_EXTRAS = ("nickName", "profileUrl", "preferredLanguage", "locale", "timezone")
NAME_EXTRAS = ("middleName", "honorificPrefix", "honorificSuffix", "formatted")
NAME_EXTRA_TARGETS = tuple((key, f"name.{key}") for key in NAME_EXTRAS)
PHONE_TARGETS = tuple((kind, phone_target(kind)) for kind in PHONE_TYPES)


def scalar(value: Any) -> Value:
    """A mapped attribute as read back: text (a number as its digits) or a boolean; else None."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return value or None
    return str(value) if isinstance(value, int | float) else None


def mapped_extras(
    resource: dict[str, Any], name: dict[str, Any], enterprise: dict[str, Any]
) -> tuple[tuple[str, Value], ...]:
    """The attributes spec.attributes may map beyond USER_FIELDS, as the target holds them.

    Read leniently: whatever a target keeps in attributes gwsync does not map by default must not
    fail a read; a value of another shape reads as absent (and a mapping of it writes it again).
    Most users have none of them: each is looked up only where it may be.
    """
    found: list[tuple[str, Value]] = [
        (key, scalar(resource[key])) for key in CORE_EXTRAS if resource.get(key) is not None
    ]
    if name:
        found += [
            (target, scalar(name[key])) for key, target in NAME_EXTRA_TARGETS if name.get(key) is not None
        ]
    numbers = resource.get("phoneNumbers")
    if numbers and isinstance(numbers, list):
        entries = [n for n in numbers if isinstance(n, dict)]
        for kind, target in PHONE_TARGETS:
            entry = next((number for number in entries if number.get("type") == kind), {})
            found.append((target, scalar(entry.get("value"))))
    if enterprise:
        for key in ENTERPRISE_TARGETS:
            if key == MANAGER:
                manager = enterprise.get(MANAGER)
                found.append((MANAGER, scalar(manager.get("value")) if isinstance(manager, dict) else None))
            elif key != "department":
                found.append((key, scalar(enterprise.get(key))))
    for schema, values in resource.items():  # custom extensions: their single-valued attributes
        if isinstance(values, dict) and is_custom_target(schema):
            found += [(f"{schema}:{attribute}", scalar(value)) for attribute, value in values.items()]
    return tuple((field, value) for field, value in found if value is not None)


PICKED = {kind: (f"User.{attribute}", f"an entry of User.{attribute}", f"User.{attribute}.value")
          for kind, attribute in (("work", "emails"), ("photo", "photos"))}  # fmt: skip


def pick(values: Any, kind: str) -> str | None:
    """The primary value of a multi-valued attribute, else the first of `kind`, else the first."""
    if values is None or values == []:
        return None
    where, entry_where, value_where = PICKED[kind]
    if not isinstance(values, list):
        raise not_scim(where, values, "a list")
    entries = [an_object(value, entry_where) for value in values]
    if len(entries) == 1:
        return text(entries[0].get("value"), value_where)
    ranked = sorted(entries, key=lambda v: (v.get("primary") is not True, v.get("type") != kind))
    return text(ranked[0].get("value"), value_where)


def group_of(resource: Any) -> TargetGroup:
    resource = an_object(resource, "a Group")
    members = resource.get("members")
    if members is not None and not isinstance(members, list):
        raise not_scim("Group.members", members, "a list")
    ids = frozenset(
        value
        for member in members or []
        if (value := text(an_object(member, "a member of a Group").get("value"), "Group.members.value"))
    )
    display_name = text(resource.get("displayName"), "Group.displayName") or ""
    return TargetGroup(id=resource_id(resource, "Group"), display_name=display_name, members=ids)


# --- reading untrusted answers -----------------------------------------------------------------

DETAIL_LIMIT = 300


def quoted(value: str, limit: int) -> str:
    """Text from an answer, fit for a report: control and format characters escaped
    (`gwsync.text.visible`: U+202E would reorder what a reader sees), at most `limit` long."""
    shown = visible(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def not_scim(where: str, value: Any, expected: str) -> TargetError:
    kind = "missing" if value is None else f"a {type(value).__name__}"
    return TargetError(f"The target's answer is not SCIM: {where} is {kind}, not {expected}.")


def an_object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise not_scim(where, value, "an object")
    return value


def text(value: Any, where: str) -> str | None:
    """A string attribute (None when absent or empty); a number is read as its digits.

    A lone surrogate (JSON `"\\ud800"`) is read as U+FFFD: it has no UTF-8 form, so kept as it
    is it would fail every report and ledger that holds the value."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return without_surrogates(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise not_scim(where, value, "a string")


def flag(value: Any, where: str) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise not_scim(where, value, "a boolean")


def resource_id(resource: dict[str, Any], kind: str) -> str:
    found = text(resource.get("id"), f"{kind}.id")
    if not found:
        raise not_scim(f"{kind}.id", None, "a string")
    return found


def resource_id_of(resource: dict[str, Any]) -> str:
    """A listed resource's id (checked present by `listed_resources`)."""
    return str(resource["id"])


def listed_resources(page: Any, endpoint: str) -> list[dict[str, Any]]:
    """The Resources of a list answer: objects that carry an id."""
    resources = an_object(page, f"the answer to {endpoint}").get("Resources") or []
    if not isinstance(resources, list):
        raise not_scim(f"Resources of {endpoint}", resources, "a list")
    listed = [an_object(r, f"an entry of {endpoint}") for r in resources]
    for entry in listed:
        resource_id(entry, endpoint.strip("/").rstrip("s") or "resource")
    return listed
