"""Unchanged users planned while Google is read (sync.early): the plan is the same either way."""

import asyncio
from dataclasses import replace

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action, Result
from gwsync.directory import Directory, Person
from gwsync.sync.early import EarlyPlan
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import Plan, UserStep, make_plan
from gwsync.sync.ports import UserAttributes
from gwsync.testing.memory import MemoryTarget, StaticSource

from .test_plan_properties import GROUPS, existing, make_spec, people


def plans(
    directory: Directory, spec: GoogleProvisioningSpec, ledger: Ledger, target: MemoryTarget
) -> tuple[Plan, Plan, EarlyPlan]:
    """The plan made after the read alone, and made with what the early plan settled, each
    page handed over once the target was read."""
    users, groups = asyncio.run(target.list_users()), asyncio.run(target.list_groups())
    unsupported = target.unsupported_fields
    early = EarlyPlan(spec, ledger)
    early.ready(users, unsupported)
    early.page(list(directory.people.values()))
    alone = make_plan(directory, spec, ledger, users, groups, unsupported)
    helped = make_plan(directory, spec, ledger, users, groups, unsupported, settled=early.settled)
    return alone, helped, early


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=people,
    kept=st.lists(st.booleans(), min_size=8, max_size=8),
    after=people,
    seeded=existing,
    from_groups=st.booleans(),
    teams=st.booleans(),
    unsupported=st.frozensets(st.sampled_from(["title", "photos", "displayName", "userType"])),
)
def test_the_plan_is_the_same_with_the_users_settled_during_the_read(
    before: list[Person],
    kept: list[bool],
    after: list[Person],
    seeded: list[UserAttributes],
    from_groups: bool,
    teams: bool,
    unsupported: frozenset[str],
) -> None:
    spec = make_spec(from_groups, teams, delete=False)
    target = MemoryTarget(unsupported_fields=unsupported)
    target.users = {f"s{i}": user for i, user in enumerate(seeded)}
    first = asyncio.run(
        run_sync(
            StaticSource(Directory("C1", "acme.com", {p.id: p for p in before}, {})),
            target,
            spec,
            Ledger.empty(),
        )
    )
    # Some people as they were (unchanged, most of a daily sync), others as `after` has them.
    now = {p.id: p for p, keep in zip(before, kept, strict=False) if keep}
    emails = {p.primary_email for p in now.values()}
    now |= {p.id: p for p in after if p.id not in now and p.primary_email not in emails}
    directory = Directory("C1", "acme.com", now, {g: frozenset(now) for g in GROUPS})

    alone, helped, early = plans(directory, spec, first.ledger, target)

    assert helped == alone
    reused = sum(1 for step in helped.users if any(step is s for _, s in early.settled.values()))
    event(f"steps taken from the early plan: {min(reused, 3)}+")


def person(gid: str, title: str = "Engineer") -> Person:
    return Person(id=gid, primary_email=f"p{gid}@acme.com", given_name="Ann", family_name="Lee", title=title)


def provisioned(*persons: Person) -> tuple[MemoryTarget, Ledger]:
    """A target holding `persons` as the last sync wrote them, and its ledger."""
    target = MemoryTarget()
    spec = make_spec(from_groups=False, teams=False, delete=False)
    directory = Directory("C1", "acme.com", {p.id: p for p in persons}, {})
    outcome = asyncio.run(run_sync(StaticSource(directory), target, spec, Ledger.empty()))
    return target, outcome.ledger


def test_the_unchanged_people_the_ledger_ties_to_their_user_and_the_new_ones_are_settled() -> None:
    target, ledger = provisioned(person("1"), person("2"), person("3"), person("5"))
    # 2's title changed; 3 left; 4 is new; 5 is unchanged, but a second target user carries its id.
    target.users["dup"] = UserAttributes("p5.old@acme.com", external_id="5")
    now = [person("1"), person("2", title="CTO"), person("4"), person("5")]
    directory = Directory("C1", "acme.com", {p.id: p for p in now}, {})
    spec = make_spec(from_groups=False, teams=False, delete=False)

    alone, helped, early = plans(directory, spec, ledger, target)

    assert sorted(early.settled) == ["1", "4", "5"]  # 2 writes; 4 is new: a create
    assert helped == alone
    one, four, five = (next(s for s in helped.users if s.item.source_id == g) for g in ("1", "4", "5"))
    assert one is early.settled["1"][1] and one.item.action is Action.UNCHANGED
    assert four is early.settled["4"][1] and four.item.action is Action.CREATE
    # The plan alone knows of the duplicate: 5 is planned again, and the item names it.
    assert five is not early.settled["5"][1]
    assert five.item.details.startswith("Duplicate: target user p5.old@acme.com (id dup)")


def test_a_step_made_from_another_read_of_the_person_is_planned_again() -> None:
    target, ledger = provisioned(person("1"))
    spec = make_spec(from_groups=False, teams=False, delete=False)
    early = EarlyPlan(spec, ledger)
    users = asyncio.run(target.list_users())
    early.ready(users, frozenset())
    early.page([person("1")])
    read_again = person("1", title="CTO")  # the Directory holds a newer read of the same person
    directory = Directory("C1", "acme.com", {"1": read_again}, {})

    plan = make_plan(directory, spec, ledger, users, [], settled=early.settled)

    [step] = plan.users
    assert step.item.action is Action.UPDATE and step.item.details == "Changed: title."


