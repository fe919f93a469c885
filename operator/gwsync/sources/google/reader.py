"""Google Workspace, read through the Admin SDK Directory API with read-only scopes.

The only module importing googleapiclient, google-auth and httplib2. It turns the API into
a `Directory` (every user, plus the transitive user members of the groups asked for) and
Google's failures into one sentence a person can act on. A read is all or nothing: any
page that still fails after bounded retries raises `SourceUnavailable`, so a failed read is
never mistaken for people leaving.

googleapiclient's HTTP object is not thread-safe, so every worker thread builds its own
service; they share one set of credentials, refreshed before the workers start.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import queue
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

import google.auth
import google_auth_httplib2
import httplib2
import httplib2.decode  # type: ignore[import-untyped]  # no stubs; DecodeLimitError lives here (0.32+)
import orjson
from google.auth import credentials as google_credentials
from google.auth import exceptions as google_exceptions
from google.auth.transport import Request as TransportRequest
from google.oauth2 import credentials as oauth2_credentials
from google.oauth2 import service_account
from googleapiclient import discovery
from googleapiclient.errors import HttpError
from googleapiclient.model import JsonModel
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from gwsync.api.attributes import BOOLEAN_SOURCES, LIST_SOURCES, custom_schema
from gwsync.api.provisioning import GoogleSource
from gwsync.directory import Directory, GroupMembers, Person, Selection
from gwsync.sync.ports import SourceUnavailable
from gwsync.text import address_key, visible, without_surrogates_in

log = logging.getLogger(__name__)

SCOPES: tuple[str, ...] = tuple(
    "https://www.googleapis.com/auth/" + name
    for name in (
        "admin.directory.user.readonly",
        "admin.directory.group.readonly",
        "admin.directory.group.member.readonly",
        "admin.directory.customer.readonly",
    )
)
DEFAULT_ENDPOINT = "https://admin.googleapis.com/"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
DEFAULT_IAM_ENDPOINT = "https://iamcredentials.googleapis.com"
USERS_PAGE = 500  # users.list maximum
MEMBERS_PAGE = 200  # members.list maximum
FETCH_ROUNDS = 8
"""With from: Groups, at most FETCH_ROUNDS * max_workers users (the chosen groups' members and
the known ones: 64 by default) are read one by one (users.get), more by the users listing.

Over the internet each request is mostly one round trip. The gets go max_workers at a time:
M members take M / 8 round trips. The listing is a chain of page tokens, one page of 500 after
the other: an organization of N users takes N / 500 round trips. So the gets are quicker while
M / 8 < N / 500, but N is not known before the listing. A limit of 8 rounds bounds the loss: the
gets of 64 members take 8 round trips where an organization of 500 users or fewer lists in one,
about 0.7 s lost at 100 ms a request; they are as quick as the listing of 4,000 users and beat
that of any larger organization (40 round trips for 20,000: bench/read_chosen_groups.py).
The gets also make fewer requests than the listing whenever M < N / 500."""
AHEAD_PAGES = 8  # user pages asked before they are read (at least 2: see _pages); a page is ~1 MB parsed
USER_FIELDS = (
    "nextPageToken,users(id,primaryEmail,name(givenName,familyName,fullName),suspended,archived,"
    "organizations(title,department,description,primary),thumbnailPhotoUrl,thumbnailPhotoEtag)"
)
MEMBER_FIELDS = "nextPageToken,members(id,email,type)"
GROUP_FIELDS = "nextPageToken,groups(email,name,directMembersCount)"
RATE_LIMIT_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"})
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class GoogleAuthError(SourceUnavailable):
    """Google refuses these credentials or this administrator: a person must fix the setup."""


@dataclass(frozen=True)
class GroupInfo:
    """A Google group found by `search_groups`."""

    email: str
    name: str
    members: int


@dataclass
class RequestCounts:
    """API requests made and failed (tokens excluded), for benchmarks and metrics."""

    requests: int = 0
    errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, failed: bool) -> None:
        with self._lock:
            self.requests += 1
            self.errors += failed


# --- Keyless delegation: the JWT is signed by IAM Credentials, not by a key we hold -----------


class KeylessDelegation(google_credentials.Credentials):
    """Domain-wide delegation without a key: IAM Credentials `signJwt` signs the assertion.

    The caller's own identity (Workload Identity, or `google.auth.default()`) needs
    roles/iam.serviceAccountTokenCreator on the service account. google-auth's IAM signer
    uses signBlob at a fixed host; this asks signJwt at a configurable endpoint so that
    Private Service Connect and the emulator work.
    """

    def __init__(
        self,
        source: google_credentials.Credentials,
        service_account_email: str,
        subject: str,
        *,
        scopes: Sequence[str] = SCOPES,
        token_uri: str = DEFAULT_TOKEN_URI,
        iam_endpoint: str = DEFAULT_IAM_ENDPOINT,
    ) -> None:
        super().__init__()
        self._source = source
        self.service_account_email = service_account_email
        self._subject = subject
        self._scopes = tuple(scopes)
        self._token_uri = token_uri
        self._iam_endpoint = iam_endpoint.rstrip("/")

    def refresh(self, request: TransportRequest) -> None:
        now = int(time.time())
        claims = {
            "iss": self.service_account_email,
            "sub": self._subject,
            "scope": " ".join(self._scopes),
            "aud": DEFAULT_TOKEN_URI,  # Google's audience, wherever the token is exchanged
            "iat": now,
            "exp": now + 3600,
        }
        if not self._source.valid:
            self._source.refresh(request)
        headers = {"Content-Type": "application/json"}
        self._source.apply(headers)
        url = f"{self._iam_endpoint}/v1/projects/-/serviceAccounts/{self.service_account_email}:signJwt"
        signed = request(
            url=url, method="POST", body=json.dumps({"payload": json.dumps(claims)}), headers=headers
        )
        if signed.status != 200:
            raise google_exceptions.RefreshError(f"signJwt: HTTP {signed.status}: {_error_text(signed.data)}")
        assertion = json.loads(signed.data)["signedJwt"]
        body = urlencode(
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
        )
        answer = request(
            url=self._token_uri,
            method="POST",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        data = json.loads(answer.data or b"{}")
        if answer.status != 200 or "access_token" not in data:
            error = f"{data.get('error', answer.status)}: {data.get('error_description', '')}"
            raise google_exceptions.RefreshError(error, data)
        self.token = data["access_token"]
        lifetime = timedelta(seconds=int(data.get("expires_in", 3600)))
        self.expiry = datetime.now(UTC).replace(tzinfo=None) + lifetime  # google-auth keeps naive UTC


def _error_text(data: bytes) -> str:
    try:
        return _quoted(str(json.loads(data)["error"]["message"]))
    except (ValueError, KeyError, TypeError, RecursionError):
        return _quoted(data.decode("utf-8", "replace"))


def directory_for(google: GoogleSource, key: str | None) -> GoogleDirectory:
    """The reader a GoogleProvisioning's spec.google describes: with its key, or keyless."""
    if google.credentials_secret_ref is not None:
        if key is None:
            raise GoogleAuthError("spec.google.credentialsSecretRef is set but no key was given")
        return GoogleDirectory.from_service_account_key(
            key,
            admin_email=google.admin_email,
            customer_id=google.customer_id,
            api_endpoint=google.api_endpoint,
        )
    if google.service_account_email is None:  # the model guarantees one of the two
        raise GoogleAuthError("spec.google sets neither credentialsSecretRef nor serviceAccountEmail")
    return GoogleDirectory.keyless(
        google.service_account_email,
        admin_email=google.admin_email,
        customer_id=google.customer_id,
        api_endpoint=google.api_endpoint,
    )


