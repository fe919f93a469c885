"""GoogleProvisioning: which Google Workspace people and teams go to which SCIM target.

These models are the schema: the CRD in crds/ is generated from them (`gwsync crds`).
Every rule that spans fields is written twice on purpose: once as a pydantic validator
(for `gwsync validate` and the operator) and once as CEL (for the API server), with the
same message, so that kubectl and GitOps CI refuse the same objects.
"""

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

import durationpy
from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic.config import JsonDict

from gwsync.api.attributes import Attributes
from gwsync.api.base import ApiModel, cel
from gwsync.api.common import Condition, SecretKeyRef
from gwsync.api.constants import DEFAULT_CUSTOMER_ID, DEFAULT_GOOGLE_ENDPOINT

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"
Email = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=320)]
MIN_INTERVAL = timedelta(hours=1)
MAX_GRACE = timedelta(hours=8760)
DEFAULT_MAX_RESOURCES = 200_000
DEFAULT_MAX_PAGES = 20_000
API_ENDPOINT_MESSAGE = "apiEndpoint must use https:// (plain http is allowed only for loopback addresses)"
MIN_SYNC_TIMEOUT = timedelta(seconds=1)
SYNC_TIMEOUT_MESSAGE = "syncTimeout must be at least 1s (Go duration syntax, e.g. 6h)"
GRACE_MESSAGE = "gracePeriod must be at most 8760h (a year; Go duration syntax, e.g. 72h)"
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"
# Plain http only to a loopback host: localhost, 127.x.y.z or [::1], then a port, a path or the
# end. A prefix test let http://localhost.attacker.example/ and http://localhost@attacker.example/
# through, sending the token in the clear to another host.
LOOPBACK_HTTP = r"^http://(localhost|127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|\[::1\])(:[0-9]{1,5})?(/.*)?$"
LOOPBACK_HTTP_CEL = LOOPBACK_HTTP.replace("\\", "\\\\")  # inside a CEL string literal


def parse_interval(text: str) -> timedelta:
    """A Go-style duration ("24h", "1h30m") as Kubernetes users write them."""
    try:
        return timedelta(seconds=durationpy.from_str(text).total_seconds())
    except Exception as exc:  # durationpy raises bare Exceptions for bad input
        raise ValueError(
            f"'{text}' is not a duration; write it like 24h, 12h or 1h30m (Go duration syntax)"
        ) from exc


def is_loopback_http(url: str) -> bool:
    """Plain http is only for loopback (tests and the demo); everything else is TLS."""
    return re.match(LOOPBACK_HTTP, url) is not None


def tls_or_loopback_rule(field: str, message: str) -> JsonDict:
    """The CEL form of `https:// or is_loopback_http` for one field of the object."""
    return cel(
        f"self.{field}.startsWith('https://') || self.{field}.matches('{LOOPBACK_HTTP_CEL}')",
        message,
        f".{field}",
    )


class MemberSource(StrEnum):
    ALL_USERS = "AllUsers"
    GROUPS = "Groups"


class DeprovisionAction(StrEnum):
    DEACTIVATE = "Deactivate"
    DELETE = "Delete"


class GoogleSource(ApiModel):
    """How to reach the Google Workspace organization (Admin SDK Directory API, read-only)."""

    model_config = {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                cel(
                    "has(self.credentialsSecretRef) != has(self.serviceAccountEmail)",
                    "set exactly one of credentialsSecretRef (a service-account key) or "
                    "serviceAccountEmail (keyless, signed through IAM Credentials)",
                ),
                tls_or_loopback_rule("apiEndpoint", API_ENDPOINT_MESSAGE),
            ]
        }
    }

    customer_id: str = Field(
        default=DEFAULT_CUSTOMER_ID,
        min_length=1,
        description="Google customer id of the organization; my_customer means the admin's own.",
    )
    admin_email: Email = Field(
        description="Workspace administrator impersonated through domain-wide delegation.",
    )
    credentials_secret_ref: SecretKeyRef | None = Field(
        default=None,
        description="Secret key holding the service-account JSON key with domain-wide delegation.",
    )
    service_account_email: Email | None = Field(
        default=None,
        description="Keyless alternative: the service account whose delegation JWT is signed "
        "through the IAM Credentials signJwt API by the operator's own identity.",
    )
    api_endpoint: str = Field(
        default=DEFAULT_GOOGLE_ENDPOINT,
        pattern=r"^https?://",
        description="Admin SDK endpoint; override for Private Service Connect (or an emulator).",
    )

    @field_validator("api_endpoint")
    @classmethod
    def _endpoint_tls_unless_loopback(cls, url: str) -> str:
        if not (url.startswith("https://") or is_loopback_http(url)):
            raise ValueError(API_ENDPOINT_MESSAGE)
        return url

    @model_validator(mode="after")
    def _one_credential(self) -> "GoogleSource":
        if (self.credentials_secret_ref is None) == (self.service_account_email is None):
            raise ValueError(
                "set exactly one of credentialsSecretRef (a service-account key) or "
                "serviceAccountEmail (keyless, signed through IAM Credentials)"
            )
        return self


