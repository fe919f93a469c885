"""The planner with spec.attributes: managers ordered before their reports, cycles cut once,
undeclared extensions said and left out (pure, with plain values and the in-memory target)."""

import asyncio
from typing import Any

from gwsync.api.attributes import DEFAULT_MAPPINGS
from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action
from gwsync.directory import Directory, Person
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import desired_attributes, make_plan
from gwsync.testing.memory import MemoryTarget, StaticSource

MANAGER = {"mappings": [{"target": "manager", "source": "relations[type=manager].value"}]}
BADGE = "urn:example:acme:User:badge"


def spec(attributes: dict[str, Any]) -> GoogleProvisioningSpec:
    return GoogleProvisioningSpec.model_validate(
        {
            "google": {"adminEmail": "admin@acme.com", "credentialsSecretRef": {"name": "g", "key": "k"}},
            "target": {"scim": {"url": "https://scim.io/v2", "tokenSecretRef": {"name": "s", "key": "t"}}},
            "attributes": attributes,
        }
    )


def person(name: str, manager: str | None = None, extra: dict[str, str] | None = None) -> Person:
    values = {"relations[type=manager].value": f"{manager}@acme.com"} if manager else {}
    return Person(f"id-{name}", f"{name}@acme.com", given_name=name, extra={**values, **(extra or {})})


def org(*people: Person) -> Directory:
    return Directory("C1", "acme.com", {p.id: p for p in people})


def waves(directory: Directory, ledger: Ledger | None = None) -> dict[str, int]:
    plan = make_plan(directory, spec(attributes=MANAGER), ledger or Ledger.empty(), [], [])
    return {step.item.key.split("@")[0]: step.wave for step in plan.users}


def test_a_hierarchy_is_created_level_by_level() -> None:
    hierarchy = org(person("ceo"), person("vp", "ceo"), person("eng", "vp"), person("ops", "ceo"))
    assert waves(hierarchy) == {"ceo": 0, "eng": 2, "ops": 1, "vp": 1}


def test_a_cycle_is_cut_once_and_an_outsider_has_no_wave_to_wait_for() -> None:
    cycle = org(person("a", "b"), person("b", "c"), person("c", "a"), person("d", "nobody"))
    assert waves(cycle) == {"a": 2, "b": 1, "c": 0, "d": 0}


def test_apply_sets_the_cut_managers_last_and_a_rerun_writes_nothing() -> None:
    cycle = org(person("a", "b"), person("b", "a"))
    target = MemoryTarget()
    first = asyncio.run(run_sync(StaticSource(cycle), target, spec(attributes=MANAGER), Ledger.empty()))
    ids = first.ledger.users
    assert {u.user_name: u.value("manager") for u in target.users.values()} == {
        "a@acme.com": ids["id-b"],
        "b@acme.com": ids["id-a"],
    }
    assert target.writes == 3  # two creates, one manager set after its manager existed
    second = asyncio.run(run_sync(StaticSource(cycle), target, spec(attributes=MANAGER), first.ledger))
    assert {item.action for item in second.items} == {Action.UNCHANGED} and target.writes == 3


def test_an_extension_the_target_does_not_declare_is_left_out_with_a_note() -> None:
    people = org(person("a", extra={"customSchemas.HR.badge": "B-1"}))
    attributes = {"mappings": [{"target": BADGE, "source": "customSchemas.HR.badge"}]}
    plan = make_plan(people, spec(attributes=attributes), Ledger.empty(), [], [], extensions={})
    assert plan.notes == [
        "The target does not declare the extension schema urn:example:acme:User for Users; gwsync does "
        f"not send {BADGE} (spec.attributes)."
    ]
    assert plan.users[0].desired is not None and plan.users[0].desired.value(BADGE) is None
    declared = {"urn:example:acme:User": frozenset({"badge"})}
    plan = make_plan(people, spec(attributes=attributes), Ledger.empty(), [], [], extensions=declared)
    assert plan.notes == []
    assert plan.users[0].desired is not None and plan.users[0].desired.value(BADGE) == "B-1"


def test_the_default_mapping_spelled_out_is_the_general_mapping_of_the_defaults() -> None:
    jane = Person(
        "id-jane", "jane@acme.com", "Jane", "Doe", "", title="Eng", department="R&D", employee_type="Staff"
    )
    nameless = Person("id-x", "x@acme.com")
    for someone in (jane, nameless):
        general = desired_attributes(someone, tuple(list(DEFAULT_MAPPINGS)))  # not the tuple itself
        assert desired_attributes(someone) == general