def static_token_credentials(token: str) -> google_credentials.Credentials:
    """Credentials that present a fixed access token (emulators; short-lived tokens)."""
    return oauth2_credentials.Credentials(token=token)


# --- Bounded answers: a hostile endpoint must not make the operator read 50 MB into memory -------

MAX_ANSWER_BYTES = 32 << 20  # a 500-user page with every field is well under 1 MiB


class AnswerTooLarge(httplib2.HttpLib2Error):  # type: ignore[misc]  # httplib2 has no type hints
    """An answer larger than MAX_ANSWER_BYTES, refused before it is read whole."""

    def __init__(self) -> None:
        super().__init__(
            f"the answer is larger than {MAX_ANSWER_BYTES >> 20} MiB, which gwsync does not read"
        )


class _BoundedResponse(http.client.HTTPResponse):
    """httplib2 reads each body whole (`read()`): this one stops past the limit."""

    def read(self, amt: int | None = None) -> bytes:
        if amt is not None:
            return super().read(amt)
        declared = self.getheader("content-length") or ""
        if declared.isascii() and declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
            self.close()
            raise AnswerTooLarge()
        chunks, size = [], 0
        while chunk := super().read(64 << 10):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                self.close()
                raise AnswerTooLarge()
            chunks.append(chunk)
        return b"".join(chunks)


class _BoundedHTTP(httplib2.HTTPConnectionWithTimeout):  # type: ignore[misc]
    response_class = _BoundedResponse


class _BoundedHTTPS(httplib2.HTTPSConnectionWithTimeout):  # type: ignore[misc]
    response_class = _BoundedResponse