class ListLimits(ApiModel):
    """How far one listing of the target may go before gwsync gives up on it.

    A target whose paging never ends (a cursor that comes back, pages that always bring new
    ids) would otherwise be read until the operator runs out of memory. Each listing of /Users
    or /Groups is counted on its own; going past a limit fails the sync before anything is
    changed, with a message naming the limit and this field.
    """

    max_resources: int = Field(
        default=DEFAULT_MAX_RESOURCES,
        ge=1,
        le=10_000_000,
        description=(
            "The most users (or groups) one listing of the target may return, and 256 times it "
            "the characters of text they may keep; past either the sync fails, changing nothing. "
            "The default, 200000, is twice the 100,000-user organization gwsync is sized for; a "
            "listing stopped there holds about 80 MiB in the operator, well within its 512Mi "
            "memory limit. Raise it (and that limit) for a target that holds more."
        ),
    )
    max_pages: int = Field(
        default=DEFAULT_MAX_PAGES,
        ge=1,
        le=1_000_000,
        description=(
            "The most pages one listing of the target may take; past it the sync fails, changing "
            "nothing. The default, 20000, is maxResources' default in pages of 10 (targets page by "
            "100 to 1000; gwsync asks 500), and bounds the requests a target paging one resource "
            "at a time can draw. Raise it for a target that pages more finely."
        ),
    )


class ScimTarget(ApiModel):
    """A SCIM 2.0 (RFC 7643/7644) service provider."""

    model_config = {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                tls_or_loopback_rule(
                    "url", "url must use https:// (plain http is allowed only for loopback addresses)"
                )
            ]
        }
    }

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="Base URL of the SCIM endpoint, e.g. https://example.com/scim/v2.",
    )
    token_secret_ref: SecretKeyRef = Field(description="Secret key holding the bearer token.")
    ca_bundle_secret_ref: SecretKeyRef | None = Field(
        default=None,
        description="Secret key holding extra PEM CA certificates; TLS verification is always on.",
    )
    max_concurrency: int = Field(
        default=8, ge=1, le=64, description="Most requests in flight to the target at once."
    )
    profile: Literal["Auto", "Generic", "AWSIdentityCenter"] = Field(
        default="Auto",
        description=(
            "How to talk to the target. Auto: from its ServiceProviderConfig (AWS IAM Identity "
            "Center is recognised). Generic: RFC 7644 as written. AWSIdentityCenter: cursor paging, "
            "members read per mapped team, no photos (AWS's published SCIM limits)."
        ),
    )
    bulk: bool = Field(
        default=True,
        description=(
            "Use SCIM Bulk (RFC 7644 §3.7) when the target's ServiceProviderConfig advertises it "
            "(with PATCH): creates, updates, deactivations and membership changes go many to a "
            "request, within its maxOperations and maxPayloadSize, each with its own result. A "
            "target that refuses Bulk is written one request per change for the rest of the "
            "sync, with a note. false: always one request per change."
        ),
    )
    list_limits: ListLimits = Field(
        default_factory=ListLimits,
        description=(
            "Bounds on each listing of the target's users and groups, so that a target whose "
            "paging never ends fails the sync instead of exhausting the operator's memory."
        ),
    )
    account_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        description=(
            "Which account of the target this is, for services that serve every account at one "
            "URL and tell them apart by token. Only one GoogleProvisioning may be active per "
            "target, and a target is the URL plus this id: set it (any stable name, e.g. the "
            "tenant's domain) on each provisioning of such a service."
        ),
    )

    @property
    def adapter_profile(self) -> str:
        """The profile as the SCIM adapter names it (gwsync.targets.scim.PROFILES)."""
        names = {"Auto": "auto", "Generic": "generic", "AWSIdentityCenter": "aws-identity-center"}
        return names[self.profile]

    @field_validator("url")
    @classmethod
    def _tls_unless_loopback(cls, url: str) -> str:
        if "://" not in url:  # `example.com/scim/v2`: the scheme was left out
            raise ValueError(f"url {url} has no scheme: write https://{url.lstrip('/')}")
        if not (url.startswith("https://") or is_loopback_http(url)):
            raise ValueError("url must use https:// (plain http is allowed only for loopback addresses)")
        return url


