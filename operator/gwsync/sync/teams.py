"""The plan for teams (DESIGN §3 rule 4), after the users: membership needs who is managed. Pure.

A mapped team's members = union of its groups' members ∩ desired users; only managed users
are added or removed, so a person added to a team by hand is left alone; teams no mapping
names are never read further.

A team carries the Google id of its mapping's first group as its SCIM Group externalId, where
the target keeps one on groups: written with the create, or once on a group that lacks it
(an adopted one, one made by an older gwsync), and not again once the ledger says it was
sent (`Ledger.team_sources`), so a target that drops it is not written at every sync.

A mapped group the source no longer has (Directory.missing) fails its mapping's item with
the source's sentence; that team is left as it is (no member added or removed), the rest syncs.

A team's group carries the team's name: a team renamed in the spec keeps its group (the
ledger's team no mapping names any more, whose group carries the same Google group id, or was
sent it), which is renamed, and a group renamed in the target is renamed back. A group is never
renamed to a name another group already has (the team then adopts that group, as before).
"""

from collections.abc import Iterable

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action, FieldChange, ItemType, Result
from gwsync.directory import Directory
from gwsync.sync.ledger import Ledger
from gwsync.sync.ports import TargetGroup, group_not_found
from gwsync.sync.steps import MemberStep, Plan, TeamStep, departure_reason, user_item
from gwsync.text import address_key


def plan_teams(
    plan: Plan,
    directory: Directory,
    spec: GoogleProvisioningSpec,
    ledger: Ledger,
    target_groups: list[TargetGroup],
    group_external_ids: bool = False,
) -> None:
    """Rule 4 for teams, after the users (membership needs who will be managed).

    `group_external_ids`: the target keeps externalId on groups (GroupExternalIds)."""
    if not spec.teams.enabled:
        return
    by_id = {group.id: group for group in target_groups}
    carried = carrying(spec, directory, target_groups)
    claimed = set(ledger.teams.values())
    people = [step for step in plan.users if not step.prepares]  # moves-aside are no one's own step
    desired_ids = {step.item.source_id for step in people if step.item.source_id}
    email_of: dict[str | None, str] = {}
    for step in [*people, *plan.removals]:
        email_of.setdefault(step.item.source_id, step.item.key)  # the live user's, not a duplicate's
    # Who each target user will be once the users are applied: managed users, and the users
    # adopted (by userName, or taken over) in this sync, so their memberships count already.
    gid_of = {tid: gid for gid, tid in plan.managed.items()}
    gid_of.update(
        (step.target_id, step.item.source_id)
        for step in plan.users
        if step.target_id and step.item.source_id and step.item.action is Action.ADOPT
    )
    # A leaver within its grace period keeps its teams: nothing is written for it until it is due.
    waiting = {step.item.source_id for step in plan.removals if step.item.action is Action.PENDING_REMOVAL}
    mapped = {mapping.team for mapping in spec.teams.mappings}
    unmapped = {group_id: name for name, group_id in ledger.teams.items() if name not in mapped}
    for mapping in spec.teams.mappings:
        team = mapping.team
        source_id = directory.group_ids.get(address_key(mapping.groups[0])) if mapping.groups else None
        found = carried.get(source_id or "")
        if found is not None and found.id in claimed and ledger.teams.get(team) != found.id:
            found = None  # another team's group: never taken over by its externalId
        own = by_id.get(ledger.teams.get(team, ""))
        named = group_named(team, target_groups)
        former = renamed_team(source_id, unmapped, ledger, by_id) if own is None and named is None else None
        renamed_from = unmapped.pop(former.id) if former is not None else None
        group = own or former or found or named
        gone = [address_key(g) for g in mapping.groups if address_key(g) in directory.missing]
        if gone:  # the team is left as it is: its members cannot be known
            plan.teams.append(lost_team_step(team, group, ledger, gone[0]))
            plan.notes.append(f"Team {team} was left as it is: {group_not_found(gone[0])}")
            continue
        written = source_id if group_external_ids else None
        rename = group is not None and named is None and group.display_name.casefold() != team.casefold()
        plan.teams.append(team_step(team, group, ledger, written, rename=rename, renamed_from=renamed_from))
        members = directory.members_of(mapping.groups) & desired_ids
        current = group.members if group is not None else frozenset()
        current_gids = {gid_of[tid] for tid in current if tid in gid_of}
        for gid in sorted(members - current_gids, key=lambda g: email_of.get(g, g)):
            why = joining_reason(team, mapping.groups, gid, directory)
            plan.members.append(member_step(team, gid, email_of.get(gid, gid), why, add=True))
        for gid in sorted(current_gids - members - waiting, key=lambda g: email_of.get(g, g)):
            why = leaving_reason(team, mapping.groups, gid, directory)
            plan.members.append(member_step(team, gid, email_of.get(gid, gid), why, add=False))