class BoundedHttp(httplib2.Http):  # type: ignore[misc]  # httplib2 has no type hints
    """httplib2.Http whose answers, and what a compressed one inflates to, stop at MAX_ANSWER_BYTES."""

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout=timeout, decode_limit_hard=MAX_ANSWER_BYTES)

    def request(self, uri: str, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("connection_type") is None:
            kwargs["connection_type"] = _BoundedHTTPS if uri.startswith("https:") else _BoundedHTTP
        try:
            return super().request(uri, *args, **kwargs)
        except (httplib2.decode.DecodeLimitError, httplib2.decode.DecodeRatioError):
            raise AnswerTooLarge() from None


# --- The reader ---------------------------------------------------------------------------------


class GoogleDirectory:
    """Reads one Workspace organization; `read()` implements `gwsync.sync.ports.Source`."""

    def __init__(
        self,
        credentials: google_credentials.Credentials,
        *,
        admin_email: str,
        service_account: str,
        customer_id: str = "my_customer",
        api_endpoint: str = DEFAULT_ENDPOINT,
        max_workers: int = 8,
        max_attempts: int = 6,
        retry_base: float = 1.0,
        retry_cap: float = 32.0,
        timeout: float = 60.0,
        fetch_limit: int | None = None,
    ) -> None:
        self._credentials = credentials
        self.admin_email = admin_email
        self.service_account = service_account
        self.customer_id = customer_id
        self.api_endpoint = api_endpoint.rstrip("/") + "/"
        self.max_workers = max(1, max_workers)
        self.fetch_limit = FETCH_ROUNDS * self.max_workers if fetch_limit is None else fetch_limit
        self.max_attempts = max(1, max_attempts)
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.timeout = timeout
        self.counts = RequestCounts()
        self._local = threading.local()
        self._refresh_lock = threading.Lock()
        self._customer: tuple[str, str] | None = None

    @classmethod
    def from_service_account_key(
        cls,
        key: str,
        *,
        admin_email: str,
        customer_id: str = "my_customer",
        api_endpoint: str = DEFAULT_ENDPOINT,
        **options: Any,
    ) -> GoogleDirectory:
        """Delegation signed with a JSON key; GoogleAuthError if the key is not usable."""
        try:
            info = _key_info(key)
            credentials = service_account.Credentials.from_service_account_info(
                info, scopes=SCOPES, subject=admin_email
            )
        except (ValueError, google_exceptions.MalformedError) as exc:
            problem = str(exc) if isinstance(exc, _KeyProblem) else "its private key cannot be read"
            raise GoogleAuthError(
                f"The service-account key is not a JSON key file of a service account ({problem}); "
                "download a new JSON key in the Google Cloud console and put it in place of this one."
            ) from None
        email = str(info.get("client_email", "?"))
        return cls(
            credentials,
            admin_email=admin_email,
            service_account=email,
            customer_id=customer_id,
            api_endpoint=api_endpoint,
            **options,
        )

    @classmethod
    def keyless(
        cls,
        service_account_email: str,
        *,
        admin_email: str,
        customer_id: str = "my_customer",
        api_endpoint: str = DEFAULT_ENDPOINT,
        token_uri: str = DEFAULT_TOKEN_URI,
        iam_endpoint: str = DEFAULT_IAM_ENDPOINT,
        source_credentials: google_credentials.Credentials | None = None,
        **options: Any,
    ) -> GoogleDirectory:
        """Delegation signed by IAM Credentials signJwt as the operator's own identity."""
        if source_credentials is None:
            try:
                found = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
            except google_exceptions.DefaultCredentialsError as exc:
                raise GoogleAuthError(
                    "Keyless access needs the operator's own Google identity (Workload Identity or "
                    f"Application Default Credentials) and none was found: {exc}"
                ) from None
            source_credentials = found[0]
        credentials = KeylessDelegation(
            source_credentials,
            service_account_email,
            admin_email,
            token_uri=token_uri,
            iam_endpoint=iam_endpoint,
        )
        return cls(
            credentials,
            admin_email=admin_email,
            service_account=service_account_email,
            customer_id=customer_id,
            api_endpoint=api_endpoint,
            **options,
        )

    # -- what callers use -------------------------------------------------------------------------

    def check_connection(self) -> tuple[str, str]:
        """(customer id, primary domain); GoogleAuthError/SourceUnavailable with the reason."""
        self._ensure_token()
        what = "Reading the customer"
        answer = self._call(what, lambda api: api.customers().get(customerKey=self.customer_id))
        self._customer = self._parse(what, customer_of, answer)
        return self._customer

    def read(
        self,
        groups: Sequence[str],
        fields: Collection[str] = (),
        on_page: Callable[[Sequence[Person]], None] | None = None,
        selection: Selection | None = None,
    ) -> Directory:
        """Every user and the transitive user members of `groups`; never a partial result.

        `fields`: the source paths spec.attributes reads beyond a Person's own (Person.extra);
        custom schema fields make the users listing ask for projection=custom with their schemas.
        With a `selection`, only the chosen groups' members and the known users may be read
        (`_read_chosen`).
        """
        wanted = list(dict.fromkeys(address_key(g) for g in groups))
        customer = self._customer or self.check_connection()
        mapped = tuple(sorted(set(fields)))
        if selection is not None:
            return self._read_chosen(customer, wanted, mapped, on_page, selection)
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="google-read") as pool:
            users_future = pool.submit(self._list_users, mapped, on_page)
            graph = self._read_groups(pool, wanted)
            people = users_future.result()
        memberships, notes = _expand(wanted, graph, people)
        log.info("Read %d users and %d groups from %s.", len(people), len(graph), customer[1])
        return Directory(customer[0], customer[1], people, memberships, tuple(notes), _nesting(graph, people))

    def _read_chosen(
        self,
        customer: tuple[str, str],
        wanted: list[str],
        fields: tuple[str, ...],
        on_page: Callable[[Sequence[Person]], None] | None,
        selection: Selection,
    ) -> Directory:
        """The chosen groups' members first, then their users: one users.get each when they
        are few (`fetch_limit`: FETCH_ROUNDS round trips of them by default), else the whole
        users listing, as without a selection.

        The listing starts as soon as the members read so far pass the limit (or a chosen group
        holds the whole customer), while the rest of the groups are read.
        """
        found = self._query_groups(selection.query) if selection.query is not None else ()
        chosen = list(dict.fromkeys([*selection.groups, *found]))
        wanted = list(dict.fromkeys([*wanted, *chosen]))
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="google-read") as pool:
            listing: list[Future[dict[str, Person]]] = []

            def list_everyone() -> None:
                listing.append(pool.submit(self._list_users, fields, on_page))

            tally = _MemberTally(chosen, self.fetch_limit, selection.known, list_everyone)
            graph = self._read_groups(pool, wanted, tally)
            ids = None if tally.over else _chosen_users(chosen, graph)
            ids = None if ids is None else ids | selection.known
            people: dict[str, Person] | None = None
            if ids is not None and len(ids) <= self.fetch_limit:
                emails = {m.id: m.email for group in graph.values() for m in group or () if m.email}
                asked = {uid: emails.get(uid, uid) for uid in sorted(ids)}
                vouched = ids & emails.keys() & selection.known
                people = self._get_users(pool, asked, fields, on_page, vouched)
            if people is None:
                if not listing:
                    list_everyone()
                people, ids = listing[0].result(), None
        memberships, notes = _expand(wanted, graph, people, ids)
        nesting = _nesting(graph, people)
        how = "each" if ids is not None else "the users listing"
        log.info("Read %d users (%s) and %d groups from %s.", len(people), how, len(graph), customer[1])
        return Directory(
            customer[0], customer[1], people, memberships, tuple(notes), nesting, ids is None, found
        )

    def search_groups(self, text: str, limit: int = 20) -> list[GroupInfo]:
        """Groups whose name or email starts with `text` (the seed's type-ahead)."""
        self._ensure_token()
        prefix = text.strip().replace("'", "")
        found: dict[str, GroupInfo] = {}
        for query in (f"name:'{prefix}*'", f"email:{prefix}*"):

            def search(api: Any, query: str = query) -> Any:
                size = min(200, max(1, limit))
                return api.groups().list(
                    customer=self.customer_id, query=query, maxResults=size, fields=GROUP_FIELDS
                )

            what = f"Searching groups for {_quoted(text)!r}"
            groups, _ = self._parse(what, groups_page, self._call(what, search))
            found.update((group.email, group) for group in groups)
        return sorted(found.values(), key=lambda g: (g.name.lower(), g.email))[:limit]

    # -- reading ------------------------------------------------------------------------------------

    def _list_users(
        self, fields: tuple[str, ...] = (), on_page: Callable[[Sequence[Person]], None] | None = None
    ) -> dict[str, Person]:
        people: dict[str, Person] = {}
        common = Common()

        def request(api: Any, token: str | None) -> Any:
            return self._users_request(api, token, fields)

        def parse(page: Mapping[str, Any]) -> tuple[list[Person], str | None]:
            return users_page(page, fields, common)

        # The user pages are a chain (page tokens): the next one is asked while this one is read.
        ahead = ThreadPoolExecutor(1, thread_name_prefix="google-read-ahead")
        try:
            for page_number, page in enumerate(self._pages("users", request, parse, ahead)):
                for person in page:
                    people[person.id] = person
                if on_page is not None:
                    on_page(page)
                log.debug("Users page %d read (%d users so far).", page_number + 1, len(people))
        finally:
            ahead.shutdown(wait=False, cancel_futures=True)  # a failed read does not wait for it
        return people

    def _users_request(self, api: Any, token: str | None, fields: tuple[str, ...] = ()) -> Any:
        return self._collection(api, "users").list(
            customer=self.customer_id,
            maxResults=USERS_PAGE,
            pageToken=token,
            **self._user_options(fields, "list"),
        )

    @staticmethod
    def _user_options(fields: tuple[str, ...], method: str) -> dict[str, str]:
        """`fields` and projection of users.list, or of users.get (the same user resource, so a
        user read either way is the same Person)."""
        selector = mapped_user_fields(fields) if fields else USER_FIELDS
        if method == "get":
            selector = selector.removeprefix("nextPageToken,users(").removesuffix(")")
        schemas = sorted({schema for path in fields if (schema := custom_schema(path))})
        custom = {"projection": "custom", "customFieldMask": ",".join(schemas)} if schemas else {}
        return {"fields": selector, "projection": "basic"} | custom

    def _direct_members(self, group: str, tally: _MemberTally | None = None) -> list[Member]:
        def request(api: Any, token: str | None) -> Any:
            return self._collection(api, "members").list(
                groupKey=group, maxResults=MEMBERS_PAGE, pageToken=token, fields=MEMBER_FIELDS
            )

        members: list[Member] = []
        for page in self._pages(f"members of {_quoted(group)}", request, members_page):
            members.extend(page)
            if tally is not None:
                tally.page(group, page)
        return members

    def _read_groups(
        self, pool: ThreadPoolExecutor, wanted: list[str], tally: _MemberTally | None = None
    ) -> dict[str, list[Member] | None]:
        """Direct members of every group reachable from `wanted` (None: a nested group not found)."""
        graph: dict[str, list[Member] | None] = {}
        pending: dict[Future[list[Member]], str] = {}
        requested = set(wanted)

        def visit(email: str) -> None:
            if email not in graph and email not in pending.values():
                pending[pool.submit(self._direct_members, email, tally)] = email

        for email in wanted:
            visit(email)
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                email = pending.pop(future)
                try:
                    members = future.result()
                except _GroupNotFound:
                    if email in requested:
                        _cancel(pending)
                        raise SourceUnavailable(
                            f"Group {email} does not exist in this Google Workspace organization; fix the "
                            "group email in members.groups or teams.mappings."
                        ) from None
                    graph[email] = None
                    continue
                except BaseException:
                    _cancel(pending)
                    raise
                graph[email] = members
                if tally is not None:
                    tally.nested(email, members)
                for member in members:
                    if member.kind == "GROUP":
                        visit(address_key(member.email))
        return graph

    def _query_groups(self, query: str) -> tuple[str, ...]:
        """The emails of the groups spec.members.groupQuery selects (groups.list `query`)."""

        def request(api: Any, token: str | None) -> Any:
            return self._collection(api, "groups").list(
                customer=self.customer_id, query=query, maxResults=200, pageToken=token, fields=GROUP_FIELDS
            )

        what = f"groups matching members.groupQuery {_quoted(query)!r}"
        emails = [group.email for page in self._pages(what, request, groups_page) for group in page]
        if not emails:
            raise SourceUnavailable(
                f"members.groupQuery {_quoted(query)!r} selects no group of this Google Workspace "
                "organization; fix the query (gwsync groups search shows the groups a text finds)."
            )
        return tuple(dict.fromkeys(emails))

    def _get_users(
        self,
        pool: ThreadPoolExecutor,
        ids: Mapping[str, str],
        fields: tuple[str, ...],
        on_page: Callable[[Sequence[Person]], None] | None,
        vouched: Collection[str] = (),
    ) -> dict[str, Person] | None:
        """Each of these users (id -> email, or the id when unknown) by users.get, at once on the
        pool; None when the users listing must decide instead (as without a selection).

        A user Google does not know (404) is not there, as it would be missing from the listing:
        a member of another organization (ignored with a note, never provisioned), a known
        user deleted since (a departure either way). But a `vouched` one, a member now that was
        provisioned before, is the one departure a wrong 404 could make up: Google's answers
        then disagree, and the listing decides. So does a 403 (an account of another
        organization in a group, or a user outside a delegated admin's reach). Any other failure
        fails the read.
        """
        common = Common()
        futures = {
            pool.submit(self._get_user, uid, name, fields, common): uid for uid, name in ids.items() if uid
        }
        people: dict[str, Person] = {}
        try:
            for future in futures:
                person = future.result()
                if person is not None:
                    people[person.id] = person
        except _UserRefused:
            _cancel(futures)
            log.info("Google refused to show a member's user; reading the users listing instead.")
            return None
        except BaseException:
            _cancel(futures)
            raise
        if any(uid not in people for uid in vouched):
            log.info("Google did not find a member gwsync provisioned; reading the users listing instead.")
            return None
        if on_page is not None:
            listed = list(people.values())
            for start in range(0, len(listed), USERS_PAGE):
                on_page(listed[start : start + USERS_PAGE])
        return people

    def _get_user(self, uid: str, name: str, fields: tuple[str, ...], common: Common) -> Person | None:
        what = f"Reading user {_quoted(name, limit=120)}"

        def request(api: Any) -> Any:
            return self._collection(api, "users").get(userKey=uid, **self._user_options(fields, "get"))

        try:
            answer = self._call(what, request)
        except _UserNotFound:
            return None
        person = self._parse(what, lambda user: to_person(user, "the user", fields, common), answer)
        if person.id != uid:
            raise SourceUnavailable(
                f"{what} failed: the answer of {self.api_endpoint} is another user ({_quoted(person.id)})."
            )
        return person

    def _pages(
        self,
        what: str,
        request: Callable[[Any, str | None], Any],
        parse: Callable[[Mapping[str, Any]], tuple[list[Item], str | None]],
        ahead: ThreadPoolExecutor | None = None,
    ) -> Iterator[list[Item]]:
        """Each page's items, parsed; a page token seen before ends the read (the list would loop).

        With `ahead`, a thread there follows the page tokens from answer to answer
        (`_follow`), so the chain of requests never waits for a page to be read here.
        """

        def fetch(token: str | None, page: int) -> dict[str, Any]:
            return self._call(f"Reading {what} (page {page})", lambda api: request(api, token))

        answers: queue.Queue[dict[str, Any] | BaseException | None] | None = None
        stop = threading.Event()
        if ahead is not None:
            answers = queue.Queue(maxsize=AHEAD_PAGES)
            ahead.submit(_follow, fetch, answers, stop)

        def answer_of(token: str | None, page: int) -> dict[str, Any]:
            nonlocal answers
            if answers is not None:
                got = answers.get()
                if isinstance(got, BaseException):
                    raise got
                if got is not None:
                    return got
                answers = None  # the thread stopped following: the rest is asked here
            return fetch(token, page)

        seen: set[str] = set()
        page = 1
        try:
            answer = answer_of(None, page)
            while True:
                label = f"Reading {what} (page {page})"
                items, token = self._parse(label, parse, answer)  # a fault in the page is said first
                del answer
                yield items
                if not token:
                    return
                if token in seen:
                    raise SourceUnavailable(
                        f"{label} failed: Google returned a page token it had already returned, so the "
                        "listing would never end; nothing was read."
                    )
                seen.add(token)
                page += 1
                answer = answer_of(token, page)
        finally:
            stop.set()
            if answers is not None:  # a follower blocked on a full queue puts one more and stops
                with contextlib.suppress(queue.Empty):
                    while True:
                        answers.get_nowait()

    def _parse(
        self, what: str, parse: Callable[[Mapping[str, Any]], Parsed], answer: Mapping[str, Any]
    ) -> Parsed:
        try:
            return parse(answer)
        except Malformed as exc:
            raise SourceUnavailable(
                f"{what} failed: the answer of {self.api_endpoint} is not a Directory API answer ({exc})."
            ) from None

    # -- HTTP, retries and errors ----------------------------------------------------------------

    def _api(self) -> Any:
        service = getattr(self._local, "service", None)
        if service is None:
            http = google_auth_httplib2.AuthorizedHttp(self._credentials, http=BoundedHttp(self.timeout))
            service = discovery.build(
                "admin",
                "directory_v1",
                http=http,
                client_options={"api_endpoint": self.api_endpoint},
                static_discovery=True,
                cache_discovery=False,
                model=QuickJson(),
            )
            self._local.service = service
            self._local.collections = {}  # of this service (_collection)
        return service

    def _collection(self, api: Any, name: str) -> Any:
        """`api.users()` or `api.members()`, made once per thread: googleapiclient builds each
        collection's methods from the discovery document on every call (1.5-2 ms each, more
        than reading the page it asks for)."""
        made: dict[str, Any] = self._local.collections
        if name not in made:
            made[name] = getattr(api, name)()
        return made[name]

    def _ensure_token(self) -> None:
        """Refresh once, here, rather than in every worker at the same moment."""
        with self._refresh_lock:
            if self._credentials.valid:
                return
            try:
                self._credentials.refresh(google_auth_httplib2.Request(BoundedHttp(self.timeout)))
            except google_exceptions.RefreshError as exc:
                raise self._refused(exc) from None
            except (OSError, httplib2.HttpLib2Error, google_exceptions.TransportError) as exc:
                raise SourceUnavailable(
                    f"Google's token endpoint could not be reached: {_reason(exc)}."
                ) from None

    def _call(self, what: str, request: Callable[[Any], Any]) -> dict[str, Any]:
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(_transient),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    call = request(self._api())
                    try:
                        answer = call.execute(num_retries=0)
                    except Exception:
                        self.counts.add(failed=True)
                        raise
                    self.counts.add(failed=False)
                    if not isinstance(answer, dict):
                        raise SourceUnavailable(
                            f"{what} failed: the answer of {self.api_endpoint} is not a JSON object "
                            f"({_kind(answer)}); is google.apiEndpoint the Directory API?"
                        )
                    return cast(dict[str, Any], answer)
        except _UNREADABLE as exc:
            # The client parses bodies itself (errors included) and fails on some with these.
            raise SourceUnavailable(
                f"{what} failed: the answer of {self.api_endpoint} cannot be read "
                f"({_unreadable(exc)}); is google.apiEndpoint the Directory API?"
            ) from None
        except HttpError as exc:
            raise self._explain(what, exc) from None
        except google_exceptions.RefreshError as exc:
            raise self._refused(exc) from None
        except AnswerTooLarge as exc:
            raise SourceUnavailable(
                f"{what} failed: {exc} from {self.api_endpoint}; is google.apiEndpoint the Directory API?"
            ) from None
        except (OSError, httplib2.HttpLib2Error, google_exceptions.TransportError) as exc:
            raise SourceUnavailable(
                f"{what} failed: Google Workspace at {self.api_endpoint} could not be reached "
                f"({_reason(exc)})."
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        backoff = min(self.retry_cap, self.retry_base * 2 ** (state.attempt_number - 1))
        delay = random.uniform(backoff / 2, backoff)  # jitter, not cryptography
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, HttpError):
            after = exc.resp.get("retry-after")
            if after and after.isascii() and after.isdigit():
                delay = max(delay, min(float(after), self.retry_cap))
        log.info(
            "Google answered %s; retrying in %.2fs (attempt %d).", _short(exc), delay, state.attempt_number
        )
        return delay

    def _explain(self, what: str, exc: HttpError) -> SourceUnavailable:
        status, reason, message = _details(exc)
        if status == 404 and what.startswith("Reading user "):
            return _UserNotFound(what)
        if status == 403 and reason == "forbidden" and what.startswith("Reading user "):
            return _UserRefused(what)  # the listing says whether the admin may read users at all
        if status == 401:
            return GoogleAuthError(
                f"Google refused the access token of service account {self.service_account} acting as "
                f"{self.admin_email} ({message}); check its key and domain-wide delegation."
            )
        if status == 403 and reason == "forbidden":
            return GoogleAuthError(
                f"{self.admin_email} is not a Workspace administrator allowed to read users and groups; "
                "set google.adminEmail to a super admin or a delegated admin with those read privileges."
            )
        if status == 403 and reason == "insufficientPermissions":
            return GoogleAuthError(
                f"The access token lacks a Directory API scope ({message}); grant {', '.join(SCOPES)} "
                "to the service account's domain-wide delegation."
            )
        if status == 404 and what == "Reading the customer":
            return GoogleAuthError(
                f"Customer id {self.customer_id} is not this organization's; set google.customerId to "
                "my_customer or to the id shown in the Admin console under Account settings."
            )
        if status == 404 and what.startswith("Reading members of "):
            return _GroupNotFound(what)
        plural = "s" if self.max_attempts > 1 else ""
        attempts = f" after {self.max_attempts} attempt{plural}" if _transient(exc) else ""
        head = f"HTTP {status} {reason}".strip()
        return SourceUnavailable(f"{what} failed{attempts}: {head}: {message}.")

    def _refused(self, exc: google_exceptions.RefreshError) -> GoogleAuthError:
        text = str(exc.args[0]) if exc.args else str(exc)
        sa, admin = self.service_account, self.admin_email
        if "Invalid JWT Signature" in text:
            return GoogleAuthError(
                f"Google rejected the service-account key of {sa}: it is not one of the account's keys "
                "(deleted, or from another account); create a new JSON key and put it in place of this one."
            )
        if "Invalid email or User ID" in text:
            return GoogleAuthError(
                f"{admin} is not a user of this Google Workspace organization; set google.adminEmail to "
                "the email of a Workspace administrator."
            )
        if "unauthorized_client" in text:
            return GoogleAuthError(
                f"Domain-wide delegation of service account {sa} does not grant every scope gwsync needs; "
                "in the Admin console (Security > API controls > Domain-wide delegation) grant: "
                f"{', '.join(SCOPES)}."
            )
        if "account not found" in text:
            return GoogleAuthError(
                f"Service account {sa} does not exist or is disabled; check the key or "
                "google.serviceAccountEmail."
            )
        if text.startswith("signJwt: HTTP 403"):
            return GoogleAuthError(
                f"The operator's Google identity may not sign as {sa}; grant it "
                "roles/iam.serviceAccountTokenCreator on that service account."
            )
        return GoogleAuthError(
            f"Google did not issue an access token for {sa} acting as {admin}: {_quoted(text)}"
        )