class Target(ApiModel):
    """Where people are provisioned to."""

    scim: ScimTarget = Field(
        description=(
            "The SCIM 2.0 target: any RFC 7644 service provider. Tested against scim2-server, "
            "SCIMMY, django-scim2-server, Canaille, elimity-com/scim (Go), scim-sdk-server (Java) "
            "and AWS IAM Identity Center; what each supports is in docs/targets.md."
        )
    )


GROUPS_REQUIRED = (
    "groups or groupQuery is required when from is Groups: list at least one group email, "
    "or a group query such as email:team*"
)
QUERY_NEEDS_GROUPS = "groupQuery is read only when from is Groups: set from: Groups, or remove groupQuery"
QUERY_SYNTAX = (
    "groupQuery must be clauses separated by spaces, each email or name, then = (equals) or : "
    "(a prefix ending in *), then a value, quoted with ' when it holds spaces: "
    "email:team* name:'Platform *'"
)
_VALUE = r"(?:'[^']+'|[^\s']+)"
GROUP_QUERY = rf"^(?:email|name)[=:]{_VALUE}(?: +(?:email|name)[=:]{_VALUE})*$"
"""The groups.list query subset gwsync accepts (Google's `memberKey=` selects by member, not
by group, so it is left out); the same expression is checked by CEL, with RE2."""


class Members(ApiModel):
    """Which Google users are provisioned."""

    model_config = {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                cel(
                    "self.from != 'Groups' || (has(self.groups) && size(self.groups) > 0) "
                    "|| has(self.groupQuery)",
                    GROUPS_REQUIRED,
                    ".groups",
                ),
                cel("self.from == 'Groups' || !has(self.groupQuery)", QUERY_NEEDS_GROUPS, ".groupQuery"),
                cel(
                    f'!has(self.groupQuery) || self.groupQuery.matches(r"{GROUP_QUERY}")',
                    QUERY_SYNTAX,
                    ".groupQuery",
                ),
            ]
        }
    }

    from_: MemberSource = Field(
        default=MemberSource.ALL_USERS,
        alias="from",
        description="AllUsers: every user of the organization. Groups: the members of groups.",
    )
    group_query: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="A Directory API group query (groups.list `query`) whose groups' members are "
        "provisioned, besides those of groups, with from: Groups: clauses `email:prefix*`, "
        "`email=address`, `name:'Display prefix*'` or `name='Display name'`, separated by spaces "
        "(all must hold). A query that finds no group fails the sync.",
    )
    groups: list[Email] = Field(
        default_factory=list,
        max_length=500,
        description="Group emails whose members (nested groups expanded) are provisioned; "
        "required when from is Groups.",
    )
    include_suspended: bool = Field(
        default=False,
        description="Provision suspended and archived users too; by default they count as removed.",
    )

    @field_validator("group_query")
    @classmethod
    def _query_of_groups(cls, query: str | None, info: ValidationInfo) -> str | None:
        if query is None:
            return None
        if info.data.get("from_") is not MemberSource.GROUPS:
            raise ValueError(QUERY_NEEDS_GROUPS)
        if not re.fullmatch(GROUP_QUERY, query):
            raise ValueError(QUERY_SYNTAX)
        return query

    @field_validator("groups")
    @classmethod
    def _groups_when_from_groups(cls, groups: list[str], info: ValidationInfo) -> list[str]:
        # A groupQuery that failed its own check is absent here: it was reported, not missing.
        query = info.data.get("group_query", "")
        if info.data.get("from_") is MemberSource.GROUPS and not groups and query is None:
            raise ValueError(GROUPS_REQUIRED)
        return groups


