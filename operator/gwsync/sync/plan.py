"""The plan (DESIGN §3 rules 2-4): source snapshot + target state + ledger -> steps. Pure.

No I/O here, so every ownership rule is a plain function tested with plain values:
- managed = in the ledger, or externalId equal to the id of a user Google returns now; a
  ledger of unknown origin (`verified=False`) counts only where externalId confirms it;
- a target user without externalId whose userName is a desired email is adopted, never
  duplicated; every other target user is unmanaged and never touched;
- same Google id with a new email is one Rename, not a removal plus a creation;
- a new Google account with the email of a managed user whose account was deleted (a re-hire,
  a re-created account) takes that target user over (Adopt), as the target keys people by
  userName: deactivating one and failing to create the other would loop every day;
- only the mapped attributes are compared and written (sync/fields.py);
- the order of writes, names freed before they are taken and managers before their reports,
  is sync/renames.py's; teams and their members are planned after the users (sync/teams.py).
Each step (sync/steps.py) carries its report item (result Planned); apply fills in the outcome.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from gwsync.api.attributes import (
    DEFAULT_MAPPINGS,
    MANAGER,
    AttributeMapping,
    effective_mappings,
    omits_photos,
)
from gwsync.api.provisioning import DeprovisionAction, GoogleProvisioningSpec, MemberSource
from gwsync.api.report import Action, FieldChange, Result
from gwsync.directory import Directory, Person, Selection
from gwsync.sync.fields import changed_fields, desired_attributes, same, shown, unchanged_by_default
from gwsync.sync.ledger import Ledger
from gwsync.sync.mapping import ManagerRef, mapped_fields, resolve_managers, supported_mappings
from gwsync.sync.ports import USER_FIELDS, TargetGroup, TargetUser, UserAttributes
from gwsync.sync.renames import order_managers, order_user_names, refound
from gwsync.sync.steps import (
    Plan,
    Settled,
    UserStep,
    departure_reason,
    unchanged_item,
    user_item,
)
from gwsync.sync.teams import plan_teams
from gwsync.text import address_key

# What other modules and tests use; Plan, UserStep (sync/steps.py) and the field comparison
# (sync/fields.py) are re-exported from where they lived before.
__all__ = [
    "Plan",
    "Settled",
    "UserMapping",
    "UserStep",
    "changed_fields",
    "desired_attributes",
    "desired_people",
    "make_plan",
    "member_selection",
    "plan_user",
    "source_groups",
    "team_groups",
    "trusted_entries",
]


PHOTOS = "photos"


def source_groups(spec: GoogleProvisioningSpec) -> list[str]:
    """The groups the source must expand: member groups and mapped groups, once each."""
    groups: list[str] = []
    if spec.members.from_ is MemberSource.GROUPS:
        groups.extend(spec.members.groups)
    if spec.teams.enabled:
        groups.extend(g for mapping in spec.teams.mappings for g in mapping.groups)
    return list(dict.fromkeys(address_key(g) for g in groups))


def team_groups(spec: GoogleProvisioningSpec) -> list[list[str]]:
    """The groups of each team mapping (Source.read's `teams`): a team carries its first
    group's Google id as externalId, and only its mapping fails when one is gone."""
    if not spec.teams.enabled:
        return []
    return [[address_key(g) for g in mapping.groups] for mapping in spec.teams.mappings]


def member_selection(spec: GoogleProvisioningSpec, ledger: Ledger) -> Selection | None:
    """What the source may read instead of everyone: with from: Groups, the chosen groups'
    members, and the users the ledger holds (a leaver of the groups is then told apart from a
    deleted account, and a re-created account from a renamed one, as with a full read)."""
    if spec.members.from_ is not MemberSource.GROUPS:
        return None
    groups = tuple(dict.fromkeys(address_key(g) for g in spec.members.groups))
    return Selection(groups, spec.members.group_query, frozenset(ledger.users))


def desired_people(directory: Directory, spec: GoogleProvisioningSpec) -> dict[str, Person]:
    """Rule 2: everyone or the chosen groups' members; suspended/archived out unless asked."""
    people = directory.people
    if spec.members.from_ is MemberSource.GROUPS:
        ids = directory.members_of([*spec.members.groups, *directory.found])
        chosen = {pid: people[pid] for pid in ids if pid in people}
    else:
        chosen = dict(people)
    if not spec.members.include_suspended:
        chosen = {pid: p for pid, p in chosen.items() if not p.inactive}
    return chosen


@dataclass(frozen=True)
class UserMapping:
    """spec.attributes as the planner uses it: the mappings, the fields they write, the names."""

    mappings: tuple[AttributeMapping, ...] = DEFAULT_MAPPINGS
    fields: tuple[str, ...] = USER_FIELDS
    managers: dict[str, ManagerRef] = field(default_factory=dict)  # Google id -> the person's manager
    names: dict[str, str] = field(default_factory=dict)  # target id -> userName, to show managers


def manager_change(
    person: Person, current: UserAttributes | None, mapping: UserMapping
) -> tuple[FieldChange | None, ManagerRef | None]:
    """The manager field's change (None: none), and the manager to resolve at apply time."""
    ref = mapping.managers.get(person.id)
    pending = ref if ref is not None and ref.source_id and ref.target_id is None else None
    if current is None:
        return None, pending
    now = current.value(MANAGER)
    wanted = ref.target_id if ref is not None else None
    if pending is None and same(MANAGER, wanted, now):
        return None, None
    before = mapping.names.get(str(now), now) if isinstance(now, str) else None
    after = ref.email if ref is not None and (ref.source_id or ref.target_id) else None
    return FieldChange(field=MANAGER, from_=shown(before), to=after), pending


def modified_at(user: TargetUser) -> float:
    """meta.lastModified as a timestamp; unknown or unreadable sorts as the oldest."""
    if not user.modified:
        return float("-inf")
    try:
        moment = datetime.fromisoformat(user.modified.replace("Z", "+00:00"))
    except ValueError:
        return float("-inf")
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def live_first(users: Iterable[TargetUser], email: str | None, ledger_id: str | None) -> list[TargetUser]:
    """Target users of one Google id, the one the person uses first.

    The one whose userName is the person's current email, else the most recently modified,
    else the one in the ledger, else the smallest target id: deterministic, whatever order the
    target lists them in.
    """
    wanted = address_key(email) if email else None
    return sorted(
        users,
        key=lambda u: (address_key(u.user_name) != wanted, -modified_at(u), u.id != ledger_id, u.id),
    )


def trusted_entries(ledger: Ledger, target_users: Iterable[TargetUser]) -> Ledger:
    """The ledger the plan may act on (issue 23): all of a verified one. Of a ledger whose
    origin is unknown, only the users whose target user carries the entry's Google id as
    externalId (what gwsync writes), and neither its teams (a mapped team finds its group again
    by name) nor its pending removals (grace periods start again): an entry pointing a Google id
    at a user gwsync never wrote must not rename, update or deprovision that user."""
    if ledger.verified:
        return ledger
    carried = {user.id: user.attributes.external_id for user in target_users}
    return Ledger({gid: tid for gid, tid in ledger.users.items() if carried.get(tid) == gid})


def managed_users(
    ledger: Ledger, directory: Directory, target_users: Iterable[TargetUser]
) -> tuple[dict[str, TargetUser], dict[str, list[TargetUser]]]:
    """Rule 3: Google id -> target user, from the ledger and by externalId; and the duplicates.

    Several target users may carry one Google id (a stale copy made by another tool, a user
    restored from a backup): the person's live account is managed (live_first), the others are
    its duplicates, reported with it and deactivated with it when the person leaves.
    """
    by_id = {user.id: user for user in target_users}
    # One target user per Google id almost always: a list only when a second one turns up.
    candidates: dict[str, TargetUser | list[TargetUser]] = {}

    def add(gid: str, user: TargetUser) -> None:
        found = candidates.setdefault(gid, user)
        if found is not user:
            candidates[gid] = [*found, user] if isinstance(found, list) else [found, user]

    for gid, tid in ledger.users.items():
        if (user := by_id.get(tid)) is not None:
            add(gid, user)
    claimed = set(ledger.users.values()) & by_id.keys()
    people = directory.people
    for user in by_id.values():
        carried = user.attributes.external_id
        if carried and user.id not in claimed and (carried in people or carried in candidates):
            add(carried, user)
            claimed.add(user.id)
    managed: dict[str, TargetUser] = {}
    duplicates: dict[str, list[TargetUser]] = {}
    for gid, found in candidates.items():
        if not isinstance(found, list):
            managed[gid] = found
            continue
        person = people.get(gid)
        ranked = live_first(found, person.primary_email if person else None, ledger.users.get(gid))
        managed[gid] = ranked[0]
        duplicates[gid] = ranked[1:]
    return managed, duplicates


def duplicate_note(duplicates: Iterable[TargetUser]) -> str:
    names = ", ".join(f"{user.user_name} (id {user.id})" for user in duplicates)
    return f"Duplicate: target user {names} carries the same externalId; left as it is." if names else ""


def plan_user(
    person: Person,
    current: TargetUser | None,
    adopting: bool,
    replaces: str | None = None,
    duplicates: Iterable[TargetUser] = (),
    unsupported: frozenset[str] = frozenset(),
    mapping: UserMapping | None = None,
) -> UserStep:
    mapping = mapping or UserMapping()
    if (
        current is not None
        and not adopting
        and replaces is None
        and mapping.mappings is DEFAULT_MAPPINGS
        and unchanged_by_default(person, current.attributes, unsupported)
    ):  # the usual case, settled before anything is built
        details = duplicate_note(duplicates) if duplicates else ""
        return UserStep(
            unchanged_item(person.primary_email, person.id, current.id, details), None, current.id
        )
    desired = desired_attributes(person, mapping.mappings)
    if desired.photo is not None and PHOTOS not in mapping.fields:  # omitted (spec.attributes.omit)
        desired = desired.with_value(PHOTOS, None)
    ref = mapping.managers.get(person.id)
    note = ref.note if ref is not None else ""
    if MANAGER in mapping.fields:
        desired = desired.with_value(MANAGER, ref.target_id if ref is not None else None)
    manager, pending = (
        manager_change(person, current.attributes if current else None, mapping)
        if MANAGER in mapping.fields and MANAGER not in unsupported
        else (None, None)
    )
    if current is None:
        details = " ".join(part for part in ("New in Google.", note) if part)
        item = user_item(person.primary_email, person.id, None, Action.CREATE, details)
        return UserStep(item, desired, None, mapping.fields, manager=pending)
    changes = changed_fields(desired, current.attributes, unsupported, mapping.fields)
    if not changes and manager is None and replaces is None and not adopting:
        # Nothing to write, so nothing desired to keep: most users of a daily sync end here.
        details = (
            " ".join(part for part in (note, duplicate_note(duplicates)) if part)
            if note or duplicates
            else ""
        )
        return UserStep(
            unchanged_item(person.primary_email, person.id, current.id, details), None, current.id
        )
    if manager is not None:
        changes.append(manager)
    fields = tuple(change.field for change in changes)
    if replaces is not None:
        action, details = (
            Action.ADOPT,
            f"New Google account with the email of deleted account {replaces}: its target user "
            f"{current.user_name} now belongs to this account.",
        )
    elif adopting:
        action, details = Action.ADOPT, f"Existing target user {current.user_name} (no externalId) adopted."
    elif "userName" in fields:
        action, details = Action.RENAME, f"Email changed from {current.user_name} to {person.primary_email}."
    elif fields:
        action, details = Action.UPDATE, "Changed: " + ", ".join(fields) + "."
    else:
        action, details = Action.UNCHANGED, ""
    details = " ".join(part for part in (details, note, duplicate_note(duplicates)) if part)
    item = user_item(person.primary_email, person.id, current.id, action, details, changes)
    return UserStep(item, desired, current.id, fields, manager=pending if MANAGER in fields else None)


def plan_removal(
    gid: str,
    user: TargetUser,
    directory: Directory,
    action: DeprovisionAction,
    live: TargetUser | None = None,
    note: str = "",
) -> UserStep:
    """The departure of `user`; `live` is set when `user` is a duplicate of that managed user.

    A duplicate leaves with the person, by the same action: it carries the person's Google id,
    and leaving one of the person's accounts active is what must never happen. `note` follows
    the reason (the grace period that ended).
    """
    reason = departure_reason(gid, directory) + note
    if live is not None:
        reason += f"; duplicate of {live.user_name} (same externalId)"
    if action is DeprovisionAction.DELETE:
        item = user_item(user.user_name, gid, user.id, Action.DELETE, f"{reason}; deleted from the target.")
        return UserStep(item, None, user.id)
    if not user.attributes.active:
        item = user_item(user.user_name, gid, user.id, Action.UNCHANGED, f"{reason}; already deactivated.")
        return UserStep(item, None, user.id)
    change = FieldChange(field="active", from_="true", to="false")
    details = f"{reason}; deactivated (active=false)."
    item = user_item(user.user_name, gid, user.id, Action.DEPROVISION, details, [change])
    return UserStep(item, None, user.id, ("active",))


def utc_text(moment: datetime) -> str:
    """2026-11-25T18:00:00Z: how pending removals are stored and shown."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def pending_removal(
    gid: str,
    user: TargetUser,
    directory: Directory,
    spec: GoogleProvisioningSpec,
    since: datetime,
    fresh: bool,
    live: TargetUser | None = None,
) -> UserStep:
    """A leaver within the grace period: reported with the date, nothing written (apply skips it)."""
    reason = departure_reason(gid, directory)
    if live is not None:
        reason += f"; duplicate of {live.user_name} (same externalId)"
    verb = "deleted" if spec.deprovision.action is DeprovisionAction.DELETE else "deactivated"
    due = utc_text(since + spec.deprovision.grace)
    details = (
        f"{reason}; will be {verb} by the first sync after {due} unless back by then "
        f"(gracePeriod {spec.deprovision.grace_period}, absent since {utc_text(since)})."
    )
    item = user_item(user.user_name, gid, user.id, Action.PENDING_REMOVAL, details)
    return UserStep(item.model_copy(update={"data_changed": fresh}), None, user.id)


def absent_since(gid: str, ledger: Ledger, now: datetime) -> datetime:
    """When a leaver was first seen absent: from the ledger, else now."""
    recorded = ledger.pending.get(gid)
    return datetime.fromisoformat(recorded) if recorded else now


def plan_users(
    directory: Directory,
    spec: GoogleProvisioningSpec,
    ledger: Ledger,
    target_users: list[TargetUser],
    unsupported: frozenset[str] = frozenset(),
    now: datetime | None = None,
    extensions: Mapping[str, frozenset[str]] | None = None,
    settled: Settled | None = None,
    group_external_ids: bool = False,
) -> Plan:
    ledger = trusted_entries(ledger, target_users)
    desired = desired_people(directory, spec)
    mappings, notes = supported_mappings(effective_mappings(spec.attributes), extensions)
    managed, duplicates = managed_users(ledger, directory, target_users)
    managed_ids = {user.id for users in [managed.values(), *duplicates.values()] for user in users}
    unowned = {
        address_key(user.user_name): user
        for user in target_users
        if not user.external_id and user.id not in managed_ids
    }
    # Managed users whose Google account no longer exists, by userName (re-hire candidates).
    orphans = {
        address_key(user.user_name): gid for gid, user in managed.items() if gid not in directory.people
    }
    plan = Plan(managed={gid: user.id for gid, user in managed.items()}, notes=notes)
    chosen: list[tuple[Person, TargetUser | None, bool, str | None]] = []
    for gid in sorted(desired, key=lambda g: desired[g].primary_email):
        person = desired[gid]
        current = managed.get(gid)
        replaces, adopting = None, False
        if current is None:
            email = address_key(person.primary_email)  # ASCII case only: \u212aate@ is not kate@
            replaces = orphans.pop(email, None)
            if replaces is not None:
                current = managed.pop(replaces)
                plan.managed[gid] = plan.managed.pop(replaces)
            elif email in unowned:
                adopting, current = True, unowned.pop(email)
        chosen.append((person, current, adopting, replaces))
    mapping = user_mapping(mappings, chosen, directory, target_users)
    if omits_photos(spec.attributes):  # spec.attributes.omit: neither sent nor compared
        mapping = replace(mapping, fields=tuple(f for f in mapping.fields if f != PHOTOS))
    # Steps made while Google was read (sync.early) hold when made from the same person and
    # target user (none: a create), by the same mapping: plan_user would make them again, equal.
    # A step already written then (its item no longer Planned: a create) is a fact, taken as is.
    usable = settled or {}
    default = mapping.mappings is DEFAULT_MAPPINGS
    for person, current, adopting, replaces in chosen:
        early = usable.get(person.id)
        if early is not None and (
            early[1].item.result is not Result.PLANNED
            or (
                default
                and early[0] is person
                and early[1].target_id == (current.id if current is not None else None)
                and not adopting
                and replaces is None
                and person.id not in duplicates
            )
        ):
            plan.users.append(early[1])
            continue
        plan.users.append(
            plan_user(
                person, current, adopting, replaces, duplicates.get(person.id, ()), unsupported, mapping
            )
        )
    plan.users = refound(plan.users, ledger)
    leaving = sorted(set(managed) - set(desired), key=lambda g: managed[g].user_name)
    # The grace period (spec.deprovision.gracePeriod): a leaver whose removal would write
    # something waits, its first absence kept in the ledger; one back in time leaves no trace.
    action, grace = spec.deprovision.action, spec.deprovision.grace
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    since: dict[str, datetime] = {}
    if grace:
        for gid in leaving:
            accounts = [managed[gid], *duplicates.get(gid, ())]
            if action is DeprovisionAction.DELETE or any(user.attributes.active for user in accounts):
                since[gid] = absent_since(gid, ledger, moment)
    plan.pending = {gid: utc_text(start) for gid, start in since.items()}
    waiting = {gid for gid, start in since.items() if moment < start + grace}
    departing = {managed[gid].id: gid for gid in leaving if gid not in waiting}
    plan.users = order_user_names(plan.users, target_users, departing, directory)
    for gid in leaving:
        live = managed[gid]
        if gid in waiting:
            fresh = gid not in ledger.pending
            plan.removals.append(pending_removal(gid, live, directory, spec, since[gid], fresh))
            plan.removals.extend(
                pending_removal(gid, duplicate, directory, spec, since[gid], fresh, live)
                for duplicate in duplicates.get(gid, ())
            )
            continue
        note = (
            f" (absent since {utc_text(since[gid])}, gracePeriod {spec.deprovision.grace_period} over)"
            if gid in since
            else ""
        )
        plan.removals.append(plan_removal(gid, live, directory, action, note=note))
        plan.removals.extend(
            plan_removal(gid, duplicate, directory, action, live, note)
            for duplicate in duplicates.get(gid, ())
        )
    return plan


def user_mapping(
    mappings: tuple[AttributeMapping, ...],
    chosen: list[tuple[Person, TargetUser | None, bool, str | None]],
    directory: Directory,
    target_users: list[TargetUser],
) -> UserMapping:
    """The planner's view of the mapping for this sync, managers resolved."""
    fields = mapped_fields(mappings)
    manager = next((m for m in mappings if m.target == MANAGER), None)
    if manager is None:
        return UserMapping(mappings, fields)
    people = {person.id: person for person, *_ in chosen}
    target_ids = {person.id: current.id if current else None for person, current, *_ in chosen}
    names = {user.id: user.user_name for user in target_users}
    return UserMapping(mappings, fields, resolve_managers(manager, people, directory, target_ids), names)


def make_plan(
    directory: Directory,
    spec: GoogleProvisioningSpec,
    ledger: Ledger,
    target_users: list[TargetUser],
    target_groups: list[TargetGroup],
    unsupported: frozenset[str] = frozenset(),
    now: datetime | None = None,
    extensions: Mapping[str, frozenset[str]] | None = None,
    settled: Settled | None = None,
    group_external_ids: bool = False,
) -> Plan:
    """Every step of one sync, in apply order, each with its Planned report item.

    `unsupported`: fields the target does not store (Target.unsupported_fields), never compared.
    `now`: the time of the sync, for the grace period of leavers (default: the clock's now, UTC);
    `plan.pending` is the ledger's `pending` after this sync. `extensions`: the User schema
    extensions the target declares (Target.user_extensions), for the mapped attributes.
    `settled`: steps of unchanged users made while the source was read (sync.early), taken
    where they still hold; the plan is the same with or without them. Creates written then
    (items no longer Planned) are taken as they are. `group_external_ids`: the target keeps
    externalId on groups (GroupExternalIds): teams carry their Google group's id.
    """
    ledger = trusted_entries(ledger, target_users)
    plan = plan_users(directory, spec, ledger, target_users, unsupported, now, extensions, settled)
    plan.users = order_managers(plan.users)
    plan_teams(plan, directory, spec, ledger, target_groups, group_external_ids)
    return plan