class _GroupNotFound(SourceUnavailable):
    """members.list answered 404 (a requested group is an error; a nested external one a note)."""


class _UserNotFound(SourceUnavailable):
    """users.get answered 404: no such user in this organization (never raised out of a read)."""


class _UserRefused(SourceUnavailable):
    """users.get answered 403 forbidden: the read falls back to the users listing."""


class _MemberTally:
    """User members of the chosen groups read so far, page by page on the worker threads, so
    that the users listing starts (`start`, once) as soon as they and the `known` users pass
    `limit`, or a chosen group holds the whole customer, while the rest of the groups are read.
    A user in two groups counts twice: the tally is a bound, the exact count comes after
    (`_chosen_users`)."""

    def __init__(
        self, chosen: Collection[str], limit: int, known: Collection[str], start: Callable[[], None]
    ) -> None:
        self.chosen = set(chosen)  # grows with the groups nested in chosen ones (`nested`)
        self.limit = limit
        self.known = known
        self.count = len(known)
        self.over = False
        self._start = start
        self._lock = threading.Lock()
        if self.count > limit:  # the known users alone are too many: list them all at once
            self.over = True
            start()

    def page(self, group: str, members: Sequence[Member]) -> None:
        with self._lock:
            if self.over or group not in self.chosen:
                return
            self.count += sum(m.kind == "USER" and m.id not in self.known for m in members)
            if self.count > self.limit or any(member.kind == "CUSTOMER" for member in members):
                self.over = True
                self._start()

    def nested(self, group: str, members: Sequence[Member]) -> None:
        """A group's members are read: the groups in a chosen group are chosen too."""
        with self._lock:
            if group in self.chosen:
                self.chosen.update(address_key(m.email) for m in members if m.kind == "GROUP")