class TeamMapping(ApiModel):
    """One target team and the Google groups whose members make it up."""

    team: str = Field(min_length=1, max_length=256, description="Display name of the target team.")
    groups: list[Email] = Field(
        min_length=1,
        max_length=100,
        description="Google group emails mapped to this team. The team's SCIM Group carries the first "
        "group's Google id as externalId where the target keeps one. A group here that no longer exists "
        "in Google fails this mapping only (the team is left as it is), unless members.groups names it too.",
    )


class Teams(ApiModel):
    """Google groups mapped to target teams (SCIM groups)."""

    model_config = {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                cel(
                    "!has(self.mappings) || self.mappings.all(m, "
                    "self.mappings.exists_one(n, n.team == m.team))",
                    "team names must be unique within mappings: merge the groups of a repeated "
                    "team into one mapping",
                    ".mappings",
                )
            ]
        }
    }

    enabled: bool = Field(default=False, description="Sync team memberships from the mappings.")
    mappings: list[TeamMapping] = Field(
        default_factory=list, max_length=200, description="Team to Google groups mappings."
    )

    @field_validator("mappings")
    @classmethod
    def _unique_teams(cls, mappings: list[TeamMapping]) -> list[TeamMapping]:
        seen: set[str] = set()
        for mapping in mappings:
            if mapping.team in seen:
                raise ValueError(
                    f"team '{mapping.team}' is mapped twice: team names must be unique within "
                    "mappings; merge the groups of a repeated team into one mapping"
                )
            seen.add(mapping.team)
        return mappings


class Schedule(ApiModel):
    """When scheduled syncs run."""

    model_config = {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                cel(
                    "duration(self.interval) >= duration('1h')",
                    "interval must be at least 1h (Go duration syntax, e.g. 24h)",
                    ".interval",
                )
            ]
        }
    }

    interval: str = Field(
        default="24h",
        max_length=32,
        pattern=DURATION_PATTERN,
        description="Time between scheduled syncs, Go duration syntax (24h, 12h); at least 1h.",
    )

    @field_validator("interval")
    @classmethod
    def _at_least_an_hour(cls, text: str) -> str:
        if parse_interval(text) < MIN_INTERVAL:
            raise ValueError(
                f"interval {text} is too short: it must be at least 1h (Go duration syntax, e.g. 24h)"
            )
        return text

    @property
    def every(self) -> timedelta:
        return parse_interval(self.interval)


class Deprovision(ApiModel):
    """What happens to a managed user who is no longer desired, and the safety brake."""

    model_config = {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                cel(
                    "!has(self.gracePeriod) || duration(self.gracePeriod) <= duration('8760h')",
                    GRACE_MESSAGE,
                    ".gracePeriod",
                )
            ]
        }
    }

    action: DeprovisionAction = Field(
        default=DeprovisionAction.DEACTIVATE,
        description="Deactivate sets SCIM active=false (reversible); Delete removes the user.",
    )
    max_count: int = Field(
        default=50,
        ge=0,
        description="More removals than this in one sync are held until approved.",
    )
    max_percent: int = Field(
        default=10,
        ge=0,
        le=100,
        description="Removals above this percentage of managed users are held until approved.",
    )
    grace_period: str | None = Field(
        default=None,
        max_length=32,
        pattern=DURATION_PATTERN,
        description=(
            "Wait this long (Go duration syntax, e.g. 72h; at most 8760h) before removing a user "
            "who left: the sync reports it as PendingRemoval with the date, changes nothing (its "
            "memberships included), and removes it at the first sync after the period if it is "
            "still absent; a user back in time is left as it was. Unset: removed at once."
        ),
    )

    @field_validator("grace_period")
    @classmethod
    def _grace_within_a_year(cls, text: str | None) -> str | None:
        if text is not None and parse_interval(text) > MAX_GRACE:
            raise ValueError(f"gracePeriod {text} is too long: {GRACE_MESSAGE}")
        return text

    @property
    def grace(self) -> timedelta:
        """The grace period; zero when unset."""
        return parse_interval(self.grace_period) if self.grace_period else timedelta(0)


