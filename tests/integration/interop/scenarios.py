"""The conformance scenarios for SCIM targets, written once and run against every server.

Each scenario drives the real engine (`run_sync`) with the real adapter (`ScimTarget`) against
one `Backend`, and returns the capabilities it found missing. A capability a server lacks is
declared in its backend's `limits` with the server's own reason; `Run.expect` then asserts
the limit really is there (a server that starts supporting it fails the test, and the table in
docs/targets.md must change). Nothing is marked unsupported by gwsync's choice.

Every scenario runs with an unmanaged user, a user carrying another tool's externalId and an
unmanaged group seeded first; they are compared before and after (no write to them, ever).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action, ItemType, ReportItem, Result
from gwsync.directory import Directory, Person
from gwsync.sync.engine import SyncOutcome, run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.memory import StaticSource

from .backend import ENTERPRISE, Backend

TEAM = "Engineering"
RENAMED = "Platform"
TEAMS = {"enabled": True, "mappings": [{"team": TEAM, "groups": ["eng@acme.com"]}]}
ENG_ID = "03x5nn3a1zq4mbg"
"""The Google id of eng@acme.com: the team's externalId, where the server keeps one on groups."""


def spec(teams: bool = False, /, **overrides: Any) -> GoogleProvisioningSpec:
    document: dict[str, Any] = {
        "google": {"adminEmail": "admin@acme.com", "credentialsSecretRef": {"name": "g", "key": "k"}},
        "target": {"scim": {"url": "http://127.0.0.1/v2", "tokenSecretRef": {"name": "s", "key": "t"}}},
        "deprovision": {"maxPercent": 100},
        **({"teams": TEAMS} if teams else {}),
        **overrides,
    }
    return GoogleProvisioningSpec.model_validate(document)


def person(n: int, **attributes: Any) -> Person:
    values: dict[str, Any] = {
        "given_name": f"Given{n}",
        "family_name": f"Family{n}",
        "title": "Engineer",
        "department": "R&D",
        "employee_type": "Employee",
        **attributes,
    }
    return Person(id=f"10{n:04d}", primary_email=values.pop("email", f"user{n}@acme.com"), **values)


PEOPLE = [
    person(1, given_name="Renée", family_name="Lefèvre-Çelik", title="Ingénieure"),
    person(2, given_name="太郎", family_name="山田", department="研究開発", employee_type="Contractor"),
    person(3, given_name="Дмитрий", family_name="Шостакович", title="Композитор"),
    person(
        4, given_name="Zoë", family_name="Ångström", photo_url="https://photos.example/4.jpg", photo_etag="e1"
    ),
]


def org(people: list[Person], groups: dict[str, list[Person]] | None = None) -> Directory:
    return Directory(
        customer_id="C1",
        primary_domain="acme.com",
        people={p.id: p for p in people},
        groups={email: frozenset(p.id for p in members) for email, members in (groups or {}).items()},
        group_ids={"eng@acme.com": ENG_ID},
    )