class QuickJson(JsonModel):  # type: ignore[misc]  # googleapiclient is untyped
    """The client's JSON model, parsing answers with orjson: a page of 500 users in 0.8 ms
    instead of 1.4-2.4 ms, on the thread that follows the page tokens. What orjson refuses
    (not UTF-8, nested too deeply, NaN, huge numbers, lone surrogates...) goes to the client's
    own parser, so such answers read as they always did, except that a lone surrogate
    (`"\\ud800"`, which has no UTF-8 form and would fail every report) is read as U+FFFD."""

    def deserialize(self, content: bytes | str) -> Any:
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            return without_surrogates_in(super().deserialize(content))
        if self._data_wrapper and isinstance(body, dict) and "data" in body:
            body = body["data"]
        return body


def _cancel(pending: Mapping[Future[Any], str]) -> None:
    for future in pending:
        future.cancel()


def _details(exc: HttpError) -> tuple[int, str, str]:
    """Status, Google's reason and message of an error answer: bounded, printable text."""
    status = int(exc.resp.status)
    try:
        error = json.loads(exc.content)["error"]
        first = (error.get("errors") or [{}])[0]
        reason = first.get("reason") or error.get("status", "")
        return status, _quoted(str(reason), limit=80), _quoted(str(error.get("message", "")))
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        return status, "", _quoted(str(exc.reason or ""))


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, AnswerTooLarge):
        return False  # the same endpoint would answer the same again
    if isinstance(exc, HttpError):
        status, reason, _ = _details(exc)
        return status in TRANSIENT_STATUSES or (status == 403 and reason in RATE_LIMIT_REASONS)
    return isinstance(
        exc, (OSError, socket.timeout, httplib2.HttpLib2Error, google_exceptions.TransportError)
    )