def test_pages_read_before_the_target_wait_for_it_and_go_with_the_next_page() -> None:
    target, ledger = provisioned(person("1"), person("2"), person("3"))
    early = EarlyPlan(make_spec(from_groups=False, teams=False, delete=False), ledger)
    early.page([person("1")])
    assert early.settled == {}  # the target is not read yet
    early.ready(asyncio.run(target.list_users()), frozenset())
    early.page([person("2")])
    assert sorted(early.settled) == ["1", "2"]
    early.clear()
    assert early.settled == {}


def test_a_spec_with_its_own_mappings_settles_nothing_early() -> None:
    target, ledger = provisioned(person("1"))
    spec = make_spec(from_groups=False, teams=False, delete=False)
    mapped = GoogleProvisioningSpec.model_validate(
        spec.model_dump(by_alias=True, exclude_none=True)
        | {"attributes": {"mappings": [{"target": "title", "source": "organizations.department"}]}}
    )
    early = EarlyPlan(mapped, ledger)
    early.ready(asyncio.run(target.list_users()), frozenset())
    early.page([person("1")])
    assert not early.enabled and early.settled == {}


def test_a_new_person_whose_user_the_plan_adopts_or_hands_over_is_planned_again() -> None:
    target, ledger = provisioned(person("1"))
    # 2's userName is held by a user gwsync did not make (adopted); 3 is a new Google account
    # with the email of 1, deleted from Google (a re-hire: 1's user is handed over); a user
    # already carries 5's id as its externalId (the ledger lost it: it is 5's again).
    target.users["u2"] = UserAttributes("p2@acme.com")
    target.users["u5"] = UserAttributes("p5@acme.com", external_id="5", title="Engineer")
    rehired = Person(id="3", primary_email="p1@acme.com", given_name="Ann", family_name="Lee")
    now = [person("2"), rehired, person("4"), person("5")]
    directory = Directory("C1", "acme.com", {p.id: p for p in now}, {})
    spec = make_spec(from_groups=False, teams=False, delete=False)

    alone, helped, early = plans(directory, spec, ledger, target)

    assert sorted(early.settled) == ["2", "3", "4", "5"]  # each new to the ledger: a create, early
    assert helped == alone
    steps = {s.item.source_id: s for s in helped.users}
    assert steps["4"] is early.settled["4"][1] and steps["4"].item.action is Action.CREATE
    assert [steps[g].item.action for g in ("2", "3", "5")] == [Action.ADOPT, Action.ADOPT, Action.UPDATE]
    assert not any(steps[g] is early.settled[g][1] for g in ("2", "3", "5"))


def test_only_creates_the_plan_cannot_turn_into_anything_else_are_written_during_the_read() -> None:
    target, ledger = provisioned(person("1"))
    # As above: 2 would be adopted, 3 hands 1's user over, 5 is found by externalId; 6 is
    # suspended. 4 and 7 are new: written, each once, even when a page comes again.
    target.users["u2"] = UserAttributes("P2@acme.com")
    target.users["u5"] = UserAttributes("p5@acme.com", external_id="5", title="Engineer")
    rehired = Person(id="3", primary_email="p1@acme.com", given_name="Ann", family_name="Lee")
    suspended = Person(id="6", primary_email="p6@acme.com", suspended=True)
    users = asyncio.run(target.list_users())
    written: list[list[str | None]] = []

    def write(steps: list[UserStep]) -> None:
        written.append([step.item.source_id for step in steps])

    everyone = make_spec(from_groups=False, teams=False, delete=False)
    early = EarlyPlan(everyone, ledger)
    early.ready(users, frozenset(), write)
    early.page([person("1"), person("2"), rehired, person("4"), person("5"), suspended])
    early.page([person("4"), person("7")])
    assert written == [["4"], ["7"]]
    assert all(early.settled[g][1].item.action is Action.CREATE for g in ("2", "3", "4", "6", "7"))

    chosen = EarlyPlan(make_spec(from_groups=True, teams=False, delete=False), ledger)
    chosen.ready(users, frozenset(), write)
    chosen.page([person("8")])  # whether 8 is chosen is known once the groups are read
    assert written == [["4"], ["7"]] and "8" in chosen.settled


def test_a_create_written_during_the_read_is_a_fact_the_plan_takes() -> None:
    target, ledger = provisioned(person("1"))
    spec = make_spec(from_groups=False, teams=False, delete=False)
    users = asyncio.run(target.list_users())
    early = EarlyPlan(spec, ledger)
    handed: list[UserStep] = []
    early.ready(users, frozenset(), handed.extend)
    early.page([person("1"), person("2")])
    [create] = handed
    done = replace(
        create, item=create.item.model_copy(update={"result": Result.SUCCEEDED, "target_id": "t2"})
    )
    early.wrote([done])
    # The Directory holds another read of 2 (a page given twice): the plan still takes the fact.
    directory = Directory("C1", "acme.com", {"1": person("1"), "2": person("2", title="CTO")}, {})

    plan = make_plan(directory, spec, ledger, users, [], settled=early.facts())

    [step] = [s for s in plan.users if s.item.source_id == "2"]
    assert step is done and step.item.result is Result.SUCCEEDED
