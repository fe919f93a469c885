"""The plan for teams (DESIGN §3 rule 4), after the users: membership needs who is managed. Pure.

A mapped team's members = union of its groups' members ∩ desired users; only managed users
are added or removed, so a person added to a team by hand is left alone; teams no mapping
names are never read further.
"""

from collections.abc import Iterable

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action, ItemType
from gwsync.directory import Directory
from gwsync.sync.ledger import Ledger
from gwsync.sync.ports import TargetGroup
from gwsync.sync.steps import MemberStep, Plan, TeamStep, departure_reason, user_item
from gwsync.text import address_key


def plan_teams(
    plan: Plan,
    directory: Directory,
    spec: GoogleProvisioningSpec,
    ledger: Ledger,
    target_groups: list[TargetGroup],
) -> None:
    """Rule 4 for teams, after the users (membership needs who will be managed)."""
    if not spec.teams.enabled:
        return
    by_id = {group.id: group for group in target_groups}
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
    for mapping in spec.teams.mappings:
        team = mapping.team
        group = by_id.get(ledger.teams.get(team, "")) or group_named(team, target_groups)
        plan.teams.append(team_step(team, group, ledger))
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


def team_step(team: str, group: TargetGroup | None, ledger: Ledger) -> TeamStep:
    if group is None:
        item = user_item(
            team, None, None, Action.CREATE, "Mapped team missing in the target.", None, ItemType.TEAM
        )
        return TeamStep(item, team, None)
    if ledger.teams.get(team) != group.id:
        details = f"Existing group {group.display_name} adopted as the team."
        item = user_item(team, None, group.id, Action.ADOPT, details, None, ItemType.TEAM)
        return TeamStep(item, team, group.id)
    item = user_item(team, None, group.id, Action.UNCHANGED, "", None, ItemType.TEAM)
    return TeamStep(item, team, group.id)


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