def _short(exc: BaseException | None) -> str:
    if isinstance(exc, HttpError):
        status, reason, _ = _details(exc)
        return f"HTTP {status} {reason}".strip()
    return _reason(exc) if exc else "nothing"


def _reason(exc: BaseException) -> str:
    return _quoted(str(exc)) or type(exc).__name__


class _KeyProblem(ValueError):
    """What is wrong with a key file, without quoting any of it."""


def _key_info(key: str) -> dict[str, Any]:
    try:
        info = json.loads(key)
    except ValueError:
        raise _KeyProblem("not JSON") from None
    if not isinstance(info, dict):
        raise _KeyProblem("not a JSON object")
    missing = [name for name in ("client_email", "private_key", "token_uri") if not info.get(name)]
    if missing:
        raise _KeyProblem("missing " + ", ".join(missing))
    return info


# --- Reading Google's answers -------------------------------------------------------------------
#
# Whatever answers at apiEndpoint is read as untrusted: an answer of the wrong shape fails the
# read with one sentence naming the first thing wrong (a half-understood page must never look
# like people leaving), and text quoted from an answer into a message is bounded and printable,
# since messages end up in conditions, Events and terminals.

Item = TypeVar("Item")
Parsed = TypeVar("Parsed")
QUOTE_LIMIT = 300
# What the client raises, instead of HttpError, on some bodies it cannot parse: invalid UTF-8,
# JSON nested deeper than the interpreter recurses, an error whose message is not a string.
_UNREADABLE = (UnicodeDecodeError, RecursionError, AttributeError, TypeError, KeyError, IndexError)


class Malformed(ValueError):
    """Where an answer differs from the Directory API's resources, e.g. users[3].primaryEmail."""


@dataclass(frozen=True)
class Member:
    """One direct member of a group, as members.list returns it."""

    kind: str  # USER, GROUP, CUSTOMER (everyone in the organization) or EXTERNAL
    email: str = ""
    id: str = ""


def _quoted(text: str, limit: int = QUOTE_LIMIT) -> str:
    """Text from an answer, fit for a message: control and format characters escaped
    (`gwsync.text.visible`), at most `limit` long."""
    shown = visible(text)
    return shown if len(shown) <= limit else f"{shown[:limit]}…"


