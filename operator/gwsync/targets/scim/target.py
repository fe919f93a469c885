"""`ScimTarget`: a SCIM 2.0 service provider as a gwsync `Target` (`gwsync.sync.ports`), so the
sync core never sees HTTP. This module wires the concerns together and holds the verbs' state;
each concern lives in a module of its own:

- transport: scim2-client over httpx; the bound on requests in flight (`max_concurrency`, the
  pacer's ceiling: a 429 or 503 halves it, answers grow it back, a Retry-After holds every new
  request); 429/503 retried with back-off and jitter, honouring Retry-After, outside the
  slot; answers bounded in size; TLS verification always on (a PEM CA bundle may be added,
  never replace it);
- discovery: what ServiceProviderConfig, /ResourceTypes and /Schemas say (PATCH or PUT, page
  size, filters, cursor paging, Bulk, unsupported attributes, the AWS profile), and the token
  tried on /Users;
- listing: /Users and /Groups read page by page (or by cursor) so that every listing ends,
  within spec.target.scim.listLimits; pages totalResults implies asked ahead;
- writes: creates never sent blindly twice, read-modify-write PUT with If-Match without PATCH,
  member changes in PATCHes of at most 100, SCIM Bulk through `bulk.Batcher` (a user created
  in a batch is added to teams by bulkId, `add_created_members`; a Bulk request refused as a
  whole switches the target to single requests, with a write note);
- wire (what is sent, bent to the provider's schema), read (what is read back, checked as it
  is read) and answers (a refused write becomes a `TargetError` whose message is a sentence
  for the report: "Target refused: 409 uniqueness on userName ..."; the token never appears
  anywhere).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import httpx

from gwsync.api.provisioning import ListLimits
from gwsync.sync.ports import TargetUser
from gwsync.targets.scim.bulk import Batcher, Operation
from gwsync.targets.scim.discovery import PROFILES, Capabilities, check_token, discover
from gwsync.targets.scim.listing import ScimReads
from gwsync.targets.scim.transport import Counters, ScimTransport, bound_answer, ssl_context
from gwsync.targets.scim.writes import MAX_MEMBER_OPS, ScimWrites, bulk_result


class ScimTarget(ScimReads, ScimWrites):
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
        self.team_groups: set[str] = set()
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
        """GET ServiceProviderConfig: the TargetReachable check; raises TargetUnavailable.
        What the target can do is read in `discovery`; the token is tried last."""
        self.capabilities, self.user_extensions = await discover(
            self._scim, self.url, self.profile, self.user_extensions
        )
        if self.capabilities.unsupported_fields:
            fields = ", ".join(sorted(self.capabilities.unsupported_fields))
            self.write_notes.append(
                f"The target ({self.capabilities.profile}) does not support {fields}; gwsync does not send "
                f"{'them' if len(self.capabilities.unsupported_fields) > 1 else 'it'}."
            )
        await check_token(self._scim, self.url, self.capabilities)
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

    @property
    def keeps_group_external_ids(self) -> bool:
        """`GroupExternalIds.keeps_group_external_ids` (known after check)."""
        return self.capabilities.group_external_id if self.capabilities else False

    @property
    def unsupported_fields(self) -> frozenset[str]:
        """`Target.unsupported_fields`: what the provider does not store (known after check)."""
        return self.capabilities.unsupported_fields if self.capabilities else frozenset()

    async def _capabilities(self) -> Capabilities:
        if self.capabilities is not None:
            return self.capabilities
        async with self._checking:  # a concurrent read waits for the first one's check
            return self.capabilities or await self.check()
