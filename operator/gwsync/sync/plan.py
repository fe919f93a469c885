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
- a mapped team's members = union of its groups' members ∩ desired users; only managed users
  are added or removed, so a person added to a team by hand is left alone;
- teams no mapping names are never read further;
- a userName is freed before it is taken (order_user_names): the deactivated user of a departed
  account holding it is renamed to `departed+<targetId>@<domain of the address>` (its work
  email keeps the address, so renaming it back restores it), renames in a chain go in order,
  and people swapping addresses pass through `gwsync-tmp+<googleId>@<domain>`;
- only the mapped attributes are compared and written (spec.attributes, gwsync.sync.mapping); a
  manager created in this sync is created before its reports (order_managers), so its id goes
  in their creation, and a cycle of managers costs one request afterwards.
Each step carries its report item (result Planned); apply fills in the outcome.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from operator import attrgetter, itemgetter

from gwsync.api.attributes import (
    DEFAULT_MAPPINGS,
    MANAGER,
    AttributeMapping,
    effective_mappings,
    omits_photos,
)
from gwsync.api.provisioning import DeprovisionAction, GoogleProvisioningSpec, MemberSource
from gwsync.api.report import Action, FieldChange, ItemType, ReportItem, Result
from gwsync.directory import Directory, Person, Selection
from gwsync.sync.ledger import Ledger
from gwsync.sync.mapping import ManagerRef, mapped_fields, mapped_values, resolve_managers, supported_mappings
from gwsync.sync.ports import DEFAULT_SLOTS, USER_FIELDS, TargetGroup, TargetUser, UserAttributes, Value
from gwsync.text import address_key, same_address

CASE_INSENSITIVE = frozenset({"userName", "emails"})
PHOTOS = "photos"


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
    """One mapped team: Create (no group yet), Adopt (same-named group) or Unchanged."""

    item: ReportItem
    team: str
    group_id: str | None


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


def source_groups(spec: GoogleProvisioningSpec) -> list[str]:
    """The groups the source must expand: member groups and mapped groups, once each."""
    groups: list[str] = []
    if spec.members.from_ is MemberSource.GROUPS:
        groups.extend(spec.members.groups)
    if spec.teams.enabled:
        groups.extend(g for mapping in spec.teams.mappings for g in mapping.groups)
    return list(dict.fromkeys(address_key(g) for g in groups))


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


def photo_value(person: Person) -> str | None:
    """The photo URL with the etag as fragment, so a new photo is a changed value."""
    if not person.photo_url:
        return None
    return f"{person.photo_url}#etag={person.photo_etag}" if person.photo_etag else person.photo_url


def desired_attributes(
    person: Person, mappings: tuple[AttributeMapping, ...] = DEFAULT_MAPPINGS
) -> UserAttributes:
    """What gwsync writes for `person`: its identity, then each mapping (the manager apart)."""
    if mappings is DEFAULT_MAPPINGS:  # the default mapping, spelled out: this runs for every user
        return UserAttributes(
            user_name=person.primary_email,
            external_id=person.id,
            email=person.primary_email,
            given_name=person.given_name or None,
            family_name=person.family_name or None,
            display_name=person.display_name or None,
            active=not person.inactive,
            title=person.title or None,
            department=person.department or None,
            user_type=person.employee_type or None,
            photo=photo_value(person),
        )
    slots, extra = mapped_values(person, mappings)
    return UserAttributes(
        user_name=person.primary_email,
        external_id=person.id,
        active=not person.inactive,
        photo=photo_value(person),
        extra=extra,
        **slots,
    )


