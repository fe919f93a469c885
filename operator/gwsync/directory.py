"""The source-neutral model of an organization's people and groups.

Sources (Google today) produce a `Directory`; the planner consumes it. Nothing here knows
where the data came from, so the planner can be tested with plain values.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Person:
    """One user of the source organization."""

    id: str  # immutable source id (Google user id); becomes the SCIM externalId
    primary_email: str
    given_name: str = ""
    family_name: str = ""
    full_name: str = ""
    suspended: bool = False
    archived: bool = False
    title: str | None = None
    department: str | None = None
    employee_type: str | None = None  # Google organizations[].description
    photo_url: str | None = None
    photo_etag: str | None = None

    @property
    def display_name(self) -> str:
        return self.full_name or f"{self.given_name} {self.family_name}".strip() or self.primary_email

    @property
    def inactive(self) -> bool:
        """Suspended and archived users count as removed unless includeSuspended is set."""
        return self.suspended or self.archived


@dataclass(frozen=True, slots=True)
class Directory:
    """A complete read of the source: every user, and the groups that were asked for.

    `people` holds every user of the organization (suspended and archived included), keyed
    by id. `groups` maps each requested group email (lower-case) to the ids of its transitive
    user members. `notes` says what was read but ignored (external members, say).
    """

    customer_id: str
    primary_domain: str
    people: Mapping[str, Person]
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def members_of(self, group_emails: Iterable[str]) -> frozenset[str]:
        """Ids of the users in any of these groups (a user in two groups counts once)."""
        ids: set[str] = set()
        for email in group_emails:
            ids |= self.groups.get(email.lower(), frozenset())
        return frozenset(ids)