@dataclass
class Run:
    """One scenario against one backend: syncs, read-backs, and the limits met."""

    backend: Backend
    unsupported: list[str] = field(default_factory=list)
    targets: list[ScimTarget] = field(default_factory=list)

    async def sync(
        self,
        directory: Directory,
        teams: bool = False,
        ledger: Ledger | None = None,
        mapped: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> SyncOutcome:
        """One sync as the operator runs it: a new client, the ledger of the previous sync;
        `mapped`: spec.teams in place of TEAMS."""
        built = spec(teams, **({"teams": mapped} if mapped else {}), **overrides)
        scope = built.mapped_teams  # as the controller scopes its target (targets.scim.target_for)
        async with ScimTarget(self.backend.url, self.backend.token, retry_base=0.01, teams=scope) as target:
            self.targets.append(target)
            outcome = await run_sync(StaticSource(directory), target, built, ledger or Ledger.empty())
        failures = [f"{i.key}: {i.details}" for i in outcome.items if i.result is Result.FAILED]
        assert outcome.phase in ("Succeeded", "PartiallySucceeded"), (outcome.message, failures[:5])
        return outcome

    def expect(self, capability: str, works: bool, seen: object = None) -> None:
        """`works` must hold, unless the server declares `capability` a limit: then it must not."""
        if capability in self.backend.limits:
            assert not works, (
                f"{self.backend.name} now supports {capability} ({seen!r}); drop the limit and "
                "update docs/targets.md"
            )
            if capability not in self.unsupported:
                self.unsupported.append(capability)
        else:
            assert works, f"{capability}: {seen!r}"

    def user(self, user_name: str) -> dict[str, Any]:
        matches = [u for u in self.backend.users() if str(u["userName"]).lower() == user_name.lower()]
        assert len(matches) == 1, f"{len(matches)} users named {user_name}"
        return matches[0]

    def group(self, team: str = TEAM) -> dict[str, Any]:
        [group] = [g for g in self.backend.groups() if g["displayName"] == team]
        return group

    def expect_team_id(self) -> None:
        """The team carries eng@acme.com's Google id as externalId, where the server keeps one."""
        carried = self.group().get("externalId")
        self.expect("team externalId", carried == ENG_ID, carried)

    def members(self, team: str = TEAM) -> set[str]:
        """userNames of the team's members."""
        [group] = [g for g in self.backend.groups() if g["displayName"] == team]
        members = self.backend.members(str(group["id"]))
        if all("@" in m for m in members):  # listed by userName (Canaille): no need to list users
            return members
        names = {str(u["id"]): str(u["userName"]) for u in self.backend.users()}
        return {names.get(m, m) for m in members}


def settled(run: Run, outcome: SyncOutcome) -> set[str]:
    """Every item Unchanged; on a target that cannot keep photos, photo-only updates are its limit."""
    changed = [
        (i.key, i.action, [c.field for c in i.changes])
        for i in outcome.items
        if i.action is not Action.UNCHANGED
    ]
    limited = set(run.backend.limits)
    if changed and all(set(fields) <= limited for _, _, fields in changed):
        # The target does not keep these attributes, so the planner sees them to write again.
        dropped = {f for _, _, fields in changed for f in fields}
        for field_name in sorted(dropped):
            run.expect(field_name, False, changed)
        return dropped
    assert changed == [], changed
    return set()


def by_key(items: list[ReportItem]) -> dict[str, ReportItem]:
    return {item.key: item for item in items if item.type is not ItemType.MEMBERSHIP}


def active(user: dict[str, Any]) -> bool:
    value = user.get("active", True)
    return value is True or str(value).lower() == "true"


async def initial_import(run: Run) -> None:
    outcome = await run.sync(org(PEOPLE))
    assert outcome.summary.users.created == len(PEOPLE)
    renee = run.user("user1@acme.com")
    assert active(renee)
    run.expect("externalId", renee.get("externalId") == "100001", renee.get("externalId"))
    assert (renee["name"]["givenName"], renee["name"]["familyName"]) == ("Renée", "Lefèvre-Çelik")
    run.expect("displayName", renee.get("displayName") == "Renée Lefèvre-Çelik", renee.get("displayName"))
    run.expect("title", renee.get("title") == "Ingénieure", renee.get("title"))
    taro = run.user("user2@acme.com")
    assert (taro["name"]["givenName"], taro["name"]["familyName"]) == ("太郎", "山田")
    department = (taro.get(ENTERPRISE) or {}).get("department")
    run.expect("department", department == "研究開発", department)
    run.expect("userType", taro.get("userType") == "Contractor", taro.get("userType"))
    emails = run.user("user3@acme.com").get("emails") or []
    assert [e["value"] for e in emails] == ["user3@acme.com"], emails
    photos = run.user("user4@acme.com").get("photos") or []
    run.expect("photos", [p.get("value") for p in photos] == ["https://photos.example/4.jpg#etag=e1"], photos)


async def attribute_update(run: Run) -> None:
    first = await run.sync(org(PEOPLE))
    changed = [replace(PEOPLE[0], title="Directrice", given_name="Renée-Claude"), *PEOPLE[1:]]
    run.backend.reset_log()
    second = await run.sync(org(changed), ledger=first.ledger)
    item = by_key(second.items)["user1@acme.com"]
    assert (item.action, item.result) == (Action.UPDATE, Result.SUCCEEDED), item
    renee = run.user("user1@acme.com")
    assert renee["name"]["givenName"] == "Renée-Claude"
    run.expect("title", renee.get("title") == "Directrice", renee.get("title"))
    shown = renee.get("displayName")
    run.expect("displayName", shown == "Renée-Claude Lefèvre-Çelik", shown)
    others = [i for i in second.items if i.key != "user1@acme.com" and i.action is not Action.UNCHANGED]
    if not others:
        assert len([w for w in run.backend.log if w.write]) == 1
    else:  # only attributes the server drops, written again
        assert all({c.field for c in i.changes} <= set(run.backend.limits) for i in others), others


async def rename(run: Run) -> None:
    first = await run.sync(org(PEOPLE))
    before = run.user("user3@acme.com")
    renamed = [*PEOPLE[:2], replace(PEOPLE[2], primary_email="dmitri@acme.com"), PEOPLE[3]]
    second = await run.sync(org(renamed), ledger=first.ledger)
    item = by_key(second.items)["dmitri@acme.com"]
    assert item.action is Action.RENAME, item
    run.expect("rename", item.result is Result.SUCCEEDED, item.details)
    if item.result is not Result.SUCCEEDED:  # the server's limit: that item fails, saying why
        assert run.user("user3@acme.com")["id"] == before["id"] and item.details, item
        return
    after = run.user("dmitri@acme.com")
    assert after["id"] == before["id"]
    run.expect("externalId", after.get("externalId") == "100003", after.get("externalId"))
    assert [e["value"] for e in after.get("emails") or []] == ["dmitri@acme.com"]
    assert not [u for u in run.backend.users() if u["userName"] == "user3@acme.com"]


async def departure_deactivate(run: Run) -> None:
    first = await run.sync(org(PEOPLE))
    second = await run.sync(org(PEOPLE[1:]), ledger=first.ledger)
    assert by_key(second.items)["user1@acme.com"].action is Action.DEPROVISION
    assert not active(run.user("user1@acme.com"))
    assert all(active(run.user(p.primary_email)) for p in PEOPLE[1:])


async def departure_delete(run: Run) -> None:
    first = await run.sync(org(PEOPLE))
    delete = {"deprovision": {"action": "Delete", "maxPercent": 100}}
    second = await run.sync(org(PEOPLE[1:]), ledger=first.ledger, **delete)
    item = by_key(second.items)["user1@acme.com"]
    assert (item.action, item.result) == (Action.DELETE, Result.SUCCEEDED), item
    left = [u for u in run.backend.users() if u["userName"] == "user1@acme.com"]
    run.expect("delete", not left, left)
    settled(run, await run.sync(org(PEOPLE[1:]), ledger=second.ledger, **delete))


async def rehire(run: Run) -> None:
    first = await run.sync(org(PEOPLE))
    gone = await run.sync(org(PEOPLE[1:]), ledger=first.ledger)
    rehired = replace(PEOPLE[0], id="109999", title="Returning")
    again = await run.sync(org([rehired, *PEOPLE[1:]]), ledger=gone.ledger)
    item = by_key(again.items)["user1@acme.com"]
    assert (item.action, item.result, item.source_id) == (Action.ADOPT, Result.SUCCEEDED, "109999"), item
    user = run.user("user1@acme.com")
    assert active(user)
    run.expect("externalId", user.get("externalId") == "109999", user.get("externalId"))
    run.expect("title", user.get("title") == "Returning", user.get("title"))


async def adopt_existing_user(run: Run) -> None:
    existing = run.backend.seed_user(
        "user2@acme.com",
        name={"givenName": "T", "familyName": "Y"},
        displayName="Old Name",
        emails=[{"value": "user2@acme.com", "type": "work", "primary": True}],
    )
    outcome = await run.sync(org(PEOPLE))
    item = by_key(outcome.items)["user2@acme.com"]
    assert (item.action, item.target_id) == (Action.ADOPT, existing), item
    user = run.user("user2@acme.com")
    run.expect("externalId", user.get("externalId") == "100002", user.get("externalId"))
    run.expect("displayName", user.get("displayName") == "太郎 山田", user.get("displayName"))
    assert len(run.backend.users()) == len(PEOPLE) + len(UNMANAGED_USERS)


async def team_create(run: Run) -> None:
    outcome = await run.sync(org(PEOPLE, {"eng@acme.com": PEOPLE[:2]}), teams=True)
    assert outcome.summary.teams.created == 1
    assert run.members() == {"user1@acme.com", "user2@acme.com"}
    assert outcome.ledger.teams.get(TEAM)
    run.expect_team_id()


async def team_adopt(run: Run) -> None:
    group = run.backend.seed_group(TEAM)
    groups = {"eng@acme.com": PEOPLE[:2]}
    outcome = await run.sync(org(PEOPLE, groups), teams=True)
    assert outcome.summary.teams.created == 0 and outcome.ledger.teams[TEAM] == group
    assert len([g for g in run.backend.groups() if g["displayName"] == TEAM]) == 1
    assert run.members() == {"user1@acme.com", "user2@acme.com"}
    run.expect_team_id()
    # One write set it (or was refused or dropped): a second sync does not send it again.
    run.backend.reset_log()
    await run.sync(org(PEOPLE, groups), teams=True, ledger=outcome.ledger)
    assert not [w for w in run.backend.log if w.write and "/Groups" in w.path], run.backend.log


async def team_rename(run: Run) -> None:
    """The team renamed in the spec keeps its group, renamed, with its members; no group twice."""
    groups = {"eng@acme.com": PEOPLE[:2]}
    first = await run.sync(org(PEOPLE, groups), teams=True)
    kept = run.group()["id"]
    renamed = {"enabled": True, "mappings": [{"team": RENAMED, "groups": ["eng@acme.com"]}]}
    second = await run.sync(org(PEOPLE, groups), teams=True, ledger=first.ledger, mapped=renamed)
    names = sorted(str(g["displayName"]) for g in run.backend.groups() if g["displayName"] in (TEAM, RENAMED))
    run.expect("team rename", names == [RENAMED] and run.group(RENAMED)["id"] == kept, names)
    assert run.members(RENAMED) == {"user1@acme.com", "user2@acme.com"}
    run.backend.reset_log()
    third = await run.sync(org(PEOPLE, groups), teams=True, ledger=second.ledger, mapped=renamed)
    assert not [w for w in run.backend.log if w.write and "/Groups" in w.path], run.backend.log
    assert {i.action for i in third.items if i.type is ItemType.TEAM} == {Action.UNCHANGED}


async def membership(run: Run) -> None:
    first = await run.sync(org(PEOPLE, {"eng@acme.com": PEOPLE[:2]}), teams=True)
    moved = {"eng@acme.com": [PEOPLE[1], PEOPLE[2], PEOPLE[3]]}
    second = await run.sync(org(PEOPLE, moved), teams=True, ledger=first.ledger)
    changes = sorted((i.key, i.action.value) for i in second.items if i.type is ItemType.MEMBERSHIP)
    assert changes == [
        (f"{TEAM}/user1@acme.com", "RemoveMember"),
        (f"{TEAM}/user3@acme.com", "AddMember"),
        (f"{TEAM}/user4@acme.com", "AddMember"),
    ]
    assert run.members() == {"user2@acme.com", "user3@acme.com", "user4@acme.com"}


async def large_team(run: Run) -> None:
    crowd = [person(100 + n) for n in range(250)]
    first = await run.sync(org(crowd, {"eng@acme.com": crowd}), teams=True)
    assert first.summary.memberships.added == 250, first.message
    assert len(run.members()) == 250
    second = await run.sync(org(crowd, {"eng@acme.com": crowd[:120]}), teams=True, ledger=first.ledger)
    assert second.summary.memberships.removed == 130, second.message
    assert run.members() == {p.primary_email for p in crowd[:120]}


async def second_sync_writes_nothing(run: Run) -> None:
    groups = {"eng@acme.com": PEOPLE[:3]}
    first = await run.sync(org(PEOPLE, groups), teams=True)
    run.backend.reset_log()
    second = await run.sync(org(PEOPLE, groups), teams=True, ledger=first.ledger)
    writes = [w for w in run.backend.log if w.write]
    if not settled(run, second):
        assert writes == [], writes
    else:  # attributes the server drops are written again: updates of users, nothing else
        assert {(w.method, "/Users/" in w.path) for w in writes} <= {("PATCH", True), ("PUT", True)}, writes


async def item_failure(run: Run) -> None:
    # Another tool's user holds the address; gwsync may not adopt it (it has an externalId).
    other = run.user("other@acme.com")
    run.expect("externalId", other.get("externalId") == "okta-77", other.get("externalId"))
    if "externalId" in run.backend.limits:
        # Nothing tells another tool's user apart there (gwsync would adopt it as unowned), and
        # without userName uniqueness no conflict can fail an item: both limits are checked.
        outcome = await run.sync(org(PEOPLE))
        assert outcome.summary.users.created == len(PEOPLE), outcome.message
        try:
            run.backend.seed_user("user1@acme.com", name={"givenName": "Twin", "familyName": "Copy"})
        except RuntimeError as exc:
            run.expect("uniqueness", " 409" in str(exc), exc)
        else:
            run.expect("uniqueness", False, "a second user1@acme.com was created")
        return
    taken = [*PEOPLE, person(9, email="other@acme.com")]
    outcome = await run.sync(org(taken))
    failed = [i for i in outcome.items if i.result is Result.FAILED]
    assert outcome.phase == "PartiallySucceeded", outcome.message
    assert [i.key for i in failed] == ["other@acme.com"], failed
    assert failed[0].details, failed[0]
    assert outcome.summary.users.created == len(PEOPLE)


async def unmanaged_untouched(run: Run) -> None:
    # Everything gwsync does to its own users and teams, next to the unmanaged objects.
    groups = {"eng@acme.com": PEOPLE[:2]}
    first = await run.sync(org(PEOPLE, groups), teams=True)
    later = await run.sync(org(PEOPLE[1:], {"eng@acme.com": PEOPLE[1:3]}), teams=True, ledger=first.ledger)
    await run.sync(
        org(PEOPLE[2:]), teams=True, ledger=later.ledger, deprovision={"action": "Delete", "maxPercent": 100}
    )


UNMANAGED_USERS = ("contractor@partner.com", "other@acme.com")


def seed_unmanaged(backend: Backend) -> tuple[str, ...]:
    """Objects gwsync must never write: a user from elsewhere, one of another tool, a group."""
    contractor = backend.seed_user(
        "contractor@partner.com",
        name={"givenName": "Con", "familyName": "Tractor"},
        displayName="Not from Google",
        emails=[{"value": "contractor@partner.com", "type": "work", "primary": True}],
    )
    other = backend.seed_user(
        "other@acme.com",
        externalId="okta-77",
        name={"givenName": "Other", "familyName": "Tool"},
        displayName="Another tool's user",
        emails=[{"value": "other@acme.com", "type": "work", "primary": True}],
    )
    sales = backend.seed_group("Sales", [contractor, other])
    return contractor, other, sales


def unmanaged_state(backend: Backend, ids: tuple[str, ...]) -> dict[str, Any]:
    """The unmanaged objects as the server shows them (members read the server's way)."""
    users = {str(u["id"]): u for u in backend.users()}
    groups = {str(g["id"]): {**g, "members": sorted(backend.members(str(g["id"])))} for g in backend.groups()}
    return {i: users.get(i) or groups.get(i) for i in ids}


Scenario = Callable[[Run], Awaitable[None]]

SCENARIOS: dict[str, Scenario] = {
    "initial import": initial_import,
    "update": attribute_update,
    "rename": rename,
    "deactivate": departure_deactivate,
    "delete": departure_delete,
    "re-hire": rehire,
    "adopt user": adopt_existing_user,
    "team create": team_create,
    "team adopt": team_adopt,
    "team rename": team_rename,
    "membership": membership,
    "team of 250": large_team,
    "zero writes": second_sync_writes_nothing,
    "item failure": item_failure,
    "unmanaged": unmanaged_untouched,
}