def shown(value: Value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def same(field_name: str, left: Value, right: Value) -> bool:
    if field_name in CASE_INSENSITIVE and isinstance(left, str) and isinstance(right, str):
        return same_address(left, right)
    return (left or None) == (right or None) if not isinstance(left, bool) else left == right


@lru_cache(maxsize=64)
def compared(fields: tuple[str, ...], unsupported: frozenset[str]) -> Callable[[UserAttributes], object]:
    """The values of the compared `fields` of a user, as one object (the manager apart).

    Two users whose values are equal differ in none of the fields (`same` holds for equal
    values), so the planner settles each unchanged user with one comparison; only a user
    whose values differ goes through `same`, field by field.
    """
    names = [name for name in fields if name != MANAGER and name not in unsupported]
    slots = [DEFAULT_SLOTS[name] for name in names if name in DEFAULT_SLOTS]
    extras = [name for name in names if name not in DEFAULT_SLOTS]
    read_slots = attrgetter(*slots, "active") if slots else attrgetter("active")  # a tuple either way
    if not extras:
        return read_slots

    def values(user: UserAttributes) -> object:
        held = dict(user.extra)
        return read_slots(user), [held.get(name) for name in extras]

    return values


DEFAULT_ORDER: tuple[str, ...] = tuple(DEFAULT_SLOTS[name] for name in USER_FIELDS)
"""The UserAttributes slots of the default mapping, in USER_FIELDS order."""
read_default = attrgetter(*DEFAULT_ORDER)


def default_values(person: Person) -> tuple[Value, ...]:
    """desired_attributes(person) with the default mapping, as the DEFAULT_ORDER values: the
    planner compares them with the target user's before it builds anything."""
    return (
        person.primary_email,
        person.primary_email,
        person.id,
        person.given_name or None,
        person.family_name or None,
        person.display_name or None,
        not person.inactive,
        person.title or None,
        person.department or None,
        person.employee_type or None,
        photo_value(person),
    )


@lru_cache(maxsize=64)
def default_compared(unsupported: frozenset[str]) -> Callable[[tuple[Value, ...]], object]:
    """The part of DEFAULT_ORDER values the planner compares: the fields the target stores."""
    kept = [i for i, name in enumerate(USER_FIELDS) if name not in unsupported]
    if len(kept) == len(USER_FIELDS):
        return lambda values: values
    return itemgetter(*kept, 0)  # userName twice makes it a tuple even when it is alone


def unchanged_by_default(person: Person, current: UserAttributes, unsupported: frozenset[str]) -> bool:
    """Whether the default mapping writes nothing to `current`: every compared value is equal
    (then changed_fields finds no change; when one differs, changed_fields decides)."""
    part = default_compared(unsupported)
    return part(default_values(person)) == part(read_default(current))


def value_of(user: UserAttributes, name: str, extras: dict[str, Value]) -> Value:
    """UserAttributes.value without building its table for every call."""
    slot = DEFAULT_SLOTS.get(name)
    return getattr(user, slot) if slot is not None else extras.get(name)


def changed_fields(
    desired: UserAttributes,
    current: UserAttributes,
    unsupported: frozenset[str] = frozenset(),
    fields: tuple[str, ...] = USER_FIELDS,
) -> list[FieldChange]:
    """The fields that differ; those the target does not store (`unsupported`) never do."""
    values = compared(fields, unsupported)
    if values(desired) == values(current):
        return []
    wanted, held = dict(desired.extra), dict(current.extra)
    return [
        FieldChange(field=name, from_=shown(now), to=shown(new))
        for name in fields
        if name != MANAGER
        and name not in unsupported
        and not same(name, new := value_of(desired, name, wanted), now := value_of(current, name, held))
    ]


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


REFOUND = (
    "Found by its externalId, not in the ledger (a sync stopped before saving it, or the ledger was "
    "lost): taken into the ledger, nothing written."
)


def refound_details(step: UserStep) -> str:
    return " ".join(part for part in (REFOUND, step.item.details) if part)


def refound(steps: list[UserStep], ledger: Ledger) -> list[UserStep]:
    """A user with nothing to write that the ledger does not pair with this target user (found
    by externalId: a sync interrupted before its checkpoint wrote it, or a lost ledger) is an
    Adopt, not Unchanged: the report shows that gwsync takes it (back) into the ledger
    (issue 24). Apply writes nothing for it (engine.writes_nothing)."""
    return [
        replace(
            step, item=step.item.model_copy(update={"action": Action.ADOPT, "details": refound_details(step)})
        )
        if step.item.action is Action.UNCHANGED
        and step.item.result is Result.PLANNED
        and step.target_id is not None
        and ledger.users.get(step.item.source_id or "") != step.target_id
        else step
        for step in steps
    ]


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


def written_name(step: UserStep) -> str | None:
    """The userName `step` writes, when it writes one."""
    if step.desired is None:
        return None
    if step.item.action is Action.CREATE or "userName" in step.fields:
        return step.desired.user_name
    return None


def domain_of(address: str) -> str:
    return address.rpartition("@")[2] or "invalid"


def moved_aside(user: TargetUser, gid: str, user_name: str, details: str) -> UserStep:
    """A Rename of `user` to a userName that no one wants, to free its current one."""
    change = FieldChange(field="userName", from_=user.user_name, to=user_name)
    item = user_item(user_name, gid, user.id, Action.RENAME, details, [change])
    desired = replace(user.attributes, user_name=user_name)
    return UserStep(item, desired, user.id, ("userName",), prepares=True)


def order_user_names(
    steps: list[UserStep], target_users: Iterable[TargetUser], departing: dict[str, str], directory: Directory
) -> list[UserStep]:
    """Free each userName before it is written (DESIGN §3 rule 3; issue 16 bug 4). Pure.

    The target refuses a userName in use (409), so a write whose address is held by another
    target user waits for it to move: if the holder is renamed in this sync, the write goes
    in a later wave than that rename (chains); a cycle of renames (a swap) is broken by first
    renaming its member with the smallest Google id to `gwsync-tmp+<googleId>@<domain>`; a
    holder that is a departing managed user (`departing`: target id -> Google id) is renamed
    first to `departed+<targetId>@<domain of its address>`, which frees the address and is
    reversible (its work email keeps the address). A holder gwsync does not manage is never
    touched: that write fails with the target's refusal, as before.
    Returns the steps, the moves-aside first, each with its wave and what it waits for.
    """
    written = {address_key(name) for step in steps if (name := written_name(step))}
    holders: dict[str, TargetUser] = {}  # each written userName's holder: the smallest target id
    if written:
        for user in target_users:
            key = address_key(user.attributes.user_name)
            if key in written and ((held := holders.get(key)) is None or user.id < held.id):
                holders[key] = user
    moving = {  # target id -> index of the step renaming it
        step.target_id: i for i, step in enumerate(steps) if step.target_id and written_name(step)
    }
    waits: dict[int, int] = {}  # step index -> index of the rename it waits for
    after: dict[int, str] = {}  # step index -> target id it waits for
    aside: list[UserStep] = []
    for i, step in enumerate(steps):
        name = written_name(step)
        holder = holders.get(address_key(name)) if name else None
        if name is None or holder is None or holder.id == step.target_id:
            continue
        if holder.id in moving:
            waits[i], after[i] = moving[holder.id], holder.id
        elif holder.id in departing:
            gid = departing[holder.id]
            freed = f"departed+{holder.id}@{domain_of(holder.user_name)}"
            status = "deactivated" if not holder.attributes.active else "removed in this sync"
            details = (
                f"{departure_reason(gid, directory)} and {status}: renamed from {holder.user_name} to "
                f"{freed} to free the address for {name} (its work email keeps {holder.user_name}; "
                "rename it back to restore it)."
            )
            aside.append(moved_aside(holder, gid, freed, details))
            after[i] = holder.id
    # Cycles (swaps): each step waits for at most one, so walk each path once.
    broken: set[int] = set()  # steps whose wait is served by a temporary rename instead
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start in sorted(waits):  # a step that waits for none is on no cycle
        path: list[int] = []
        node: int | None = start
        while node is not None and node not in state:
            state[node] = 1
            path.append(node)
            node = waits.get(node)
        if node is not None and state[node] == 1:  # a cycle: path[path.index(node):]
            cycle = path[path.index(node) :]
            first = min(cycle, key=lambda k: steps[k].item.source_id or "")
            step = steps[first]
            assert step.target_id is not None and step.desired is not None
            current = next(u for u in target_users if u.id == step.target_id)
            temporary = f"gwsync-tmp+{step.item.source_id}@{domain_of(step.desired.user_name)}"
            details = (
                f"Renamed from {current.user_name} to the temporary {temporary} first, so that "
                f"{current.user_name} is free for the account renamed to it."
            )
            aside.append(moved_aside(current, step.item.source_id or "", temporary, details))
            broken.update(k for k in cycle if waits[k] == first)
            final = step.item.details.removesuffix(".") + f" (through {temporary})."
            steps[first] = replace(step, item=step.item.model_copy(update={"details": final}))
        for k in path:
            state[k] = 2
    waves: dict[int, int] = {}

    def wave(i: int) -> int:
        if i not in waves:
            waves[i] = 1 if i in broken or (i in after and i not in waits) else 0
            if i in waits and i not in broken:
                waves[i] = wave(waits[i]) + 1
        return waves[i]

    ordered = [
        replace(step, wave=wave(i), after=(after[i],) if i in after else ())
        if i in after or i in waits or i in broken or step.wave or step.after
        else step  # waits for nothing: wave 0, as it is (nearly every step)
        for i, step in enumerate(steps)
    ]
    return [*aside, *ordered]


def order_managers(steps: list[UserStep]) -> list[UserStep]:
    """Managers are created before their reports, so each id goes in the create body. Pure.

    A step whose manager is created in this sync (`step.manager`) runs in a later wave than that
    creation. Steps the userName order pins (a move aside, a wave above 0, a user another step
    waits for) keep their wave; apply sets their manager afterwards when it is not there yet. A
    cycle of managers is cut at the step that closes it: that one is written without its
    manager, which apply sets once the manager exists (the one request a cycle costs).
    """
    if all(step.manager is None for step in steps):
        return steps  # no manager is created in this sync: every wave stays
    creates = {
        step.item.source_id: i
        for i, step in enumerate(steps)
        if step.item.action is Action.CREATE and not step.prepares
    }
    awaited = {tid for step in steps for tid in step.after}
    pinned = {i for i, step in enumerate(steps) if step.prepares or step.wave or step.target_id in awaited}

    def manager_step(i: int) -> int | None:
        ref = steps[i].manager
        if i in pinned or ref is None or ref.source_id is None:
            return None
        return creates.get(ref.source_id)

    waves: dict[int, int] = {}
    for start in range(len(steps)):
        path: list[int] = []
        on_path: set[int] = set()
        node: int | None = start
        while node is not None and node not in waves:
            if node in on_path:  # a cycle: the last step of the path goes without its manager
                cut = path.pop()
                waves[cut] = steps[cut].wave
                break
            on_path.add(node)
            path.append(node)
            node = manager_step(node)
        for i in reversed(path):
            above = manager_step(i)
            waves[i] = max(steps[i].wave, waves[above] + 1) if above is not None else steps[i].wave
    return [replace(step, wave=waves[i]) if waves[i] != step.wave else step for i, step in enumerate(steps)]


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
) -> Plan:
    """Every step of one sync, in apply order, each with its Planned report item.

    `unsupported`: fields the target does not store (Target.unsupported_fields), never compared.
    `now`: the time of the sync, for the grace period of leavers (default: the clock's now, UTC);
    `plan.pending` is the ledger's `pending` after this sync. `extensions`: the User schema
    extensions the target declares (Target.user_extensions), for the mapped attributes.
    `settled`: steps of unchanged users made while the source was read (sync.early), taken
    where they still hold; the plan is the same with or without them. Creates written then
    (items no longer Planned) are taken as they are.
    """
    ledger = trusted_entries(ledger, target_users)
    plan = plan_users(directory, spec, ledger, target_users, unsupported, now, extensions, settled)
    plan.users = order_managers(plan.users)
    plan_teams(plan, directory, spec, ledger, target_groups)
    return plan
