"""GoogleProvisioning status: what the operator observed, synced and holds."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from gwsync.api.base import ApiModel
from gwsync.api.common import Condition

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
        default=0,
        description="Teams whose group was renamed, or given its Google group's id as externalId.",
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
    generation: int | None = Field(
        default=None,
        ge=1,
        description=(
            "The newest ledger generation the operator saved. A signed generation older than this "
            "one is an older copy put back, and is ignored (LedgerVerified=False, LedgerRolledBack)."
        ),
    )


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
