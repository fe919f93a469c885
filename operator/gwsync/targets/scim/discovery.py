"""What a SCIM target says it can do, read once per check: the only place `Capabilities` flags
are set.

Each flag, where it comes from, and the servers that need it (docs/targets.md):
- `patch`: ServiceProviderConfig patch.supported. Without PATCH every write is a
  read-modify-write PUT (the without-PATCH tests on lightscim; every server run in
  tests/integration/interop supports PATCH).
- `page_size`: filter.maxResults, at most DEFAULT_PAGE_SIZE; 100 for AWS IAM Identity Center.
  django-scim2-server refuses `count` above 1000 and SCIMMY pages by 20 without `count`, so
  `count` is always asked.
- `filter`: filter.supported. Canaille says false (and ignores `?filter=`): no filter is sent,
  so no look-up after an ambiguous create.
- `cursor`: pagination.cursor without pagination.index (RFC 9865), or the AWS profile: AWS IAM
  Identity Center ignores startIndex.
- `group_members`: False for AWS IAM Identity Center, whose groups come without members:
  membership is read by filter.
- `profile`: "aws-identity-center" when asked, or when documentationUri is on an AWS host.
- `count`: False when a list with `count` fails (a 5xx) and one without it works (Canaille
  compares count as a string: a 500); set by `check_token`.
- `unsupported_fields`: photos on AWS; department when /ResourceTypes lists a User without
  the enterprise extension (django-scim2-server refuses a User carrying it); what /Schemas
  does not declare or declares readOnly or never returned (django-scim2-server drops
  displayName, title, userType and photos; Canaille: externalId, photos, userType).
- `schema`: the core User of /Schemas (`user_schema_of`): declared sub-attributes of emails
  and photos, a required name.formatted and an immutable userName (Canaille).
- `group_external_id`: False when /Schemas declares the Group's externalId readOnly or
  returned never (the provider does not keep one on groups): teams then carry none. AWS
  keeps it (CreateGroup and PatchGroup take externalId: "Supported user and group attributes"
  and PatchGroup in the IAM Identity Center SCIM developer guide).
- `bulk_max_operations`, `bulk_max_payload`: bulk.supported, maxOperations, maxPayloadSize
  (SCIMMY and scim2-server serve Bulk; AWS publishes none, so 0 there).

A documentationUri or specUri that is an empty string is taken as absent (elimity-com/scim
sends "" for each one it was not given).

The ServiceProviderConfig is read past sub-attributes RFC 7643 does not define
(`service_provider_config`): scim-sdk-server adds its own patch settings to it.

Discovery endpoints may be anonymous (RFC 7644 §4), so the token is tried on /Users
(`check_token`). The generic profile reads /ResourceTypes and /Schemas; a target that cannot
answer them is taken at its ServiceProviderConfig's word.
"""

from __future__ import annotations

import copy
import dataclasses
import urllib.parse
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from pydantic import ValidationError
from scim2_client import SCIMClientException
from scim2_models import ServiceProviderConfig

from gwsync.sync.ports import TargetUnavailable

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
DEFAULT_BULK_PAYLOAD = 1 << 20
"""maxPayloadSize when a target advertises Bulk without one (RFC 7644's example: 1 MiB)."""
PAST_THE_END = 2**31 - 1
"""A startIndex past any target's last user: a list that returns nobody, without `count`."""
DEFAULT_PAGE_SIZE = 500

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
    group_external_id: bool = True
    """Groups keep an externalId (a team's Google group id); False: /Schemas says they do not."""
    bulk_max_operations: int = 0
    """bulk.maxOperations when bulk.supported (0: no Bulk)."""
    bulk_max_payload: int = 0
    """bulk.maxPayloadSize in bytes when bulk.supported."""


class Requests(Protocol):
    """How discovery asks the target (`transport.ScimTransport.request`): discovery says what
    to ask and what the answers mean, never how a request is sent or retried."""

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response: ...


async def discover(
    scim: Requests, url: str, profile: str, user_extensions: dict[str, frozenset[str]] | None
) -> tuple[Capabilities, dict[str, frozenset[str]] | None]:
    """GET ServiceProviderConfig (and, for the generic profile, /ResourceTypes and /Schemas):
    the capabilities and `Target.user_extensions` (those known so far when the target does
    not say); raises TargetUnavailable."""
    try:
        response = await scim.request("GET", "/ServiceProviderConfig")
    except SCIMClientException as exc:
        notes = "; ".join(getattr(exc, "__notes__", [])) or str(exc)
        raise TargetUnavailable(f"The SCIM target {url} cannot be reached: {notes}.") from exc
    if response.status_code != 200:
        raise TargetUnavailable(
            f"The SCIM target {url} answered {response.status_code} to GET "
            "/ServiceProviderConfig; check spec.target.scim.url points at the SCIM base URL.",
            status=response.status_code,
        )
    try:
        config = service_provider_config(without_empty_uris(response.json()))
    except ValueError as exc:
        raise TargetUnavailable(
            f"The SCIM target {url} did not answer a ServiceProviderConfig; check "
            "spec.target.scim.url points at the SCIM base URL (e.g. https://host/scim/v2)."
        ) from exc
    capabilities = capabilities_of(config, response.json(), profile)
    if capabilities.profile == "generic":
        declared = await user_extensions_of(scim)
        if declared is not None:
            user_extensions = declared
            if ENTERPRISE not in declared:
                capabilities.unsupported_fields |= {"department"}
        capabilities.schema, capabilities.group_external_id = await user_schema(scim, user_extensions)
        capabilities.unsupported_fields |= capabilities.schema.unsupported
    return capabilities, user_extensions


