"""The plan's steps and the Planned report items they carry (sync/plan.py makes them). Pure."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from gwsync.api.report import Action, FieldChange, ItemType, ReportItem, Result
from gwsync.directory import Directory, Person
from gwsync.sync.mapping import ManagerRef
from gwsync.sync.ports import UserAttributes


@dataclass(frozen=True, slots=True)
class UserStep:
    """One user: what to write (`fields` of `desired`) to which target user."""

    item: ReportItem
    desired: UserAttributes | None = None
    target_id: str | None = None
    fields: tuple[str, ...] = ()
    wave: int = 0  # apply runs the waves in order: a userName must be freed before it is taken
    after: tuple[str, ...] = ()  # target ids whose userName write must succeed first
    prepares: bool = False  # moves a user out of the way (departed+..., gwsync-tmp+...)
    manager: ManagerRef | None = None  # a manager created in this sync: its id is filled in by apply


Settled = dict[str, tuple[Person, UserStep]]
"""Google id -> (the Person, its step writing nothing or creating its user), made while the
source was read (sync.early)."""


@dataclass(frozen=True, slots=True)
class TeamStep:
    """One mapped team: Create (no group yet), Adopt (an existing group), Rename (its group
    renamed: the team renamed in the spec, or the group in the target), Update (its
    externalId) or Unchanged; Failed already when a mapped group is gone from the source."""

    item: ReportItem
    team: str
    group_id: str | None
    external_id: str | None = None  # the Google group id to write as the group's externalId
    display_name: str | None = None  # the name to give the group (None: it has the team's)
    renamed_from: str | None = None  # the team's name in the ledger, when renamed in the spec


@dataclass(frozen=True, slots=True)
class MemberStep:
    """One membership change; the user's target id may only be known after its creation."""

    item: ReportItem
    team: str
    source_id: str
    add: bool


@dataclass
class Plan:
    users: list[UserStep] = field(default_factory=list)
    removals: list[UserStep] = field(default_factory=list)
    teams: list[TeamStep] = field(default_factory=list)
    members: list[MemberStep] = field(default_factory=list)
    managed: dict[str, str] = field(default_factory=dict)  # Google id -> target id, before apply
    pending: dict[str, str] = field(default_factory=dict)  # the ledger's pending removals after this sync
    notes: list[str] = field(default_factory=list)  # sentences for the sync's message (mapped attributes)

    @property
    def items(self) -> list[ReportItem]:
        steps: Iterable[UserStep | TeamStep | MemberStep] = [
            *self.users,
            *self.teams,
            *self.members,
            *self.removals,
        ]
        return [step.item for step in steps]


ITEM_FIELDS = set(ReportItem.model_fields)
"""The fields every planned item sets, shared by the items of unchanged users: a set of its own
would be most of each item's memory (100,000 of them in a daily sync). Never changed: a copy
gets its own set, and setting an item's field adds a name already in it."""


def unchanged_item(key: str, source_id: str, target_id: str, details: str) -> ReportItem:
    """The item of a user with nothing to write, as user_item makes it, made as
    `ReportItem.model_construct` makes an item (every value is already of its type) without
    its per-field work, and with the shared ITEM_FIELDS: most items of a daily sync are these."""
    item = ReportItem.__new__(ReportItem)
    values = {
        "type": ItemType.USER,
        "key": key,
        "source_id": source_id,
        "target_id": target_id,
        "action": Action.UNCHANGED,
        "result": Result.PLANNED,
        "data_changed": False,
        "changes": [],
        "details": details,
    }
    object.__setattr__(item, "__dict__", values)
    object.__setattr__(item, "__pydantic_fields_set__", ITEM_FIELDS)
    object.__setattr__(item, "__pydantic_extra__", None)
    object.__setattr__(item, "__pydantic_private__", None)
    return item


def user_item(
    key: str,
    source_id: str | None,
    target_id: str | None,
    action: Action,
    details: str,
    changes: list[FieldChange] | None = None,
    item_type: ItemType = ItemType.USER,
) -> ReportItem:
    return ReportItem(
        type=item_type,
        key=key,
        source_id=source_id,
        target_id=target_id,
        action=action,
        result=Result.PLANNED,
        data_changed=action is not Action.UNCHANGED,
        changes=changes or [],
        details=details,
    )


def departure_reason(gid: str, directory: Directory) -> str:
    person = directory.people.get(gid)
    if person is None:
        return "Deleted from Google"
    if person.suspended:
        return "Suspended in Google"
    if person.archived:
        return "Archived in Google"
    return "No longer in the chosen groups"
