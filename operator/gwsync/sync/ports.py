"""What the sync core needs from the outside world, as protocols adapters implement."""

import asyncio
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from gwsync.directory import Directory, Person, Selection


class SourceUnavailable(Exception):
    """The source could not be read completely; nothing may be removed on a partial read."""


def group_not_found(email: str) -> str:
    """The sentence for a chosen or mapped group the source does not have: the read's failure
    (a group of spec.members.groups), or the failure of a team mapping's item."""
    return (
        f"Group {email} does not exist in this Google Workspace organization; fix the group email in "
        "members.groups or teams.mappings."
    )


class Source(Protocol):
    """A people directory (Google Workspace)."""

    def read(
        self,
        groups: Sequence[str],
        fields: Collection[str] = (),
        on_page: Callable[[Sequence[Person]], None] | None = None,
        selection: Selection | None = None,
        teams: Sequence[Sequence[str]] = (),
    ) -> Directory:
        """Every user, plus the transitive user members of each of `groups` (emails).

        `teams`: the groups of each team mapping; the source id of each one's first group is
        read (Directory.group_ids). A group of `groups` the source does not have fails the
        read, unless only teams need it (`selection` does not choose it): it is listed in
        Directory.missing instead.

        With a `selection` (from: Groups), the source may read only the people it chooses
        and the ones it knows (Directory.complete is then False), and expands the groups its
        query finds too (Directory.found).

        `fields`: source paths of spec.attributes (gwsync.api.attributes) beyond those every
        Person carries; each person's values of them go into `Person.extra`. `on_page` is
        called with the users as they are read, a page at a time, on the reader's thread
        (sync.early plans them meanwhile); the Directory is still the whole answer.

        Raises SourceUnavailable when any part cannot be read after retries: never a
        partial result.
        """
        ...


# --- The target side -----------------------------------------------------------------------

USER_FIELDS: tuple[str, ...] = (
    "userName",
    "emails",
    "externalId",
    "name.givenName",
    "name.familyName",
    "displayName",
    "active",
    "title",
    "department",
    "userType",
    "photos",
)
"""The attributes gwsync owns on a target user by default, in report order (DESIGN §3 rule 2).

Names are the SCIM attribute paths people know from their target's admin console; the
adapter maps `department` to the enterprise extension and `emails` to the primary work email.
spec.attributes adds others (gwsync.api.attributes targets), kept in `UserAttributes.extra`.
"""

Value = str | bool | None


@dataclass(frozen=True, slots=True)
class UserAttributes:
    """A user as gwsync writes it: the desired state, or what the target holds of it.

    `photo` is the photo URL with the Google photo etag as its fragment (`...#etag=abc`):
    Google may keep a URL when the picture changes, the etag always changes, and a fragment
    leaves the URL fetchable. So a new photo is a plain value change on `photos`.
    """

    user_name: str
    external_id: str | None = None
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None
    active: bool = True
    title: str | None = None
    department: str | None = None
    user_type: str | None = None
    photo: str | None = None
    extra: tuple[tuple[str, Value], ...] = ()
    """Mapped attributes beyond USER_FIELDS (spec.attributes), by target name: `manager` holds
    the manager's target id, a custom extension attribute is `<schema URN>:<attribute>`."""

    def value(self, field: str) -> Value:
        """The value of one of USER_FIELDS, or of a mapped attribute (None when it has none)."""
        if field not in DEFAULT_SLOTS:
            return dict(self.extra).get(field)
        return {
            "userName": self.user_name,
            "emails": self.email,
            "externalId": self.external_id,
            "name.givenName": self.given_name,
            "name.familyName": self.family_name,
            "displayName": self.display_name,
            "active": self.active,
            "title": self.title,
            "department": self.department,
            "userType": self.user_type,
            "photos": self.photo,
        }[field]

    def with_value(self, field: str, value: Value) -> "UserAttributes":
        """A copy with one mapped attribute set (a USER_FIELDS slot or an extra)."""
        if field in DEFAULT_SLOTS:
            changes: dict[str, Any] = {DEFAULT_SLOTS[field]: value}
            return replace(self, **changes)
        kept = tuple((name, old) for name, old in self.extra if name != field)
        return replace(self, extra=(*kept, (field, value)))


DEFAULT_SLOTS: Mapping[str, str] = {
    "userName": "user_name",
    "emails": "email",
    "externalId": "external_id",
    "name.givenName": "given_name",
    "name.familyName": "family_name",
    "displayName": "display_name",
    "active": "active",
    "title": "title",
    "department": "department",
    "userType": "user_type",
    "photos": "photo",
}
"""USER_FIELDS -> the UserAttributes attribute holding each."""


@dataclass(frozen=True, slots=True)
class TargetUser:
    """A user read from the target."""

    id: str
    attributes: UserAttributes
    modified: str | None = None
    """When the target last changed the user (SCIM meta.lastModified, ISO 8601), if it says.
    Picks the live one of two users carrying one externalId (plan.managed_users)."""

    @property
    def external_id(self) -> str | None:
        return self.attributes.external_id

    @property
    def user_name(self) -> str:
        return self.attributes.user_name