def without_empty_uris(config: Any) -> Any:
    """A ServiceProviderConfig without its URIs that are empty strings: an empty URI is no URI.
    elimity-com/scim sends "" for every documentationUri and specUri it was not given (also
    those of each authentication scheme), which scim2-models refuses as an invalid URI."""
    if not isinstance(config, dict):
        return config
    kept = {k: v for k, v in config.items() if not (k in ("documentationUri", "specUri") and v == "")}
    if isinstance(config.get("authenticationSchemes"), list):
        kept["authenticationSchemes"] = [without_empty_uris(s) for s in config["authenticationSchemes"]]
    return kept


def service_provider_config(payload: Any) -> ServiceProviderConfig:
    """The ServiceProviderConfig, read past sub-attributes RFC 7643 §5 does not define.

    scim-sdk-server publishes its own patch settings in it (`patch.ignoreUnknownAttributes`,
    `patch.doNotFailOnNoTarget`, its `activate...Workaround` flags when set), which
    scim2-models refuses as extra inputs; gwsync reads none of them, so they are dropped.
    Anything else wrong with the document, an unknown top-level attribute included (a list
    or another resource answered instead), still fails (a ValueError)."""
    try:
        return ServiceProviderConfig.model_validate(payload)
    except ValidationError as exc:
        errors = exc.errors()
        extra = [e["loc"] for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) > 1]
        if len(extra) < len(errors):
            raise
    trimmed = copy.deepcopy(payload)
    for *parents, name in extra:
        holder = trimmed
        for step in parents:
            holder = holder[step]
        holder.pop(name, None)
    return ServiceProviderConfig.model_validate(trimmed)


async def user_extensions_of(scim: Requests) -> dict[str, frozenset[str]] | None:
    """The User schema extensions /ResourceTypes declares (their attributes filled in by
    `user_schema`); None when it has no User type or cannot say. Some providers refuse a User
    carrying the enterprise extension when their User type lacks it."""
    try:
        response = await scim.request("GET", "/ResourceTypes")
        payload = response.json() if response.status_code == 200 else None
    except (SCIMClientException, ValueError):
        return None
    types = payload.get("Resources") if isinstance(payload, dict) else payload
    for resource_type in types if isinstance(types, list) else []:
        if isinstance(resource_type, dict) and resource_type.get("name") == "User":
            extensions = resource_type.get("schemaExtensions") or []
            declared = [str(e["schema"]) for e in extensions if isinstance(e, dict) and e.get("schema")]
            return {schema: frozenset() for schema in declared}
    return None


async def user_schema(
    scim: Requests, user_extensions: dict[str, frozenset[str]] | None
) -> tuple[UserSchema, bool]:
    """The core User schema from /Schemas (`user_schema_of`), and whether groups keep an
    externalId (`group_keeps_external_id`); nothing, and True, when it cannot be read. The
    attributes of the User extensions /ResourceTypes declares go to `user_extensions`."""
    try:
        response = await scim.request("GET", "/Schemas")
        payload = response.json() if response.status_code == 200 else None
    except (SCIMClientException, ValueError):
        return UserSchema(), True
    schemas = payload.get("Resources") if isinstance(payload, dict) else payload
    for schema in schemas if isinstance(schemas, list) else []:
        if not isinstance(schema, dict) or not isinstance(schema.get("attributes") or [], list):
            continue
        attributes = schema.get("attributes") or []
        declared = frozenset(str(a.get("name", "")).casefold() for a in attributes if isinstance(a, dict))
        if user_extensions is not None and schema.get("id") in user_extensions:
            user_extensions[str(schema["id"])] = declared  # mapped extension attributes are checked
    return user_schema_of(payload), group_keeps_external_id(payload)


def group_keeps_external_id(payload: Any) -> bool:
    """Whether the core Group schema of a /Schemas answer lets a group keep an externalId.

    externalId is a common attribute (RFC 7643 §3.1) most providers do not list in their
    schemas, so only a declaration that it cannot be written or read (readOnly, returned
    never) says no; a provider that drops it silently gets it once (Ledger.team_sources).
    """
    schemas = payload.get("Resources") if isinstance(payload, dict) else payload
    for schema in schemas if isinstance(schemas, list) else []:
        if isinstance(schema, dict) and schema.get("id") == GROUP_SCHEMA:
            for attribute in schema.get("attributes") or []:
                if isinstance(attribute, dict) and str(attribute.get("name", "")).casefold() == "externalid":
                    return attribute.get("mutability") != "readOnly" and attribute.get("returned") != "never"
    return True


async def check_token(scim: Requests, url: str, capabilities: Capabilities) -> None:
    """Discovery endpoints may be anonymous (RFC 7644 §4), so the token is tried on /Users.

    A provider that fails on `count` (Canaille compares it as a string: a 500) but lists
    without it is listed without it from then on (`Capabilities.count`). That second
    question starts past the last user (PAST_THE_END), so it lists nobody."""
    try:
        response = await scim.request("GET", "/Users", params={"startIndex": 1, "count": 1})
        if response.status_code >= 500:
            bare = await scim.request("GET", "/Users", params={"startIndex": PAST_THE_END})
            if bare.status_code == 200:
                capabilities.count = False
                response = bare
    except SCIMClientException as exc:
        notes = "; ".join(getattr(exc, "__notes__", [])) or str(exc)
        raise TargetUnavailable(f"The SCIM target {url} cannot be reached: {notes}.") from exc
    if response.status_code in (401, 403):
        raise TargetUnavailable(
            f"The SCIM token was refused ({response.status_code}) by {url}; check the Secret "
            "named in spec.target.scim.tokenSecretRef holds a valid bearer token.",
            status=response.status_code,
        )


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