def group_named(team: str, groups: Iterable[TargetGroup]) -> TargetGroup | None:
    """The group a mapped team adopts: same displayName, the exact spelling first, then any case.

    Targets compare group names case-insensitively as people do ("engineering" is the team
    Engineering); ties between case variants go to the smallest id, so the choice is stable.
    """
    same_name = sorted(
        (group for group in groups if group.display_name.casefold() == team.casefold()),
        key=lambda group: (group.display_name != team, group.id),
    )
    return same_name[0] if same_name else None


def carrying(
    spec: GoogleProvisioningSpec, directory: Directory, groups: Iterable[TargetGroup]
) -> dict[str, TargetGroup]:
    """Google group id -> the one target group carrying it as externalId, for the ids that are
    one mapping's first group: a team found again after its group was renamed in the target, or
    when the ledger is not trusted. An id two mappings start with, or two groups carry, finds none."""
    firsts = [address_key(mapping.groups[0]) for mapping in spec.teams.mappings if mapping.groups]
    once = {gid for email, gid in directory.group_ids.items() if firsts.count(email) == 1}
    found: dict[str, list[TargetGroup]] = {}
    for group in groups:
        if group.external_id in once:
            found.setdefault(group.external_id, []).append(group)
    return {gid: same[0] for gid, same in found.items() if len(same) == 1}


def renamed_team(
    source_id: str | None, unmapped: dict[str, str], ledger: Ledger, by_id: dict[str, TargetGroup]
) -> TargetGroup | None:
    """The group of a ledger team no mapping names any more that was this mapping's before its
    team was renamed in the spec: the one such group carrying `source_id` as externalId, or
    sent it (Ledger.team_sources, for a target that drops it)."""
    if not source_id:
        return None
    groups = [
        by_id[group_id]
        for group_id, name in unmapped.items()
        if group_id in by_id
        and (by_id[group_id].external_id == source_id or ledger.team_sources.get(name) == source_id)
    ]
    return groups[0] if len(groups) == 1 else None


def team_step(
    team: str,
    group: TargetGroup | None,
    ledger: Ledger,
    source_id: str | None = None,
    *,
    rename: bool = False,
    renamed_from: str | None = None,
) -> TeamStep:
    """The team's step; `source_id`: the Google group id its group should carry as externalId
    (None: the target keeps none, or the source gave none); `rename`: the group is given the
    team's name; `renamed_from`: the team's name in the ledger (renamed in the spec)."""
    if group is None:
        item = user_item(
            team, None, None, Action.CREATE, "Mapped team missing in the target.", None, ItemType.TEAM
        )
        return TeamStep(item, team, None, source_id)
    write = source_id if source_id and external_id_due(team, group, ledger, source_id) else None
    changes = [FieldChange(field="displayName", from_=group.display_name, to=team)] if rename else []
    if write:
        changes.append(FieldChange(field="externalId", from_=group.external_id, to=write))
    name = team if rename else None
    if renamed_from is not None:
        kept = f"is renamed {team}" if rename else "keeps its name"
        details = f"Team renamed from {renamed_from} in the spec: its group {group.display_name} {kept}."
        item = user_item(team, None, group.id, Action.RENAME, details, changes or None, ItemType.TEAM)
        return TeamStep(item, team, group.id, write, name, renamed_from)
    if ledger.teams.get(team) != group.id:
        also = f" and renamed {team}" if rename else ""
        details = f"Existing group {group.display_name} adopted as the team{also}."
        item = user_item(team, None, group.id, Action.ADOPT, details, changes or None, ItemType.TEAM)
        return TeamStep(item, team, group.id, write, name)
    if rename:
        details = f"Group {group.display_name}, renamed in the target, is given the team's name again."
        item = user_item(team, None, group.id, Action.RENAME, details, changes, ItemType.TEAM)
        return TeamStep(item, team, group.id, write, name)
    if write:
        details = "The id of the team's Google group written as its externalId."
        item = user_item(team, None, group.id, Action.UPDATE, details, changes, ItemType.TEAM)
        return TeamStep(item, team, group.id, write)
    item = user_item(team, None, group.id, Action.UNCHANGED, "", None, ItemType.TEAM)
    return TeamStep(item, team, group.id)


