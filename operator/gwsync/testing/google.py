"""An emulator of the Google Admin SDK Directory API and its OAuth token endpoint (aiohttp).

Tests, the demo and benchmarks point the real google-api-python-client and google-auth at
it, so the reader in gwsync.sources.google is exercised over real HTTP with Google's rules:

- ``POST /token`` takes the domain-wide-delegation JWT google-auth signs, verifies its RS256
  signature against the service account's public key, checks ``sub`` is a user of the org and
  every requested scope is delegated, and answers with Google's real error bodies;
- every API call needs a bearer token from that endpoint; a subject who is not an admin gets
  403 "Not Authorized to access this resource/api", a token without the scope 403
  insufficientPermissions;
- users.list (``maxResults`` ≤ 500, default 100), groups.list (≤ 200), members.list (≤ 200),
  page tokens, ``fields`` partial responses, ``query`` for users and groups, customers.get;
- users.get by id or primary email, with the same ``fields`` and projections: 404
  "Resource Not Found: userKey" for a user the org lacks, 403 forbidden for an address of
  another domain;
- groups.list ``query``: clauses ``email`` or ``name`` with ``=`` (equals) or ``:prefix*``,
  values quoted with ``'`` when they hold spaces, all of them to hold (case-insensitive);
- a user's phones, externalIds, relations (its manager) and customSchemas; custom schema
  fields only with ``projection=custom`` (the schemas of ``customFieldMask``) or ``full``;
- ``POST /v1/projects/-/serviceAccounts/{email}:signJwt`` (IAM Credentials) for keyless
  delegation;
- faults (status, Google reason, only on one page, a number of times, Retry-After, delay) and
  a request log for assertions and benchmarks.

The organization is an ``Org`` snapshot (DESIGN §6) that tests may replace at any time.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from gwsync.testing.org import Org, OrgGroup, OrgUser
from gwsync.testing.request_log import LoggedRequest, RequestLog, RequestMatch, take
from gwsync.testing.threads import serving_in_thread

API = "/admin/directory/v1"
SCOPE_ROOT = "https://www.googleapis.com/auth/"
READ_ONLY_SCOPES = frozenset(
    SCOPE_ROOT + name
    for name in (
        "admin.directory.user.readonly",
        "admin.directory.group.readonly",
        "admin.directory.group.member.readonly",
        "admin.directory.customer.readonly",
    )
)
# Which scopes let a token call each API (the read-only one or its read-write parent).
API_SCOPES: Mapping[str, frozenset[str]] = {
    "users": frozenset({SCOPE_ROOT + "admin.directory.user.readonly", SCOPE_ROOT + "admin.directory.user"}),
    "groups": frozenset(
        {SCOPE_ROOT + "admin.directory.group.readonly", SCOPE_ROOT + "admin.directory.group"}
    ),
    "members": frozenset(
        {
            SCOPE_ROOT + "admin.directory.group.member.readonly",
            SCOPE_ROOT + "admin.directory.group.readonly",
            SCOPE_ROOT + "admin.directory.group",
        }
    ),
    "customer": frozenset(
        {SCOPE_ROOT + "admin.directory.customer.readonly", SCOPE_ROOT + "admin.directory.customer"}
    ),
}
PAGE_LIMITS = {"users": (100, 500), "groups": (200, 200), "members": (200, 200)}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # the audience google-auth always signs for


# --- JSON Web Tokens (RS256), as Google's token endpoint and IAM signJwt handle them --------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_jwt(key: rsa.RSAPrivateKey, key_id: str, claims: Mapping[str, Any]) -> str:
    header = {"alg": "RS256", "typ": "JWT", "kid": key_id}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def read_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, claims, signing input and signature; ValueError when it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    header, claims = json.loads(_unb64(parts[0])), json.loads(_unb64(parts[1]))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("not a JWT")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), _unb64(parts[2])


def signature_holds(key: rsa.RSAPublicKey, signing_input: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


# --- The emulated Google-side configuration ---------------------------------------------------


@dataclass
class ServiceAccount:
    """A service account with one key, and the scopes the Workspace admin delegated to it."""

    email: str
    key: rsa.RSAPrivateKey
    key_id: str = field(default_factory=lambda: secrets.token_hex(20))
    delegated_scopes: set[str] = field(default_factory=lambda: set(READ_ONLY_SCOPES))

    def key_json(self, token_uri: str, *, key: rsa.RSAPrivateKey | None = None) -> str:
        """The JSON key file Google would let you download (token_uri: the emulator's)."""
        pem = (key or self.key).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return json.dumps(
            {
                "type": "service_account",
                "project_id": "gwsync-emulated",
                "private_key_id": self.key_id,
                "private_key": pem.decode("ascii"),
                "client_email": self.email,
                "client_id": str(int(hashlib.sha256(self.email.encode()).hexdigest()[:15], 16)),
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": token_uri,
            }
        )


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Fault(RequestMatch):
    """Answer matching requests with a Google error instead of the data.

    `api` is users, groups, members, customer, token or signJwt (None: every request);
    `page` restricts it to one page of a listing (0 is the first); beyond these, requests are
    chosen as every test server chooses them (gwsync.testing.request_log.RequestMatch: method,
    substrings of path and query), and `times` is how many matching requests fail (None, the
    default here: all). `delay` slows the answer (a slow page) and applies even with status 0,
    which means "do not fail, only delay".
    """

    status: int
    reason: str = "backendError"
    _: KW_ONLY  # which requests (api, page, method, ...) are named, never positional
    api: str | None = None
    page: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    times: int | None = field(default=None, kw_only=True)

    def selects(self, api: str, page: int | None) -> bool:
        """Whether the fault is for this API (and page of a listing)."""
        return (self.api is None or self.api == api) and (self.page is None or self.page == page)


@dataclass(frozen=True)
class Grant:
    """What an issued access token allows."""

    subject: str
    scopes: frozenset[str]
    admin: bool


class GoogleError(Exception):
    """An answer in Google's error format."""

    def __init__(self, status: int, message: str, reason: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.reason, self.retry_after = status, message, reason, retry_after

    def response(self) -> web.Response:
        body = {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [{"message": self.message, "domain": "global", "reason": self.reason}],
            }
        }
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return web.json_response(body, status=self.status, headers=headers)


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


# --- Partial responses (`fields`) -------------------------------------------------------------

Selection = dict[str, "Selection | None"]


def parse_fields(text: str) -> Selection:
    """Parse Google's partial-response syntax: ``a,b/c,d(e,f(g))``; ValueError if malformed."""
    selection, rest = _parse_list(text.replace(" ", ""), 0)
    if rest != len(text.replace(" ", "")):
        raise ValueError(text)
    return selection


def _parse_list(text: str, at: int) -> tuple[Selection, int]:
    selection: Selection = {}
    while True:
        start = at
        while at < len(text) and text[at] not in ",()":
            at += 1
        path = [part for part in text[start:at].split("/")]
        if not all(path):
            raise ValueError(text)
        sub: Selection | None = None
        if at < len(text) and text[at] == "(":
            sub, at = _parse_list(text, at + 1)
            if at >= len(text) or text[at] != ")":
                raise ValueError(text)
            at += 1
        _merge(selection, path, sub)
        if at < len(text) and text[at] == ",":
            at += 1
            continue
        return selection, at


def _merge(selection: Selection, path: list[str], sub: Selection | None) -> None:
    head, *tail = path
    if not tail:
        existing = selection.get(head)
        if head in selection and (existing is None or sub is None):
            selection[head] = None
        elif isinstance(existing, dict) and sub is not None:
            for key, value in sub.items():
                _merge(existing, [key], value)
        else:
            selection[head] = sub
        return
    child = selection.setdefault(head, {})
    if child is not None:
        _merge(child, tail, sub)


def project(value: Any, selection: Selection | None) -> Any:
    """Keep only the selected parts of `value` (lists are projected element-wise)."""
    if selection is None:
        return value
    if isinstance(value, list):
        return [project(item, selection) for item in value]
    if isinstance(value, dict):
        return {key: project(value[key], sub) for key, sub in selection.items() if key in value}
    return value


# --- Resources --------------------------------------------------------------------------------


def _stable_id(text: str, prefix: str) -> str:
    return prefix + str(int(hashlib.sha256(text.lower().encode()).hexdigest()[:16], 16)).zfill(20)[:20]


def user_resource(user: OrgUser, admins: frozenset[str]) -> dict[str, Any]:
    full = f"{user.given_name} {user.family_name}".strip()
    resource: dict[str, Any] = {
        "kind": "admin#directory#user",
        "id": user.id,
        "etag": f'"{_stable_id(user.model_dump_json(), "e")}"',
        "primaryEmail": user.primary_email,
        "name": {"givenName": user.given_name, "familyName": user.family_name, "fullName": full},
        "isAdmin": user.primary_email.lower() in admins,
        "suspended": user.suspended,
        "archived": user.archived,
        "orgUnitPath": "/",
        "emails": [{"address": user.primary_email, "primary": True}],
    }
    organization = {
        key: value
        for key, value in (
            ("title", user.title),
            ("department", user.department),
            ("description", user.employee_type),
            ("costCenter", user.cost_center),
        )
        if value is not None
    }
    if organization:
        resource["organizations"] = [{**organization, "primary": True, "customType": ""}]
    if user.photo_url:
        resource["thumbnailPhotoUrl"] = user.photo_url
        resource["thumbnailPhotoEtag"] = user.photo_etag or ""
    relations = [{"value": user.manager, "type": "manager"}] if user.manager else []
    for key, entries in (
        ("phones", user.phones),
        ("externalIds", user.external_ids),
        ("relations", [*relations, *(entry.to_wire() for entry in user.relations)]),
    ):
        if entries:
            resource[key] = [entry if isinstance(entry, dict) else entry.to_wire() for entry in entries]
    return resource


def with_custom_schemas(resource: dict[str, Any], user: OrgUser, schemas: set[str] | None) -> dict[str, Any]:
    """The user with its customSchemas, as users.list adds them for projection=full (`schemas`
    None: all of them) or projection=custom (the schemas of customFieldMask). Google leaves out
    a schema the user has no value in, and the key when none is left."""
    chosen = {
        name: values
        for name, values in user.custom_schemas.items()
        if values and (schemas is None or name in schemas)
    }
    return {**resource, "customSchemas": chosen} if chosen else resource


def group_resource(group: OrgGroup) -> dict[str, Any]:
    return {
        "kind": "admin#directory#group",
        "id": _stable_id(group.email, "0"),
        "etag": f'"{_stable_id(group.model_dump_json(), "e")}"',
        "email": group.email,
        "name": group.name or group.email.split("@")[0],
        "directMembersCount": str(len(group.members)),
        "description": "",
        "adminCreated": True,
    }


class Snapshot:
    """The served org with its lookups, rebuilt whenever the org is replaced."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.admins = frozenset(a.lower() for a in org.admins)
        self.users = [user_resource(u, self.admins) for u in org.users]
        self.custom = {u.id: u for u in org.users if u.custom_schemas}
        self.user_by_email = {u.primary_email.lower(): u for u in org.users}
        self.user_by_id = {u.id: u for u in org.users}
        self.user_resources = {resource["id"]: resource for resource in self.users}
        self.groups = [group_resource(g) for g in org.groups]
        self.group_by_key: dict[str, tuple[OrgGroup, dict[str, Any]]] = {}
        for group, resource in zip(org.groups, self.groups, strict=True):
            self.group_by_key[group.email.lower()] = (group, resource)
            self.group_by_key[resource["id"]] = (group, resource)

    def member(self, email: str) -> dict[str, Any]:
        key = email.lower()
        base = {"kind": "admin#directory#member", "email": email, "role": "MEMBER", "status": "ACTIVE"}
        if key == self.org.customer.id.lower():  # the whole organization, as Google lists it
            return {"kind": base["kind"], "id": self.org.customer.id, "role": "MEMBER", "type": "CUSTOMER"}
        if key in self.user_by_email:
            return {**base, "id": self.user_by_email[key].id, "type": "USER"}
        if key in self.group_by_key:
            return {**base, "id": self.group_by_key[key][1]["id"], "type": "GROUP"}
        return {**base, "id": _stable_id(key, "9"), "type": "USER"}  # a user outside the org


# --- The emulator -------------------------------------------------------------------------------


class GoogleEmulator:
    """The Directory API, the token endpoint and IAM signJwt over one org snapshot."""

    def __init__(self, org: Org) -> None:
        self._snapshot = Snapshot(org)
        self.url = ""  # set once serving: http://127.0.0.1:PORT
        self.accounts: dict[str, ServiceAccount] = {}
        self.faults: list[Fault] = []
        self.log = RequestLog()
        self.tokens_issued = 0
        self.assertions: list[str] = []  # every delegation JWT received, for leak scans
        self._grants: dict[str, Grant] = {}
        self._signers: dict[str, set[str]] = {}  # caller token -> service accounts it may sign as
        self._lock = threading.Lock()

    # -- configuration (thread-safe enough for tests: whole-object swaps) ------------------------

    @property
    def org(self) -> Org:
        return self._snapshot.org

    @org.setter
    def org(self, org: Org) -> None:
        self._snapshot = Snapshot(org)

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def service_account(
        self, email: str = "gwsync@gwsync-emulated.iam.gserviceaccount.com"
    ) -> ServiceAccount:
        """The service account with this email, created (with a fresh key) on first use."""
        with self._lock:
            if email not in self.accounts:
                self.accounts[email] = ServiceAccount(email, new_key())
            return self.accounts[email]

    def service_account_key(self, email: str | None = None) -> str:
        """A JSON key for the (default) service account, pointing at this emulator."""
        account = self.service_account(email) if email else self.service_account()
        return account.key_json(self.token_uri)

    def foreign_key(self, email: str | None = None) -> str:
        """A JSON key naming the service account but signed by a key Google does not know."""
        account = self.service_account(email) if email else self.service_account()
        return account.key_json(self.token_uri, key=new_key())

    def allow_signing(self, service_account: str) -> str:
        """A caller access token allowed to signJwt as `service_account` (TokenCreator)."""
        self.service_account(service_account)
        caller = "caller-" + secrets.token_urlsafe(16)
        self._signers[caller] = {service_account}
        return caller

    def issued_credentials(self) -> dict[str, str]:
        """Every delegation assertion received and access token issued, by a name (leak scans)."""
        found = {f"Google assertion {i + 1}": jwt for i, jwt in enumerate(self.assertions) if jwt}
        found.update((f"Google access token {i + 1}", token) for i, token in enumerate(list(self._grants)))
        return found

    def requests(self, api: str | None = None) -> list[LoggedRequest]:
        return [entry for entry in self.log if api is None or entry.api == api]

    # -- HTTP ---------------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_get(API + "/customers/{key}", self._customer)
        app.router.add_get(API + "/users", self._users)
        app.router.add_get(API + "/users/{key}", self._user)
        app.router.add_get(API + "/groups", self._groups)
        app.router.add_get(API + "/groups/{key}", self._group)
        app.router.add_get(API + "/groups/{key}/members", self._members)
        app.router.add_post("/v1/projects/-/serviceAccounts/{target}", self._sign_jwt)
        return app

    async def _answer(
        self, request: web.Request, api: str, page: int | None, handler: Callable[[], web.Response]
    ) -> web.Response:
        chosen = (f for f in self.faults if f.selects(api, page))
        fault = take(chosen, request.method, request.path, request.query_string)
        try:
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status:
                    raise GoogleError(
                        fault.status, _fault_message(fault), fault.reason, retry_after=fault.retry_after
                    )
            response = handler()
        except GoogleError as exc:
            response = exc.response()
        self.log.append(
            LoggedRequest(request.method, request.path, request.query_string, response.status, api)
        )
        return response

    def _grant(self, request: web.Request, api: str) -> Grant:
        header = request.headers.get("Authorization", "")
        grant = self._grants.get(header.removeprefix("Bearer ").strip())
        if grant is None:
            raise GoogleError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                "authError",
            )
        if not grant.scopes & API_SCOPES[api]:
            raise GoogleError(
                403, "Request had insufficient authentication scopes.", "insufficientPermissions"
            )
        if not grant.admin:
            raise GoogleError(403, "Not Authorized to access this resource/api", "forbidden")
        return grant

    def _customer_matches(self, request: web.Request) -> None:
        customer = request.query.get("customer")
        if customer is None and request.query.get("domain") is None:
            raise GoogleError(400, "Bad Request", "badRequest")
        if customer is not None and customer not in ("my_customer", self._snapshot.org.customer.id):
            raise GoogleError(400, "Bad Request", "badRequest")

    # token endpoint

    async def _token(self, request: web.Request) -> web.Response:
        response = await self._token_response(request)
        self.log.append(LoggedRequest("POST", request.path, status=response.status, api="token"))
        return response

    async def _token_response(self, request: web.Request) -> web.Response:
        form = await request.post()
        failing = (f for f in self.faults if f.status and f.selects("token", None))
        fault = take(failing, request.method, request.path)
        if fault is not None:
            return _oauth_error(fault.status, "internal_failure", "Backend error")
        if form.get("grant_type") != JWT_BEARER:
            return _oauth_error(
                400, "unsupported_grant_type", "Invalid grant_type: " + str(form.get("grant_type"))
            )
        self.assertions.append(str(form.get("assertion", "")))
        try:
            _header, claims, signing_input, signature = read_jwt(str(form.get("assertion", "")))
        except ValueError:
            return _oauth_error(400, "invalid_grant", "Invalid JWT: the assertion is not a JWT.")
        account = self.accounts.get(str(claims.get("iss", "")))
        if account is None:
            return _oauth_error(400, "invalid_grant", "Invalid grant: account not found")
        if not signature_holds(account.key.public_key(), signing_input, signature):
            return _oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        if claims.get("aud") not in (GOOGLE_TOKEN_URI, self.token_uri) or not _fresh(claims):
            return _oauth_error(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
            )
        subject = str(claims.get("sub", "")).lower()
        if subject and subject not in self._snapshot.user_by_email:
            return _oauth_error(400, "invalid_grant", "Invalid email or User ID")
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes or not scopes <= account.delegated_scopes:
            return _oauth_error(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, "
                "or client not authorized for any of the scopes requested.",
            )
        token = "ya29.emulated-" + secrets.token_urlsafe(24)
        self._grants[token] = Grant(subject, scopes, subject in self._snapshot.admins)
        self.tokens_issued += 1
        return web.json_response({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    # IAM Credentials signJwt (keyless delegation)

    async def _sign_jwt(self, request: web.Request) -> web.Response:
        response = await self._sign_jwt_response(request)
        self.log.append(LoggedRequest("POST", request.path, status=response.status, api="signJwt"))
        return response

    async def _sign_jwt_response(self, request: web.Request) -> web.Response:
        target = request.match_info["target"]
        email, _, verb = target.rpartition(":")
        caller = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        body = await request.json() if request.can_read_body else {}
        if verb != "signJwt":
            return GoogleError(404, f"Method {verb} is not emulated.", "notFound").response()
        if email not in self._signers.get(caller, set()) or email not in self.accounts:
            return GoogleError(
                403,
                "Permission 'iam.serviceAccounts.signJwt' denied on resource (or it may not exist).",
                "forbidden",
            ).response()
        try:
            claims = json.loads(body["payload"])
        except (KeyError, TypeError, ValueError):
            return GoogleError(400, "Invalid JWT payload.", "badRequest").response()
        account = self.accounts[email]
        return web.json_response(
            {"keyId": account.key_id, "signedJwt": sign_jwt(account.key, account.key_id, claims)}
        )

    # Directory API

    async def _customer(self, request: web.Request) -> web.Response:
        def answer() -> web.Response:
            self._grant(request, "customer")
            org = self._snapshot.org
            if request.match_info["key"] not in ("my_customer", org.customer.id):
                raise GoogleError(404, "Resource Not Found: customerKey", "notFound")
            return _json(
                request,
                {
                    "kind": "admin#directory#customer",
                    "id": org.customer.id,
                    "customerDomain": org.customer.primary_domain,
                },
            )

        return await self._answer(request, "customer", None, answer)

    async def _users(self, request: web.Request) -> web.Response:
        def users() -> list[dict[str, Any]]:
            found = _projected(self._snapshot, request)  # checks the projection asked, even for none
            if request.query.get("showDeleted") == "true":
                found = []
            found = _filter_users(found, request.query.get("query", ""))
            return _ordered(found, request.query.get("orderBy"), request.query.get("sortOrder"))

        return await self._listed(request, "users", users)

    async def _user(self, request: web.Request) -> web.Response:
        """users.get: the user whose id or primary email is the key, with the projection asked."""

        def answer() -> web.Response:
            self._grant(request, "users")
            snapshot, key = self._snapshot, request.match_info["key"].lower()
            domain = snapshot.org.customer.primary_domain.lower()
            if "@" in key and key.rpartition("@")[2] != domain:
                # Google answers so for an address of a domain this customer does not own.
                raise GoogleError(403, "Not Authorized to access this resource/api", "forbidden")
            user = snapshot.user_by_email.get(key) or snapshot.user_by_id.get(key)
            if user is None:
                raise GoogleError(404, "Resource Not Found: userKey", "notFound")
            return _json(request, _projected(snapshot, request, [snapshot.user_resources[user.id]])[0])

        return await self._answer(request, "users", None, answer)

    async def _groups(self, request: web.Request) -> web.Response:
        return await self._listed(
            request, "groups", lambda: _filter_groups(self._snapshot.groups, request.query.get("query", ""))
        )

    async def _group(self, request: web.Request) -> web.Response:
        def answer() -> web.Response:
            self._grant(request, "groups")
            found = self._snapshot.group_by_key.get(request.match_info["key"].lower())
            if found is None:
                raise GoogleError(404, "Resource Not Found: groupKey", "notFound")
            return _json(request, found[1])

        return await self._answer(request, "groups", None, answer)

    async def _members(self, request: web.Request) -> web.Response:
        def members() -> list[dict[str, Any]]:
            snapshot = self._snapshot
            found = snapshot.group_by_key.get(request.match_info["key"].lower())
            if found is None:
                raise GoogleError(404, "Resource Not Found: groupKey", "notFound")
            return [snapshot.member(email) for email in found[0].members]

        return await self._listed(request, "members", members, of_customer=False)

    async def _listed(
        self,
        request: web.Request,
        api: str,
        select: Callable[[], list[dict[str, Any]]],
        *,
        of_customer: bool = True,
    ) -> web.Response:
        """users.list, groups.list, members.list: the grant (and customer) checked, then the
        items `select` finds, one page of them."""
        page, offset = _page(request, api)

        def answer() -> web.Response:
            self._grant(request, api)
            if of_customer:
                self._customer_matches(request)
            return _listing(request, api, f"admin#directory#{api}", select(), page, offset)

        return await self._answer(request, api, page, answer)


def _fault_message(fault: Fault) -> str:
    return {
        "userRateLimitExceeded": "User Rate Limit Exceeded",
        "rateLimitExceeded": "Rate Limit Exceeded",
        "quotaExceeded": "Quota exceeded for quota metric 'Queries' of service 'admin.googleapis.com'.",
        "backendError": "Backend Error",
    }.get(fault.reason, fault.reason)


def _fresh(claims: Mapping[str, Any]) -> bool:
    now = time.time()
    try:
        iat, exp = float(claims["iat"]), float(claims["exp"])
    except (KeyError, TypeError, ValueError):
        return False
    return iat - 300 <= now <= exp and exp - iat <= 3600


def _page(request: web.Request, api: str) -> tuple[int, int]:
    """(page number, offset) from the page token; a bad token is reported by `_listing`."""
    token = request.query.get("pageToken")
    if not token:
        return 0, 0
    try:
        data = json.loads(_unb64(token))
        return int(data["p"]), int(data["o"])
    except (ValueError, KeyError, TypeError):
        return -1, -1


def _listing(
    request: web.Request, api: str, kind: str, items: list[dict[str, Any]], page: int, offset: int
) -> web.Response:
    default, cap = PAGE_LIMITS[api]
    if page < 0:
        raise GoogleError(400, "Invalid Input: pageToken", "invalid")
    raw = request.query.get("maxResults")
    try:
        size = int(raw) if raw is not None else default
    except ValueError:
        raise GoogleError(
            400, f"Invalid value '{raw}'. Values must be within the range: [1, {cap}]", "invalid"
        ) from None
    if not 1 <= size <= cap:
        raise GoogleError(
            400, f"Invalid value '{raw}'. Values must be within the range: [1, {cap}]", "invalid"
        )
    body: dict[str, Any] = {"kind": kind, "etag": f'"{_stable_id(str(len(items)), "e")}"'}
    chunk = items[offset : offset + size]
    if chunk:
        body[api] = chunk
    if offset + size < len(items):
        body["nextPageToken"] = _b64(json.dumps({"p": page + 1, "o": offset + size}).encode())
    return _json(request, body)


def _json(request: web.Request, body: dict[str, Any]) -> web.Response:
    fields = request.query.get("fields")
    if fields:
        try:
            selection = parse_fields(fields)
        except ValueError:
            raise GoogleError(400, f"Invalid field selection {fields}", "invalidParameter") from None
        body = project(body, selection)
    return web.Response(body=json.dumps(body, ensure_ascii=False).encode(), content_type="application/json")


def _projected(
    snapshot: Snapshot, request: web.Request, users: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The users (all, or these) with the custom schema fields `projection` asks for: none for
    basic (the default, customFieldMask or not), all for full, those of customFieldMask for custom."""
    projection = request.query.get("projection", "basic")
    if projection not in ("basic", "full", "custom"):
        raise GoogleError(400, "Invalid value for: projection", "invalid")
    users = snapshot.users if users is None else users
    if projection == "basic" or not snapshot.custom:
        return users
    mask = request.query.get("customFieldMask")
    schemas = None if projection == "full" else {name for name in (mask or "").split(",") if name}
    return [
        with_custom_schemas(resource, snapshot.custom[resource["id"]], schemas)
        if resource["id"] in snapshot.custom
        else resource
        for resource in users
    ]


def _terms(query: str) -> list[tuple[str, str, str]]:
    """`field:value`, `field:'value'` or `field=value` terms (value may end in * for a prefix)."""
    terms: list[tuple[str, str, str]] = []
    rest = query.strip()
    while rest:
        for op in (":", "="):
            name, sep, tail = rest.partition(op)
            if sep and name and " " not in name and ("'" not in name):
                break
        else:
            raise GoogleError(400, "Invalid Input: query", "invalid")
        if tail.startswith("'"):
            value, _, rest = tail[1:].partition("'")
        else:
            value, _, rest = tail.partition(" ")
        terms.append((name.lower(), op, value.lower()))
        rest = rest.strip()
    return terms


def _value_matches(actual: str, wanted: str) -> bool:
    actual = actual.lower()
    return actual.startswith(wanted[:-1]) if wanted.endswith("*") else actual == wanted


def _filter_users(users: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    for name, _, value in _terms(query):
        if name in ("issuspended", "isarchived"):
            key = "suspended" if name == "issuspended" else "archived"
            users = [u for u in users if str(u[key]).lower() == value]
        elif name == "email":
            users = [u for u in users if _value_matches(u["primaryEmail"], value)]
        elif name in ("givenname", "familyname"):
            key = "givenName" if name == "givenname" else "familyName"
            users = [u for u in users if _value_matches(u["name"][key], value)]
        else:
            raise GoogleError(400, "Invalid Input: query", "invalid")
    return users


def _ordered(
    users: list[dict[str, Any]], order_by: str | None, sort_order: str | None
) -> list[dict[str, Any]]:
    keys: dict[str, Callable[[dict[str, Any]], str]] = {
        "email": lambda u: str(u["primaryEmail"]).lower(),
        "givenName": lambda u: str(u["name"]["givenName"]).lower(),
        "familyName": lambda u: str(u["name"]["familyName"]).lower(),
    }
    if order_by is None:
        return users
    if order_by not in keys:
        raise GoogleError(400, "Invalid value for: orderBy", "invalid")
    return sorted(users, key=keys[order_by], reverse=sort_order == "DESCENDING")


def _filter_groups(groups: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    for name, _, value in _terms(query):
        if name not in ("name", "email"):
            raise GoogleError(400, "Invalid Input: query", "invalid")
        groups = [g for g in groups if _value_matches(g[name], value)]
    return groups


# --- Serving ------------------------------------------------------------------------------------


@asynccontextmanager
async def running_google_emulator(
    org: Org, *, host: str = "127.0.0.1", port: int = 0, middlewares: Sequence[Any] = ()
) -> AsyncIterator[GoogleEmulator]:
    """Serve a GoogleEmulator on host:port (a free port by default) on the running loop;
    `middlewares` (aiohttp's) go in front of it, as tests gate or watch requests."""
    emulator = GoogleEmulator(org)
    app = emulator.app()
    app.middlewares.extend(middlewares)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    emulator.url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{bound}"
    try:
        yield emulator
    finally:
        await runner.cleanup()


@contextmanager
def google_emulator_in_thread(
    org: Org, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[GoogleEmulator]:
    """Serve a GoogleEmulator from its own event loop in a background thread.

    The Google client is blocking: calling it from the loop that serves the emulator would
    deadlock, so synchronous tests, the CLI and benchmarks run the emulator here.
    """
    with serving_in_thread(
        lambda: running_google_emulator(org, host=host, port=port), "google-emulator"
    ) as served:
        yield served