@dataclass(frozen=True, slots=True)
class TargetGroup:
    """A group (team) read from the target, with the ids of its members."""

    id: str
    display_name: str
    members: frozenset[str] = frozenset()
    external_id: str | None = None


class TargetError(Exception):
    """A target request failed; str() is the sentence for the item's details."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TargetUnavailable(TargetError):
    """The target cannot be reached or refuses our credentials: nothing can be synced."""


class Target(Protocol):
    """A SCIM-like service provider that users and teams are written to."""

    @property
    def notes(self) -> list[str]:
        """Warnings collected while reading (list_users, list_groups), one sentence each.

        For example "the target reported totalResults=N but M users were read". A doubtful
        read is reported, never silently trusted: the engine adds them to the sync's message
        and keeps the ledger entries of users it did not see. A plain attribute satisfies this.
        """
        ...

    @property
    def write_notes(self) -> Sequence[str]:
        """Sentences about writes, collected while writing, for the sync's message.

        For example "the target does not store photos; gwsync does not send them". Unlike
        `notes` they cast no doubt on the read. A plain attribute satisfies this.
        """
        ...

    @property
    def user_extensions(self) -> Mapping[str, frozenset[str]] | None:
        """The User schema extensions the target declares, each with its attribute names
        (lower-case; empty when the target does not list them), known once it has been read;
        None when the target cannot say. A plain attribute satisfies this."""
        ...

    @property
    def unsupported_fields(self) -> frozenset[str]:
        """Names from USER_FIELDS the target does not store (known once it has been read).

        The planner does not compare them, so an attribute the target drops does not show as
        an Update (and a write) on every sync. A plain attribute satisfies this.
        """
        ...

    async def list_users(self) -> list[TargetUser]: ...

    async def list_groups(self) -> list[TargetGroup]: ...

    async def create_user(self, user: UserAttributes) -> str:
        """Create the user; returns its target id."""
        ...

    async def update_user(self, target_id: str, user: UserAttributes, fields: Sequence[str]) -> None:
        """Write `fields` (USER_FIELDS or mapped targets) of `user`; a None value removes the attribute."""
        ...

    async def deactivate_user(self, target_id: str) -> None: ...

    async def delete_user(self, target_id: str) -> None: ...

    async def create_group(self, display_name: str) -> str:
        """Create an empty group; returns its target id."""
        ...

    async def rename_group(self, group_id: str, display_name: str) -> None:
        """Set the group's displayName (a team renamed in the spec, or its group in the target)."""
        ...

    async def add_members(self, group_id: str, user_ids: Sequence[str]) -> None: ...

    async def remove_members(self, group_id: str, user_ids: Sequence[str]) -> None: ...


@runtime_checkable
class GroupMemberScope(Protocol):
    """What a Target that reads the members of some groups only (AWS: each costs requests)
    adds: the groups the ledger gives teams, read too, so that a team renamed in the spec
    finds its group with its members (sync/teams.py)."""

    def read_members_of(self, group_ids: Iterable[str]) -> None: ...


@runtime_checkable
class GroupExternalIds(Protocol):
    """What a Target that can keep an externalId on its groups adds; apply checks for it.

    A team carries the id of its Google group (the mapping's first) as externalId there.
    """

    @property
    def keeps_group_external_ids(self) -> bool:
        """The target keeps externalId on groups, as far as it says (known once it has been
        read): False when it declares it does not, so nothing is sent."""
        ...

    async def create_group_with_external_id(self, display_name: str, external_id: str) -> str:
        """Create an empty group carrying `external_id`; returns its target id. A target that
        refuses the externalId gets the group without it (a write note says so)."""
        ...

    async def set_group_external_id(self, group_id: str, external_id: str) -> None:
        """Set the group's externalId; raises TargetError when refused."""
        ...


WRITE_BATCH = 200
"""How many writes apply starts at once, unless the target batches them (`Batching`)."""


@runtime_checkable
class Batching(Protocol):
    """What a Target that sends many writes in one request (SCIM Bulk) adds; apply checks for it.

    Each write call still answers for its own write alone; the target groups the calls that
    arrive together. So apply starts `batch_size` writes at once, hands the creates over in one
    call (`create_users`: thousands of them need no task each), and adds a user it creates to
    teams together with the create (`add_created_members`), in the same request when it can.
    """

    @property
    def batch_size(self) -> int | None:
        """How many writes to start together; None when the target sends them one by one
        (then apply keeps its plain order and WRITE_BATCH)."""
        ...

    @property
    def request_size(self) -> int | None:
        """How many writes one request carries at most (Bulk's maxOperations): the creates
        handed over while the source is still read go a full request at a time (sync.early);
        None when the target sends writes one by one."""
        ...

    async def create_users(self, users: Sequence[UserAttributes]) -> list[asyncio.Future[str]]:
        """Start creating `users` (create_user for each) and return at once: a future for
        each, giving its id or raising as create_user would. A future cancelled before its
        request went withdraws that create."""
        ...

    async def add_created_members(self, group_id: str, created: Sequence[asyncio.Future[str]]) -> None:
        """Add to the group the users whose creates these are (`create_user` calls running as
        tasks, or `create_users` futures; started, maybe not done); a user whose create fails
        is left out. Raises TargetError as add_members does."""
        ...