class History(ApiModel):
    """How many SyncReports are kept."""

    keep: int = Field(default=30, ge=1, le=1000, description="SyncReports kept; older ones are deleted.")


class GoogleProvisioningSpec(ApiModel):
    """Desired provisioning from one Google Workspace organization to one SCIM target."""

    model_config = {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                cel(
                    "!has(self.syncTimeout) || duration(self.syncTimeout) >= duration('1s')",
                    SYNC_TIMEOUT_MESSAGE,
                    ".syncTimeout",
                )
            ]
        }
    }

    google: GoogleSource = Field(description="The Google Workspace organization to read.")
    target: Target = Field(description="The system people are provisioned into.")
    members: Members = Field(default_factory=Members, description="Which users are provisioned.")
    teams: Teams = Field(default_factory=Teams, description="Google groups to target teams.")
    schedule: Schedule = Field(default_factory=Schedule, description="Scheduled sync interval.")
    deprovision: Deprovision = Field(
        default_factory=Deprovision, description="Removal behaviour and its safety threshold."
    )
    attributes: Attributes | None = Field(
        default=None,
        description=(
            "Which Google user field (or constant) fills which SCIM attribute, on top of the "
            "default mapping; unset: the default mapping alone."
        ),
    )
    dry_run: bool = Field(default=False, description="Plan and report only; change nothing.")
    suspend: bool = Field(default=False, description="Stop scheduled syncs; a requested sync still runs.")
    history: History = Field(default_factory=History, description="SyncReport retention.")
    sync_timeout: str = Field(
        default="6h",
        max_length=32,
        pattern=DURATION_PATTERN,
        description=(
            "The longest one sync may run, Go duration syntax (6h, 90m); at least 1s. Past it the "
            "sync is stopped and ends Failed: nothing more is written (what it wrote stays, and the "
            "next sync picks it up) and the next sync may run. The default, 6h, is twice the 3 h an "
            "initial sync of 100,000 users takes at a modest 10 requests a second (one create each, "
            "without SCIM Bulk), and leaves most of the default 24h interval for retries."
        ),
    )

    @field_validator("sync_timeout")
    @classmethod
    def _at_least_a_second(cls, text: str) -> str:
        if parse_interval(text) < MIN_SYNC_TIMEOUT:
            raise ValueError(f"syncTimeout {text} is too short: {SYNC_TIMEOUT_MESSAGE}")
        return text

    @property
    def sync_deadline(self) -> timedelta:
        """spec.syncTimeout as a duration."""
        return parse_interval(self.sync_timeout)

    @property
    def mapped_teams(self) -> list[str] | None:
        """The teams the mappings name (None when team mapping is off: no team is read)."""
        return [mapping.team for mapping in self.teams.mappings] if self.teams.enabled else None


SyncPhase = Literal[
    "Pending", "Running", "Succeeded", "PartiallySucceeded", "Failed", "Blocked", "Interrupted"
]


class GoogleConnection(ApiModel):
    """What the last connection check learned about the organization."""

    customer_id: str | None = Field(default=None, description="The organization's customer id.")
    primary_domain: str | None = Field(default=None, description="Its primary domain.")
    checked_at: datetime | None = Field(default=None, description="When it was checked.")


class UserCounts(ApiModel):
    """User outcomes of one sync."""

    created: int = Field(default=0, description="Users created.")
    updated: int = Field(default=0, description="Users whose attributes changed.")
    renamed: int = Field(default=0, description="Users whose email (userName) changed.")
    adopted: int = Field(default=0, description="Existing target users taken under management.")
    deprovisioned: int = Field(default=0, description="Users deactivated or deleted.")
    held: int = Field(default=0, description="Removals held by the safety threshold.")
    pending_removal: int = Field(
        default=0, description="Users who left, kept until their grace period ends (gracePeriod)."
    )
    unchanged: int = Field(default=0, description="Users already up to date.")
    failed: int = Field(default=0, description="User items that failed.")


class TeamCounts(ApiModel):
    """Team outcomes of one sync."""

    created: int = Field(default=0, description="Teams created.")
    adopted: int = Field(default=0, description="Existing groups taken under management as teams.")
    updated: int = Field(
        default=0, description="Teams whose group was given its Google group's id as externalId."
    )
    unchanged: int = Field(default=0, description="Teams already present.")
    failed: int = Field(default=0, description="Team items that failed.")


