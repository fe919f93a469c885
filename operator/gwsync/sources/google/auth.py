"""Who the reader is to Google: a service-account key, or keyless delegation signed by IAM
Credentials; the access token's refresh; and Google's refusals as sentences naming the fix.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import google.auth
import google_auth_httplib2
import httplib2
from google.auth import credentials as google_credentials
from google.auth import exceptions as google_exceptions
from google.auth.transport import Request as TransportRequest
from google.oauth2 import credentials as oauth2_credentials
from google.oauth2 import service_account

from gwsync.sources.google.http import BoundedHttp
from gwsync.sources.google.parse import exception_text, quoted
from gwsync.sync.ports import SourceUnavailable

SCOPES: tuple[str, ...] = tuple(
    "https://www.googleapis.com/auth/" + name
    for name in (
        "admin.directory.user.readonly",
        "admin.directory.group.readonly",
        "admin.directory.group.member.readonly",
        "admin.directory.customer.readonly",
    )
)
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
DEFAULT_IAM_ENDPOINT = "https://iamcredentials.googleapis.com"


class GoogleAuthError(SourceUnavailable):
    """Google refuses these credentials or this administrator: a person must fix the setup."""


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
        return quoted(str(json.loads(data)["error"]["message"]))
    except (ValueError, KeyError, TypeError, RecursionError):
        return quoted(data.decode("utf-8", "replace"))


def static_token_credentials(token: str) -> google_credentials.Credentials:
    """Credentials that present a fixed access token (emulators; short-lived tokens)."""
    return oauth2_credentials.Credentials(token=token)


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


def key_credentials(key: str, admin_email: str) -> tuple[google_credentials.Credentials, str]:
    """Delegation signed with a JSON key, and the service account's email; GoogleAuthError if the
    key is not usable."""
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
    return credentials, str(info.get("client_email", "?"))


def default_identity() -> google_credentials.Credentials:
    """The operator's own Google identity, which keyless delegation signs as."""
    try:
        found = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except google_exceptions.DefaultCredentialsError as exc:
        raise GoogleAuthError(
            "Keyless access needs the operator's own Google identity (Workload Identity or "
            f"Application Default Credentials) and none was found: {exc}"
        ) from None
    return found[0]


def refresh_token(credentials: google_credentials.Credentials, timeout: float, sa: str, admin: str) -> None:
    """A new access token for service account `sa` acting as `admin`; GoogleAuthError when
    Google refuses it, SourceUnavailable when its token endpoint cannot be reached."""
    try:
        credentials.refresh(google_auth_httplib2.Request(BoundedHttp(timeout)))
    except google_exceptions.RefreshError as exc:
        raise refused(exc, sa, admin) from None
    except (OSError, httplib2.HttpLib2Error, google_exceptions.TransportError) as exc:
        raise SourceUnavailable(
            f"Google's token endpoint could not be reached: {exception_text(exc)}."
        ) from None


def refused(exc: google_exceptions.RefreshError, sa: str, admin: str) -> GoogleAuthError:
    """Why Google issued no token for service account `sa` acting as `admin`, and the fix."""
    text = str(exc.args[0]) if exc.args else str(exc)
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
    return GoogleAuthError(f"Google did not issue an access token for {sa} acting as {admin}: {quoted(text)}")