def _unreadable(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    return "not the JSON shape Google's errors have"


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    kinds = {dict: "an object", list: "a list", str: "a string", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{where} is {_kind(value)}, not an object")
    return value


def _list(page: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = page.get(key)
    if value is None:  # Google leaves the key out of an empty page
        return []
    if not isinstance(value, list):
        raise Malformed(f"{key} is {_kind(value)}, not a list")
    return [_object(item, f"{key}[{index}]") for index, item in enumerate(value)]


def _text(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Malformed(f"{where}.{key} is {_kind(value)}, not a string")
    return value


def _required(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(obj, key, where)
    if value is None:
        raise Malformed(f"{where}.{key} is missing")
    return value


def _flag(obj: Mapping[str, Any], key: str, where: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Malformed(f"{where}.{key} is {_kind(value)}, not true or false")
    return value


def _page_token(page: Mapping[str, Any]) -> str | None:
    return _text(page, "nextPageToken", "the page")


def _follow(
    fetch: Callable[[str | None, int], dict[str, Any]],
    answers: queue.Queue[dict[str, Any] | BaseException | None],
    stop: threading.Event,
) -> None:
    """Ask page after page, each with the token of the answer before, into `answers`: then
    None once a page has no usable token (or one already followed), or the error that ended
    the chain, where its page would have been. Stops at `stop`; `answers` holds at most
    AHEAD_PAGES, so memory does not grow when reading is slower than asking."""
    token: str | None = None
    page, followed = 1, set[str]()
    try:
        while not stop.is_set():
            answer = fetch(token, page)
            answers.put(answer)
            token = _early_token(answer)
            if token is None or token in followed:
                break
            followed.add(token)
            page += 1
    except BaseException as exc:  # handed to the reader, which raises it in its own thread
        answers.put(exc)
        return
    answers.put(None)


def _early_token(page: Mapping[str, Any]) -> str | None:
    """The next page's token before the page is read (None when it is not one: parsing says so)."""
    token = page.get("nextPageToken")
    return token if type(token) is str and token else None


def mapped_user_fields(paths: Collection[str]) -> str:
    """The users.list `fields` selector for the default attributes plus the mapped source paths."""
    lists: dict[str, set[str]] = {}
    scalars: list[str] = []
    for path in paths:
        head = re.split(r"[.\[]", path, maxsplit=1)[0]
        if head in LIST_SOURCES:
            lists.setdefault(head, {"type", "customType", "primary"}).add(path.rsplit(".", 1)[1])
        elif head == "customSchemas":
            scalars.append("customSchemas")
        elif head not in ("id", "primaryEmail", "name"):
            scalars.append(head)
    organizations = {"title", "department", "description", "primary"} | lists.pop("organizations", set())
    parts = [
        "id",
        "primaryEmail",
        "name(givenName,familyName,fullName)",
        "suspended",
        "archived",
        f"organizations({','.join(sorted(organizations))})",
        "thumbnailPhotoUrl",
        "thumbnailPhotoEtag",
        *(f"{name}({','.join(sorted(keys))})" for name, keys in sorted(lists.items())),
        *sorted(set(scalars)),
    ]
    return f"nextPageToken,users({','.join(parts)})"


_LIST_PATH = re.compile(r"^([A-Za-z]+)(?:\[type=([^\]=]+)\])?\.([A-Za-z]+)$")


def source_value(user: Mapping[str, Any], path: str, where: str) -> str | bool | None:
    """The value of one mapped source path in a Directory API user resource; Malformed if mistyped.

    A list field without `[type=...]` reads the primary entry, else the first; with it, the first
    entry of that type (a custom type is matched by its customType). A custom schema field with
    several values gives the first.
    """
    schema = custom_schema(path)
    if schema is not None:
        schemas = _object(user.get("customSchemas") or {}, f"{where}.customSchemas")
        values = _object(schemas.get(schema) or {}, f"{where}.customSchemas.{schema}")
        value = values.get(path.rsplit(".", 1)[1])
        if isinstance(value, list):
            value = value[0] if value else None
            value = value.get("value") if isinstance(value, dict) else value
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, str):
            raise Malformed(f"{where}.customSchemas.{schema} holds {_kind(value)} for {path}")
        return value or None
    listed = _LIST_PATH.match(path)
    if listed is not None and listed.group(1) in LIST_SOURCES:
        name, kind, key = listed.groups()
        entries = user.get(name) or []
        if not isinstance(entries, list):
            raise Malformed(f"{where}.{name} is {_kind(entries)}, not a list")
        objects = [_object(entry, f"{where}.{name}[{index}]") for index, entry in enumerate(entries)]
        if kind is not None:
            chosen = [
                o
                for o in objects
                if o.get("type") == kind or (o.get("type") == "custom" and o.get("customType") == kind)
            ]
        else:
            chosen = sorted(objects, key=lambda o: o.get("primary") is not True)
        return _text(chosen[0], key, f"{where}.{name}") if chosen else None
    if path in BOOLEAN_SOURCES:
        return _flag(user, path, where)
    if path.startswith("name."):
        return _text(_object(user.get("name") or {}, f"{where}.name"), path[5:], f"{where}.name")
    return _text(user, path, where)


NO_EXTRA: Mapping[str, str | bool] = MappingProxyType({})
"""The `extra` of a person read without mapped fields, one for all (a dict each is 64 bytes)."""
SHARED_VALUES = 20_000
"""How many distinct values a read shares (Common); past it, values are kept as they come."""


class Common:
    """One object per distinct value among the people of a read (titles, departments, first
    names repeat): the JSON decoder gives every occurrence its own string, 50+ bytes each."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def __call__(self, value: str | None) -> str | None:
        if value is None:
            return None
        found = self.values.get(value)
        if found is not None:
            return found
        if len(self.values) < SHARED_VALUES:
            self.values[value] = value
        return value


def _plain_text(value: object) -> str | bool | None:
    """`_text` of a value of the usual shape; False when it is not (the careful path says why)."""
    if value is None or value == "":
        return None
    return value if type(value) is str else False


def plain_person(user: Mapping[str, Any], common: Common) -> Person | None:
    """A user resource of the usual shape as a Person, the quick way; None when anything in
    it is not what Google sends (to_person then reads it field by field and names the fault)."""
    uid, email = user.get("id"), user.get("primaryEmail")
    name = user.get("name") or {}
    organizations = user.get("organizations") or []
    suspended, archived = user.get("suspended", False), user.get("archived", False)
    if (
        type(uid) is not str
        or not uid
        or type(email) is not str
        or not email
        or type(name) is not dict
        or type(organizations) is not list
        or type(suspended if suspended is not None else False) is not bool
        or type(archived if archived is not None else False) is not bool
    ):
        return None
    if any(type(entry) is not dict for entry in organizations):
        return None
    organization: Mapping[str, Any] = {}
    for entry in organizations:
        primary = entry.get("primary")
        if primary is not None and type(primary) is not bool:
            return None
        if primary:
            organization = entry
            break
    else:
        if organizations:
            organization = organizations[0]
    texts = (
        _plain_text(name.get("givenName")),
        _plain_text(name.get("familyName")),
        _plain_text(name.get("fullName")),
        _plain_text(organization.get("title")),
        _plain_text(organization.get("department")),
        _plain_text(organization.get("description")),
        _plain_text(user.get("thumbnailPhotoUrl")),
        _plain_text(user.get("thumbnailPhotoEtag")),
    )
    if False in texts:
        return None
    given, family, full, title, department, kind, photo_url, photo_etag = cast(tuple[str | None, ...], texts)
    return Person(
        id=uid,
        primary_email=email,
        given_name=common(given) or "",
        family_name=common(family) or "",
        full_name=full or "",
        suspended=bool(suspended),
        archived=bool(archived),
        title=common(title),
        department=common(department),
        employee_type=common(kind),
        photo_url=photo_url,
        photo_etag=common(photo_etag),
        extra=NO_EXTRA,
    )


def to_person(
    user: Mapping[str, Any],
    where: str = "the user",
    fields: Collection[str] = (),
    common: Common | None = None,
) -> Person:
    """A Directory API user resource as the source-neutral Person; Malformed if it is not one."""
    if not fields:
        quick = plain_person(user, common or Common())
        if quick is not None:
            return quick
    name = _object(user.get("name") or {}, f"{where}.name")
    organizations = user.get("organizations") or []
    if not isinstance(organizations, list):
        raise Malformed(f"{where}.organizations is {_kind(organizations)}, not a list")
    orgs = [_object(o, f"{where}.organizations[{index}]") for index, o in enumerate(organizations)]
    index, organization = next(
        ((i, o) for i, o in enumerate(orgs) if _flag(o, "primary", f"{where}.organizations[{i}]")),
        (0, orgs[0]) if orgs else (0, {}),
    )
    at = f"{where}.organizations[{index}]"
    return Person(
        id=_required(user, "id", where),
        primary_email=_required(user, "primaryEmail", where),
        given_name=_text(name, "givenName", f"{where}.name") or "",
        family_name=_text(name, "familyName", f"{where}.name") or "",
        full_name=_text(name, "fullName", f"{where}.name") or "",
        suspended=_flag(user, "suspended", where),
        archived=_flag(user, "archived", where),
        title=_text(organization, "title", at),
        department=_text(organization, "department", at),
        employee_type=_text(organization, "description", at),
        photo_url=_text(user, "thumbnailPhotoUrl", where),
        photo_etag=_text(user, "thumbnailPhotoEtag", where),
        extra={path: value for path in fields if (value := source_value(user, path, where)) is not None},
    )


def users_page(
    page: Mapping[str, Any], fields: Collection[str] = (), common: Common | None = None
) -> tuple[list[Person], str | None]:
    """A users.list page: its people (with the mapped `fields`) and the next page's token.

    `common` shares repeated values between the people of every page of one read."""
    common = common or Common()
    users = [
        to_person(user, f"users[{index}]", fields, common) for index, user in enumerate(_list(page, "users"))
    ]
    return users, _page_token(page)


def members_page(page: Mapping[str, Any]) -> tuple[list[Member], str | None]:
    """A members.list page: its direct members and the next page's token."""
    members = []
    for index, member in enumerate(_list(page, "members")):
        where = f"members[{index}]"
        kind = _required(member, "type", where)
        email = _required(member, "email", where) if kind == "GROUP" else _text(member, "email", where) or ""
        members.append(Member(kind, email, _text(member, "id", where) or ""))
    return members, _page_token(page)


def groups_page(page: Mapping[str, Any]) -> tuple[list[GroupInfo], str | None]:
    """A groups.list page: each group's email, name and direct member count."""
    groups = []
    for index, group in enumerate(_list(page, "groups")):
        where = f"groups[{index}]"
        count = group.get("directMembersCount", 0)
        if isinstance(count, str) and count.isascii() and count.isdigit():  # int64 travels as a JSON string
            count = int(count)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise Malformed(f"{where}.directMembersCount is {_kind(count)}, not a count")
        email = address_key(_required(group, "email", where))
        groups.append(GroupInfo(email, _text(group, "name", where) or "", count))
    return groups, _page_token(page)


def customer_of(answer: Mapping[str, Any]) -> tuple[str, str]:
    """customers.get: the customer id and the primary domain."""
    return _required(answer, "id", "the customer"), _text(answer, "customerDomain", "the customer") or ""


def _nesting(
    graph: Mapping[str, list[Member] | None], people: Mapping[str, Person]
) -> dict[str, GroupMembers]:
    """Each group's direct members, so a report can say through which groups a person is in a team."""
    return {
        group: GroupMembers(
            users=frozenset(m.id for m in members if m.kind == "USER" and m.id in people),
            groups=tuple(address_key(m.email) for m in members if m.kind == "GROUP"),
            everyone=any(m.kind == "CUSTOMER" for m in members),
        )
        for group, members in graph.items()
        if members is not None
    }


def _unasked(member: Member, asked: Collection[str] | None) -> bool:
    """A user member of a team's group that was not read (not chosen): kept, without a note."""
    return asked is not None and member.kind == "USER" and bool(member.id) and member.id not in asked


def _chosen_users(chosen: Sequence[str], graph: Mapping[str, list[Member] | None]) -> set[str] | None:
    """The ids of the user members of the chosen groups, nested ones included; None when one
    of them holds the whole customer (a CUSTOMER member: everyone)."""
    ids: set[str] = set()
    seen: set[str] = set()
    stack = list(chosen)
    while stack:
        group = stack.pop()
        if group in seen:
            continue
        seen.add(group)
        for member in graph.get(group) or ():
            if member.kind == "CUSTOMER":
                return None
            if member.kind == "GROUP":
                stack.append(address_key(member.email))
            elif member.kind == "USER" and member.id:
                ids.add(member.id)
    return ids


def _expand(
    wanted: Sequence[str],
    graph: Mapping[str, list[Member] | None],
    people: Mapping[str, Person],
    asked: Collection[str] | None = None,
) -> tuple[dict[str, frozenset[str]], list[str]]:
    """Transitive user members of each wanted group (cycles and diamonds visit once).

    `asked`: the users read one by one (None: every user was listed). A user member not asked
    for (in a team's group only) is kept without a note: the plan keeps only desired people."""
    notes: dict[str, None] = {}
    memberships: dict[str, frozenset[str]] = {}
    for root in wanted:
        ids: set[str] = set()
        seen: set[str] = set()
        stack = [root]
        while stack:
            group = stack.pop()
            if group in seen:
                continue
            seen.add(group)
            members = graph.get(group)
            if members is None:
                nested = _quoted(group, limit=120)
                notes[f"Nested group {nested} is not in this organization; its members were ignored."] = None
                continue
            for member in members:
                if member.kind == "GROUP":
                    stack.append(address_key(member.email))
                elif member.kind == "CUSTOMER":
                    ids.update(people)
                elif member.id in people or _unasked(member, asked):
                    ids.add(member.id)
                else:
                    who = _quoted(member.email or member.id or "a member", limit=120)
                    where = _quoted(group, limit=120)
                    notes[f"{who} (in {where}) is not a user of this organization and was ignored."] = None
        memberships[root] = frozenset(ids)
    return memberships, list(notes)