class MembershipCounts(ApiModel):
    """Team membership outcomes of one sync."""

    added: int = Field(default=0, description="Members added to teams.")
    removed: int = Field(default=0, description="Members removed from teams.")
    failed: int = Field(default=0, description="Membership changes that failed.")


class SyncSummary(ApiModel):
    """Counts of one sync's items."""

    users: UserCounts = Field(default_factory=UserCounts, description="User outcomes.")
    teams: TeamCounts = Field(default_factory=TeamCounts, description="Team outcomes.")
    memberships: MembershipCounts = Field(
        default_factory=MembershipCounts, description="Membership outcomes."
    )


class LastSync(ApiModel):
    """The most recent sync, as recorded by its SyncReport."""

    report: str | None = Field(default=None, description="Name of the SyncReport.")
    phase: SyncPhase | None = Field(default=None, description="Phase of that sync.")
    trigger: str | None = Field(default=None, description="What started it.")
    start_time: datetime | None = Field(default=None, description="When it started.")
    completion_time: datetime | None = Field(default=None, description="When it ended.")
    summary: SyncSummary | None = Field(default=None, description="Its counts.")


class LedgerStatus(ApiModel):
    """Where the ledger of managed users and teams lives, and its size."""

    config_maps: list[str] = Field(default_factory=list, description="ConfigMaps holding it.")
    users: int = Field(default=0, description="Managed users.")
    teams: int = Field(default=0, description="Managed teams.")


class SyncLock(ApiModel):
    """Which operator process runs this object's sync (DESIGN §3 rule 8, across replicas)."""

    holder: str = Field(description="The operator process holding the lock: its pod name and a random id.")
    renew_time: datetime = Field(
        description="When the holder last renewed it; it lapses a minute later (gwsync run --sync-lease)."
    )


class TargetAuthentication(ApiModel):
    """When this object's SCIM token first authenticated at its current target.

    Written by the operator only (tenants cannot write status): of several GoogleProvisionings
    on one target, only those recorded here may hold it, and the first to authenticate does.
    """

    digest: str = Field(
        description="sha256 of the normalized target URL and accountId the token authenticated at."
    )
    authenticated_at: datetime = Field(
        description="When the target first accepted the token; cleared when it refuses it (401, 403)."
    )


class GoogleProvisioningStatus(ApiModel):
    """Observed state, written by the operator."""

    model_config = {"extra": "ignore"}

    observed_generation: int | None = Field(
        default=None, description="The generation the operator last processed."
    )
    synced_generation: int | None = Field(default=None, description="The generation the last sync ran with.")
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready, Connected, TargetReachable, Active, ConfigurationPending.",
    )
    google: GoogleConnection | None = Field(default=None, description="The Google organization.")
    last_sync: LastSync | None = Field(default=None, description="The most recent sync.")
    last_successful_sync_time: datetime | None = Field(
        default=None, description="When a sync last succeeded (fully or partially)."
    )
    next_sync_time: datetime | None = Field(default=None, description="When the next sync is due.")
    failed_attempts: int = Field(default=0, description="Failed syncs in a row; drives the retry back-off.")
    last_handled_sync_request: str | None = Field(
        default=None, description="The last gwsync.io/sync-requested-at value acted upon."
    )
    last_handled_approval: str | None = Field(
        default=None,
        description="The last gwsync.io/approve-deprovisioning value acted upon: each new value "
        "starts one sync, which applies the removals that report held.",
    )
    ledger: LedgerStatus | None = Field(default=None, description="The ledger's location and size.")
    sync_lock: SyncLock | None = Field(
        default=None, description="Set while a sync runs: which operator process runs it."
    )
    target: TargetAuthentication | None = Field(
        default=None,
        description="When the SCIM token first authenticated at the current target (one active per target).",
    )


class GoogleProvisioning(ApiModel):
    """A GoogleProvisioning object as stored in the cluster."""

    model_config = {"extra": "ignore"}

    api_version: str = Field(default="provisioning.gwsync.io/v1alpha1")
    kind: Literal["GoogleProvisioning"] = "GoogleProvisioning"
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: GoogleProvisioningSpec
    status: GoogleProvisioningStatus = Field(default_factory=GoogleProvisioningStatus)
