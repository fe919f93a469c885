"""In-memory stand-ins for the two sides of a sync: a fixed Directory and a dict-backed Target.

`StaticSource` serves a Directory built in the test (or fails like an unhealthy Google).
`MemoryTarget` implements gwsync.sync.ports.Target with plain dicts: the planner's properties
(apply, then plan again = only Unchanged) are checked against it by the hundred, where the
real scim2-server would be too slow; the SCIM behaviour itself is tested against scim2-server.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gwsync.directory import Directory, Person, Selection
from gwsync.sync.ports import (
    DEFAULT_SLOTS,
    SourceUnavailable,
    TargetError,
    TargetGroup,
    TargetUser,
    UserAttributes,
)


@dataclass
class StaticSource:
    """A Source returning `directory` (restricted to the asked groups), or failing."""

    directory: Directory
    failure: str | None = None
    reads: list[Sequence[str]] = field(default_factory=list)

    def read(
        self,
        groups: Sequence[str],
        fields: Collection[str] = (),
        on_page: Callable[[Sequence[Person]], None] | None = None,
        selection: Selection | None = None,
        teams: Sequence[Sequence[str]] = (),
    ) -> Directory:
        self.reads.append(list(groups))
        if self.failure is not None:
            raise SourceUnavailable(self.failure)
        if on_page is not None:  # one page: everyone
            on_page(list(self.directory.people.values()))
        wanted = {g.lower() for g in groups}
        kept = {email: ids for email, ids in self.directory.groups.items() if email in wanted}
        return replace(self.directory, groups=kept)


@dataclass
class MemoryTarget:
    """A Target keeping users and groups in dicts; userName is unique, case-insensitively."""

    users: dict[str, UserAttributes] = field(default_factory=dict)
    groups: dict[str, TargetGroup] = field(default_factory=dict)
    writes: int = 0
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    notes: list[str] = field(default_factory=list)
    """Warnings about the last listing (Target.notes); tests set them to play a doubtful read."""
    unlisted: set[str] = field(default_factory=set)
    """Ids of users kept but never listed, as a target with a paging bug would."""
    modified: dict[str, str] = field(default_factory=dict)
    """meta.lastModified of users (ISO 8601), for the tests that need it; unset is None."""
    write_notes: list[str] = field(default_factory=list)
    """Target.write_notes; tests set them to play a target that reports on its writes."""
    user_extensions: Mapping[str, frozenset[str]] | None = None
    """Target.user_extensions: None, a target that cannot say which extensions it has."""
    unsupported_fields: frozenset[str] = frozenset()
    """Target.unsupported_fields: these are dropped on every write, as a target that cannot
    store them would."""

    async def list_users(self) -> list[TargetUser]:
        return [
            TargetUser(tid, attrs, self.modified.get(tid))
            for tid, attrs in self.users.items()
            if tid not in self.unlisted
        ]

    async def list_groups(self) -> list[TargetGroup]:
        return list(self.groups.values())

    def _unique(self, user_name: str, own_id: str | None = None) -> None:
        for tid, attrs in self.users.items():
            if tid != own_id and attrs.user_name.casefold() == user_name.casefold():
                raise TargetError(f"Target refused: 409 uniqueness on userName {user_name}", status=409)

    async def create_user(self, user: UserAttributes) -> str:
        self.writes += 1
        self._unique(user.user_name)
        tid = f"u{next(self.ids)}"
        self.users[tid] = self._stored(user)
        return tid

    def _stored(self, user: UserAttributes) -> UserAttributes:
        """`user` less the fields this target does not store."""
        dropped: dict[str, Any] = {DEFAULT_SLOTS[f]: None for f in self.unsupported_fields}
        return replace(user, **dropped) if dropped else user

    async def update_user(self, target_id: str, user: UserAttributes, fields: Sequence[str]) -> None:
        self.writes += 1
        self._unique(user.user_name, target_id)
        stored = self.users[target_id]
        for name in fields:
            if name not in self.unsupported_fields:  # a default field or a mapped one (spec.attributes)
                stored = stored.with_value(name, user.value(name))
        self.users[target_id] = stored

    async def deactivate_user(self, target_id: str) -> None:
        self.writes += 1
        self.users[target_id] = replace(self.users[target_id], active=False)

    async def delete_user(self, target_id: str) -> None:
        self.writes += 1
        del self.users[target_id]
        for gid, group in self.groups.items():
            self.groups[gid] = replace(group, members=group.members - {target_id})

    async def create_group(self, display_name: str) -> str:
        self.writes += 1
        gid = f"g{next(self.ids)}"
        self.groups[gid] = TargetGroup(gid, display_name)
        return gid

    async def rename_group(self, group_id: str, display_name: str) -> None:
        self.writes += 1
        self.groups[group_id] = replace(self.groups[group_id], display_name=display_name)

    async def add_members(self, group_id: str, user_ids: Sequence[str]) -> None:
        self.writes += 1
        group = self.groups[group_id]
        self.groups[group_id] = replace(group, members=group.members | set(user_ids))

    async def remove_members(self, group_id: str, user_ids: Sequence[str]) -> None:
        self.writes += 1
        group = self.groups[group_id]
        self.groups[group_id] = replace(group, members=group.members - set(user_ids))
