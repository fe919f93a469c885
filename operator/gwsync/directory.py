"""The source-neutral model of an organization's people and groups.

Sources (Google today) produce a `Directory`; the planner consumes it. Nothing here knows
where the data came from, so the planner can be tested with plain values.
"""

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from gwsync.text import address_key


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
    extra: Mapping[str, str | bool] = field(default_factory=dict, hash=False)
    """Values of the source fields spec.attributes reads beyond the ones above, by source path
    (`phones[type=work].value`, `customSchemas.HR.badge`); a field without a value is absent."""

    @property
    def display_name(self) -> str:
        return self.full_name or f"{self.given_name} {self.family_name}".strip() or self.primary_email

    @property
    def inactive(self) -> bool:
        """Suspended and archived users count as removed unless includeSuspended is set."""
        return self.suspended or self.archived


@dataclass(frozen=True, slots=True)
class GroupMembers:
    """The direct members of one group: user ids and nested group emails (lower-case).

    `everyone` is set when the group holds the whole organization (Google's CUSTOMER member).
    """

    users: frozenset[str] = frozenset()
    groups: tuple[str, ...] = ()
    everyone: bool = False


@dataclass(frozen=True, slots=True)
class Selection:
    """Who a sync of chosen groups provisions (spec.members with from: Groups), so that a source
    may read those people only, instead of everyone.

    `groups`: the chosen group emails; `query`: a group query selecting more of them (its
    syntax is the source's); `known`: ids of users the caller manages (its ledger), read too,
    so that a user who left the groups is told apart from one deleted from the source.
    """

    groups: tuple[str, ...] = ()
    query: str | None = None
    known: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Directory:
    """A complete read of the source: every user, and the groups that were asked for.

    `people` holds every user of the organization (suspended and archived included), keyed
    by id, unless `complete` is False: then a `Selection` let the source read only the chosen
    groups' members and the users the caller already knew (`Selection.known`), which is all a
    sync of chosen groups looks at. `groups` maps each requested group email (lower-case) to
    the ids of its transitive user members. `notes` says what was read but ignored (external
    members, say). `found` lists the groups `Selection.query` selected (lower-case emails),
    expanded in `groups` like the others. `group_ids` maps group emails (lower-case) to the
    source's own group ids, for the groups the caller asked ids of (a team's externalId).
    `missing` lists the asked groups the source does not have, where the caller said it could
    do without them (groups only mapped to teams): each fails its mapping, not the read.
    """

    customer_id: str
    primary_domain: str
    people: Mapping[str, Person]
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    nesting: Mapping[str, GroupMembers] = field(default_factory=dict)
    complete: bool = True
    found: tuple[str, ...] = ()
    group_ids: Mapping[str, str] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()

    def members_of(self, group_emails: Iterable[str]) -> frozenset[str]:
        """Ids of the users in any of these groups (a user in two groups counts once)."""
        ids: set[str] = set()
        for email in group_emails:
            ids |= self.groups.get(address_key(email), frozenset())
        return frozenset(ids)

    def path_to(self, group_email: str, person_id: str) -> tuple[str, ...] | None:
        """The shortest chain of groups through which `person_id` is in `group_email`.

        The chain starts with `group_email` and ends with the group the user is a direct
        member of (or that holds the whole organization), each group holding the next. Nested
        groups are tried in email order, so the answer is stable; cycles are harmless. None
        when the user is not in the group through `nesting` (or the source gave no nesting).
        """
        root = group_email.lower()
        if root not in self.nesting:
            return None
        parents: dict[str, str | None] = {root: None}
        queue = deque([root])
        while queue:
            group = queue.popleft()
            members = self.nesting.get(group)
            if members is None:  # a nested group that could not be read
                continue
            if person_id in members.users or members.everyone:
                chain = [group]
                while (parent := parents[chain[-1]]) is not None:
                    chain.append(parent)
                return tuple(reversed(chain))
            for nested in sorted(members.groups):
                if nested not in parents:
                    parents[nested] = group
                    queue.append(nested)
        return None


def reachable(roots: Iterable[str], nested: Callable[[str], Iterable[str]]) -> Iterator[str]:
    """Every group reachable from `roots` through nested groups, the roots included, each once.

    `nested` gives a group's direct nested groups; it is asked when the walk leaves the group
    (after the group is yielded), so a caller may stop early. Depth first: the last root and
    the last nested group named are visited first. Cycles and diamonds are harmless.
    """
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        group = stack.pop()
        if group in seen:
            continue
        seen.add(group)
        yield group
        stack.extend(nested(group))


def expand(nesting: Mapping[str, GroupMembers], group_email: str, people: Iterable[str]) -> frozenset[str]:
    """The transitive user members of one group, from the direct members of every group.

    `people` are the ids of the organization's users: a group holding the whole organization
    holds them all, and a member id that is no user of it is left out. Cycles are harmless.
    """
    everyone = frozenset(people)

    def nested(group: str) -> tuple[str, ...]:
        members = nesting.get(group)
        return members.groups if members is not None else ()

    ids: set[str] = set()
    for group in reachable([group_email.lower()], nested):
        members = nesting.get(group)
        if members is None:
            continue
        if members.everyone:
            ids |= everyone
        ids |= members.users & everyone
    return frozenset(ids)
