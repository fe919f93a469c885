"""What the members of Google groups say: each group's direct members (`Member`, from
members.list) turned into the transitive user members of the groups asked for, the nesting a
report explains paths with, and notes on what was ignored. The walk through nested groups is
`gwsync.directory.reachable`, shared with the source-neutral model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence

from gwsync.directory import GroupMembers, Person, reachable
from gwsync.sources.google.parse import Member, quoted
from gwsync.text import address_key

Graph = Mapping[str, list[Member] | None]
"""Direct members of every group read, by lower-case email (None: a nested group not found)."""


class MemberTally:
    """User members of the chosen groups read so far, page by page on the worker threads, so
    that the users listing starts (`start`, once) as soon as they and the `known` users pass
    `limit`, or a chosen group holds the whole customer, while the rest of the groups are read.
    A user in two groups counts twice: the tally is a bound, the exact count comes after
    (`chosen_users`)."""

    def __init__(
        self, chosen: Collection[str], limit: int, known: Collection[str], start: Callable[[], None]
    ) -> None:
        self.chosen = set(chosen)  # grows with the groups nested in chosen ones (`nested`)
        self.limit = limit
        self.known = known
        self.count = len(known)
        self.over = False
        self._start = start
        self._lock = threading.Lock()
        if self.count > limit:  # the known users alone are too many: list them all at once
            self.over = True
            start()

    def page(self, group: str, members: Sequence[Member]) -> None:
        with self._lock:
            if self.over or group not in self.chosen:
                return
            self.count += sum(m.kind == "USER" and m.id not in self.known for m in members)
            if self.count > self.limit or any(member.kind == "CUSTOMER" for member in members):
                self.over = True
                self._start()

    def nested(self, group: str, members: Sequence[Member]) -> None:
        """A group's members are read: the groups in a chosen group are chosen too."""
        with self._lock:
            if group in self.chosen:
                self.chosen.update(address_key(m.email) for m in members if m.kind == "GROUP")


def nested_groups(graph: Graph) -> Callable[[str], list[str]]:
    """The nested groups of a group of `graph`, in the order members.list gave them."""

    def nested(group: str) -> list[str]:
        return [address_key(m.email) for m in graph.get(group) or () if m.kind == "GROUP"]

    return nested


def nesting(graph: Graph, people: Mapping[str, Person]) -> dict[str, GroupMembers]:
    """Each group's direct members, so a report can say through which groups a person is in a team."""
    return {
        group: GroupMembers(
            users=frozenset(m.id for m in members if m.kind == "USER" and m.id in people),
            groups=tuple(address_key(m.email) for m in members if m.kind == "GROUP"),
            everyone=any(m.kind == "CUSTOMER" for m in members),
        )
        for group, members in graph.items()
        if members is not None
    }


def _unasked(member: Member, asked: Collection[str] | None) -> bool:
    """A user member of a team's group that was not read (not chosen): kept, without a note."""
    return asked is not None and member.kind == "USER" and bool(member.id) and member.id not in asked


def chosen_users(chosen: Sequence[str], graph: Graph) -> set[str] | None:
    """The ids of the user members of the chosen groups, nested ones included; None when one
    of them holds the whole customer (a CUSTOMER member: everyone)."""
    ids: set[str] = set()
    for group in reachable(chosen, nested_groups(graph)):
        for member in graph.get(group) or ():
            if member.kind == "CUSTOMER":
                return None
            if member.kind == "USER" and member.id:
                ids.add(member.id)
    return ids


def memberships(
    wanted: Sequence[str],
    graph: Graph,
    people: Mapping[str, Person],
    asked: Collection[str] | None = None,
) -> tuple[dict[str, frozenset[str]], list[str]]:
    """Transitive user members of each wanted group (cycles and diamonds visit once).

    `asked`: the users read one by one (None: every user was listed). A user member not asked
    for (in a team's group only) is kept without a note: the plan keeps only desired people."""
    notes: dict[str, None] = {}
    found: dict[str, frozenset[str]] = {}
    nested = nested_groups(graph)
    for root in wanted:
        ids: set[str] = set()
        for group in reachable([root], nested):
            members = graph.get(group)
            if members is None:
                missing = quoted(group, limit=120)
                notes[f"Nested group {missing} is not in this organization; its members were ignored."] = None
                continue
            for member in members:
                if member.kind == "GROUP":
                    continue
                if member.kind == "CUSTOMER":
                    ids.update(people)
                elif member.id in people or _unasked(member, asked):
                    ids.add(member.id)
                else:
                    who = quoted(member.email or member.id or "a member", limit=120)
                    where = quoted(group, limit=120)
                    notes[f"{who} (in {where}) is not a user of this organization and was ignored."] = None
        found[root] = frozenset(ids)
    return found, list(notes)
