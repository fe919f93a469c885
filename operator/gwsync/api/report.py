"""SyncReport: one sync, its counts, its notable items, and where every item is stored."""

import json
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field
from pydantic_core import PydanticSerializationError

from gwsync.api.base import ApiModel, StoredObject
from gwsync.api.provisioning import SyncPhase, SyncSummary

MAX_STATUS_ITEMS = 200
ITEM_STORE_FORMAT = "jsonl+gzip"
ACTIVE_PHASES: frozenset[str] = frozenset({"Pending", "Running"})  # a sync that has not ended
TERMINAL_PHASES: frozenset[str] = frozenset(
    {"Succeeded", "PartiallySucceeded", "Failed", "Blocked", "Interrupted"}
)


class Trigger(StrEnum):
    INITIAL = "Initial"
    SCHEDULED = "Scheduled"
    MANUAL = "Manual"
    RETRY = "Retry"


class ItemType(StrEnum):
    USER = "User"
    TEAM = "Team"
    MEMBERSHIP = "Membership"


class Action(StrEnum):
    CREATE = "Create"
    UPDATE = "Update"
    RENAME = "Rename"
    ADOPT = "Adopt"
    DEPROVISION = "Deprovision"
    DELETE = "Delete"
    PENDING_REMOVAL = "PendingRemoval"  # a leaver within spec.deprovision.gracePeriod: nothing written
    UNCHANGED = "Unchanged"
    ADD_MEMBER = "AddMember"
    REMOVE_MEMBER = "RemoveMember"


class Result(StrEnum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    PLANNED = "Planned"


class FieldChange(ApiModel):
    """One attribute that differs between the source and the target."""

    model_config = {"populate_by_name": True}

    field: str = Field(description="Attribute name, e.g. name.givenName or emails.")
    from_: str | None = Field(default=None, alias="from", description="Value in the target.")
    to: str | None = Field(default=None, description="Value from Google.")


class ReportItem(ApiModel):
    """One synced thing: a user, a team, or one membership change."""

    type: ItemType = Field(description="User, Team or Membership.")
    key: str = Field(description="Human key: the email, the team name, or team/email.")
    source_id: str | None = Field(default=None, description="Google id, when there is one.")
    target_id: str | None = Field(default=None, description="Target (SCIM) id, when known.")
    action: Action = Field(description="What the sync did or planned.")
    result: Result = Field(description="Succeeded, Failed, Skipped or Planned (dry run).")
    data_changed: bool = Field(default=False, description="Whether data changed since the last sync.")
    changes: list[FieldChange] = Field(default_factory=list, description="Changed fields.")
    details: str = Field(default="", description="What happened, and why when it failed.")

    def to_json(self) -> str:
        """One line of JSON, as the item store and `report export --format jsonl` keep it.

        The quick encoder refuses a lone surrogate (it has no UTF-8 form); such an item is
        written with U+FFFD in its place rather than lost, with every other item of its report.
        """
        try:
            return self.model_dump_json(by_alias=True, exclude_none=True)
        except PydanticSerializationError:
            return json.dumps(self.to_wire(), ensure_ascii=False, separators=(",", ":"))


class ProvisioningRef(ApiModel):
    """The GoogleProvisioning a report belongs to."""

    name: str = Field(description="Name of the GoogleProvisioning, same namespace.")


class SyncReportSpec(ApiModel):
    """What started the sync and with which configuration."""

    provisioning_ref: ProvisioningRef = Field(description="The GoogleProvisioning synced.")
    trigger: Trigger = Field(description="Initial, Scheduled, Manual or Retry.")
    dry_run: bool = Field(default=False, description="Whether the sync only planned.")
    config_generation: int = Field(
        default=0, description="metadata.generation of the GoogleProvisioning it ran with."
    )


class ItemStore(ApiModel):
    """Where every item of the sync is kept."""

    config_maps: list[str] = Field(
        default_factory=list, description="ConfigMaps holding the items, in order."
    )
    format: Literal["jsonl+gzip"] = Field(
        default="jsonl+gzip", description="Gzip-compressed JSON lines, one item a line."
    )


class SyncReportStatus(ApiModel):
    """The outcome, written by the operator."""

    model_config = {"extra": "ignore"}

    phase: SyncPhase = Field(default="Pending", description="Where the sync stands.")
    start_time: datetime | None = Field(default=None, description="When the sync started.")
    completion_time: datetime | None = Field(default=None, description="When it ended.")
    duration: str | None = Field(default=None, description="How long it took, e.g. 1m12s.")
    message: str = Field(default="", description="One sentence on the outcome.")
    summary: SyncSummary = Field(default_factory=SyncSummary, description="Counts of items.")
    item_count: int = Field(default=0, description="Number of items in the item store.")
    items: list[ReportItem] = Field(
        default_factory=list,
        max_length=MAX_STATUS_ITEMS,
        description=(
            "At most 200 notable items, failed first, then changed; at most 256 KiB in all, with "
            "details cut to 1 KiB (the item store keeps every item whole)."
        ),
    )
    item_store: ItemStore | None = Field(default=None, description="Where all items are.")


class SyncReport(StoredObject):
    """A SyncReport object as stored in the cluster."""

    kind: Literal["SyncReport"] = "SyncReport"
    spec: SyncReportSpec
    status: SyncReportStatus = Field(default_factory=SyncReportStatus)
