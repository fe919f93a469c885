"""GoogleProvisioning: which Google Workspace people and teams go to which SCIM target.

These models are the schema: the CRD in crds/ is generated from them (`gwsync crds`).
Every rule that spans fields is written twice on purpose: once as a pydantic validator
(for `gwsync validate` and the operator) and once as CEL (for the API server), with the
same message, so that kubectl and GitOps CI refuse the same objects.
"""

from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator

from gwsync.api.attributes import Attributes
from gwsync.api.base import ApiModel, StoredObject, cel, validations
from gwsync.api.formats import (
    DURATION_PATTERN,
    EMAIL_PATTERN,
    LOOPBACK_HTTP,
    LOOPBACK_HTTP_CEL,
    Email,
    is_loopback_http,
    parse_interval,
    tls_or_loopback_rule,
)
from gwsync.api.scim_target import DEFAULT_MAX_PAGES, DEFAULT_MAX_RESOURCES, ListLimits, ScimTarget, Target
from gwsync.api.source import (
    API_ENDPOINT_MESSAGE,
    GROUP_QUERY,
    GROUPS_REQUIRED,
    QUERY_NEEDS_GROUPS,
    QUERY_SYNTAX,
    GoogleSource,
    Members,
    MemberSource,
)
from gwsync.api.status import (
    GoogleConnection,
    GoogleProvisioningStatus,
    LastSync,
    LedgerStatus,
    MembershipCounts,
    SyncLock,
    SyncPhase,
    SyncSummary,
    TargetAuthentication,
    TeamCounts,
    UserCounts,
)
from gwsync.api.teams import TeamMapping, Teams

__all__ = [
    "API_ENDPOINT_MESSAGE",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_RESOURCES",
    "DURATION_PATTERN",
    "EMAIL_PATTERN",
    "GROUPS_REQUIRED",
    "GROUP_QUERY",
    "LOOPBACK_HTTP",
    "LOOPBACK_HTTP_CEL",
    "QUERY_NEEDS_GROUPS",
    "QUERY_SYNTAX",
    "Deprovision",
    "DeprovisionAction",
    "Email",
    "GoogleConnection",
    "GoogleProvisioning",
    "GoogleProvisioningSpec",
    "GoogleProvisioningStatus",
    "GoogleSource",
    "History",
    "LastSync",
    "LedgerStatus",
    "ListLimits",
    "MemberSource",
    "Members",
    "MembershipCounts",
    "Schedule",
    "ScimTarget",
    "SyncLock",
    "SyncPhase",
    "SyncSummary",
    "Target",
    "TargetAuthentication",
    "TeamCounts",
    "TeamMapping",
    "Teams",
    "UserCounts",
    "is_loopback_http",
    "parse_interval",
    "tls_or_loopback_rule",
]

MIN_INTERVAL = timedelta(hours=1)
MAX_GRACE = timedelta(hours=8760)
MIN_SYNC_TIMEOUT = timedelta(seconds=1)
SYNC_TIMEOUT_MESSAGE = "syncTimeout must be at least 1s (Go duration syntax, e.g. 6h)"
GRACE_MESSAGE = "gracePeriod must be at most 8760h (a year; Go duration syntax, e.g. 72h)"


class Schedule(ApiModel):
    """When scheduled syncs run."""

    model_config = validations(
        cel(
            "duration(self.interval) >= duration('1h')",
            "interval must be at least 1h (Go duration syntax, e.g. 24h)",
            ".interval",
        )
    )

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


class DeprovisionAction(StrEnum):
    DEACTIVATE = "Deactivate"
    DELETE = "Delete"


class Deprovision(ApiModel):
    """What happens to a managed user who is no longer desired, and the safety brake."""

    model_config = validations(
        cel(
            "!has(self.gracePeriod) || duration(self.gracePeriod) <= duration('8760h')",
            GRACE_MESSAGE,
            ".gracePeriod",
        )
    )

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

    model_config = validations(
        cel(
            "!has(self.syncTimeout) || duration(self.syncTimeout) >= duration('1s')",
            SYNC_TIMEOUT_MESSAGE,
            ".syncTimeout",
        )
    )

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


class GoogleProvisioning(StoredObject):
    """A GoogleProvisioning object as stored in the cluster."""

    kind: Literal["GoogleProvisioning"] = "GoogleProvisioning"
    spec: GoogleProvisioningSpec
    status: GoogleProvisioningStatus = Field(default_factory=GoogleProvisioningStatus)