def external_id_due(team: str, group: TargetGroup, ledger: Ledger, source_id: str) -> bool:
    """The group lacks the Google group id, and gwsync has not sent it already (a target that
    drops or refuses it is sent it once: Ledger.team_sources)."""
    return group.external_id != source_id and ledger.team_sources.get(team) != source_id


def lost_team_step(team: str, group: TargetGroup | None, ledger: Ledger, email: str) -> TeamStep:
    """A mapping whose group the source no longer has: its item fails, nothing is written."""
    step = team_step(team, group, ledger)
    item = step.item.model_copy(
        update={
            "result": Result.FAILED,
            "details": group_not_found(email),
            "data_changed": False,
            "changes": [],
        }
    )
    return TeamStep(item, team, step.group_id)


ARROW = " \u2190 "
"""Between the groups of a membership path: the group on the left holds the one on the right."""


def membership_path(groups: Iterable[str], gid: str, directory: Directory) -> tuple[str, ...]:
    """The shortest chain of groups that puts `gid` in one of `groups` (mapped groups).

    From the mapped group to the group the user is a direct member of (Directory.path_to);
    ties go to the group mapped first. Without nesting from the source, the mapped group
    whose members include the user, alone; () when none does.
    """
    mapped = [address_key(group) for group in groups]
    paths = [
        (len(chain), index, chain)
        for index, group in enumerate(mapped)
        if (chain := directory.path_to(group, gid)) is not None
    ]
    if paths:
        return min(paths)[2]
    holder = next((group for group in mapped if gid in directory.groups.get(group, frozenset())), None)
    return (holder,) if holder else ()


def joining_reason(team: str, groups: Iterable[str], gid: str, directory: Directory) -> str:
    """AddMember details: `In Engineering through eng@acme.com \u2190 platform@acme.com.`"""
    chain = membership_path(groups, gid, directory)
    if not chain:
        return f"In a group mapped to {team}."
    last = directory.nesting.get(chain[-1])
    everyone = last is not None and last.everyone and gid not in last.users
    suffix = " (which holds every user of the organization)" if everyone else ""
    return f"In {team} through {ARROW.join(chain)}{suffix}."


def either(groups: Iterable[str]) -> str:
    names = [address_key(group) for group in groups]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" or {names[-1]}"


def leaving_reason(team: str, groups: Iterable[str], gid: str, directory: Directory) -> str:
    """RemoveMember details: the group the user left, or the user's own departure."""
    mapped = list(groups)
    chain = membership_path(mapped, gid, directory)
    if chain:  # still in a mapped group: the user itself is leaving
        reason = departure_reason(gid, directory)
        reason = reason[0].lower() + reason[1:]
        return f"Leaves {team} with the user ({reason}), though still in {ARROW.join(chain)}."
    return f"No longer in {either(mapped)} (mapped to {team})."


def member_step(team: str, gid: str, email: str, details: str, *, add: bool) -> MemberStep:
    action = Action.ADD_MEMBER if add else Action.REMOVE_MEMBER
    item = user_item(f"{team}/{email}", gid, None, action, details, None, ItemType.MEMBERSHIP)
    return MemberStep(item, team, gid, add)
