"""One Directory API call: a service per thread, bounded retries with back-off (`gwsync.backoff`,
the same rule as the SCIM target's), and Google's failures explained in one sentence a person
can act on.

googleapiclient's HTTP object is not thread-safe, so every worker thread builds its own
service; they share one set of credentials, refreshed before the workers start.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import google_auth_httplib2
import httplib2
from google.auth import credentials as google_credentials
from google.auth import exceptions as google_exceptions
from googleapiclient import discovery
from googleapiclient.errors import HttpError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from gwsync.backoff import Backoff
from gwsync.sources.google.auth import SCOPES, GoogleAuthError, refresh_token, refused
from gwsync.sources.google.http import AnswerTooLarge, BoundedHttp, QuickJson
from gwsync.sources.google.parse import Malformed, exception_text, kind_of, quoted
from gwsync.sync.ports import SourceUnavailable

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://admin.googleapis.com/"
RATE_LIMIT_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"})
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
Parsed = TypeVar("Parsed")
# What the client raises, instead of HttpError, on some bodies it cannot parse: invalid UTF-8,
# JSON nested deeper than the interpreter recurses, an error whose message is not a string.
_UNREADABLE = (UnicodeDecodeError, RecursionError, AttributeError, TypeError, KeyError, IndexError)


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


class GroupNotFound(SourceUnavailable):
    """members.list answered 404 (a requested group is an error; a nested external one a note)."""


class UserNotFound(SourceUnavailable):
    """users.get answered 404: no such user in this organization (never raised out of a read)."""


class UserRefused(SourceUnavailable):
    """users.get answered 403 forbidden: the read falls back to the users listing."""


class DirectoryApi:
    """The Directory API of one organization as one administrator sees it: the connection
    settings, and `call`, one request with its retries and its failure explained."""

    def __init__(
        self,
        credentials: google_credentials.Credentials,
        *,
        admin_email: str,
        service_account: str,
        customer_id: str,
        api_endpoint: str,
        max_attempts: int,
        retry_base: float,
        retry_cap: float,
        timeout: float,
    ) -> None:
        self._credentials = credentials
        self.admin_email = admin_email
        self.service_account = service_account
        self.customer_id = customer_id
        self.api_endpoint = api_endpoint.rstrip("/") + "/"
        self.max_attempts = max(1, max_attempts)
        self.backoff = Backoff(retry_base, retry_cap)
        self.timeout = timeout
        self.counts = RequestCounts()
        self._local = threading.local()
        self._refresh_lock = threading.Lock()

    def parse_answer(
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
            self._local.collections = {}  # of this service (collection)
        return service

    def collection(self, api: Any, name: str) -> Any:
        """`api.users()` or `api.members()`, made once per thread: googleapiclient builds each
        collection's methods from the discovery document on every call (1.5-2 ms each, more
        than reading the page it asks for)."""
        made: dict[str, Any] = self._local.collections
        if name not in made:
            made[name] = getattr(api, name)()
        return made[name]

    def ensure_token(self) -> None:
        """Refresh once, here, rather than in every worker at the same moment."""
        with self._refresh_lock:
            if not self._credentials.valid:
                refresh_token(self._credentials, self.timeout, self.service_account, self.admin_email)

    def call(self, what: str, request: Callable[[Any], Any]) -> dict[str, Any]:
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
                            f"({kind_of(answer)}); is google.apiEndpoint the Directory API?"
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
            raise refused(exc, self.service_account, self.admin_email) from None
        except AnswerTooLarge as exc:
            raise SourceUnavailable(
                f"{what} failed: {exc} from {self.api_endpoint}; is google.apiEndpoint the Directory API?"
            ) from None
        except (OSError, httplib2.HttpLib2Error, google_exceptions.TransportError) as exc:
            raise SourceUnavailable(
                f"{what} failed: Google Workspace at {self.api_endpoint} could not be reached "
                f"({exception_text(exc)})."
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = exc.resp.get("retry-after") if isinstance(exc, HttpError) else None
        delay = self.backoff.delay(state.attempt_number, after)
        log.info(
            "Google answered %s; retrying in %.2fs (attempt %d).", _short(exc), delay, state.attempt_number
        )
        return delay

    def _explain(self, what: str, exc: HttpError) -> SourceUnavailable:
        status, reason, message = _details(exc)
        if status == 404 and what.startswith("Reading user "):
            return UserNotFound(what)
        if status == 403 and reason == "forbidden" and what.startswith("Reading user "):
            return UserRefused(what)  # the listing says whether the admin may read users at all
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
            return GroupNotFound(what)
        plural = "s" if self.max_attempts > 1 else ""
        attempts = f" after {self.max_attempts} attempt{plural}" if _transient(exc) else ""
        head = f"HTTP {status} {reason}".strip()
        return SourceUnavailable(f"{what} failed{attempts}: {head}: {message}.")


def _details(exc: HttpError) -> tuple[int, str, str]:
    """Status, Google's reason and message of an error answer: bounded, printable text."""
    status = int(exc.resp.status)
    try:
        error = json.loads(exc.content)["error"]
        first = (error.get("errors") or [{}])[0]
        reason = first.get("reason") or error.get("status", "")
        return status, quoted(str(reason), limit=80), quoted(str(error.get("message", "")))
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        return status, "", quoted(str(exc.reason or ""))


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
    return exception_text(exc) if exc else "nothing"


def _unreadable(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    return "not the JSON shape Google's errors have"
