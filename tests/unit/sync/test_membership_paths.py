"""Why is this person in this team? Membership details name the mapped group and the nested path
(issue 14, point 4), on the bundled sample organization (nested groups, a cycle)."""

import asyncio
from dataclasses import replace

from gwsync.api.report import Action, ItemType, ReportItem
from gwsync.directory import Directory, GroupMembers, Person
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import make_plan
from gwsync.testing.memory import MemoryTarget, StaticSource

from .sample_org import sample_directory, sample_spec, without

ENG, EVERYONE, PLATFORM, MOBILE = (
    f"{g}@acme.example" for g in ("engineering", "everyone", "platform", "mobile")
)

LUKASZ, SOREN, KENJI, NOAH = (f"1100000000000000000{n:02d}" for n in (7, 8, 9, 16))


def details(items: list[ReportItem]) -> dict[str, str]:
    return {i.key: i.details for i in items if i.type is ItemType.MEMBERSHIP}


def test_shortest_path_through_nested_groups_and_a_cycle() -> None:
    org = sample_directory()
    assert org.path_to("engineering@acme.example", LUKASZ) == (
        "engineering@acme.example",
        "platform@acme.example",
    )
    assert org.path_to("EVERYONE@acme.example", KENJI) == (
        "everyone@acme.example",
        "engineering@acme.example",
        "mobile@acme.example",
    )
    # platform@ and sre-oncall@ hold each other: the walk ends, both ways.
    assert org.path_to("sre-oncall@acme.example", SOREN) == (
        "sre-oncall@acme.example",
        "platform@acme.example",
    )
    assert org.path_to("platform@acme.example", SOREN) == ("platform@acme.example",)
    assert org.path_to("mobile@acme.example", SOREN) is None
    assert org.path_to("unknown@acme.example", SOREN) is None


def test_a_group_holding_the_whole_organization_and_an_unread_nested_group() -> None:
    ann = Person(id="1", primary_email="ann@acme.com")
    nesting = {
        "all@acme.com": GroupMembers(everyone=True),
        "team@acme.com": GroupMembers(groups=("gone@acme.com", "all@acme.com")),
    }
    org = Directory("C1", "acme.com", {"1": ann}, {"team@acme.com": frozenset({"1"})}, (), nesting)
    assert org.path_to("team@acme.com", "1") == ("team@acme.com", "all@acme.com")
    spec = sample_spec(teams={"enabled": True, "mappings": [{"team": "T", "groups": ["team@acme.com"]}]})
    plan = make_plan(org, spec, Ledger.empty(), [], [])
    assert details(plan.items) == {
        "T/ann@acme.com": (
            "In T through team@acme.com \u2190 all@acme.com (which holds every user of the organization)."
        )
    }


def test_each_added_member_says_which_mapped_group_and_nested_path_brought_it_in() -> None:
    plan = make_plan(sample_directory(), sample_spec(), Ledger.empty(), [], [])
    shown = details(plan.items)
    assert (
        shown["Engineering/chloe.dupont@acme.example"] == "In Engineering through engineering@acme.example."
    )
    assert shown["Engineering/lukasz.wisniewski@acme.example"] == (
        "In Engineering through engineering@acme.example \u2190 platform@acme.example."
    )
    assert shown["Everyone/lukasz.wisniewski@acme.example"] == (
        f"In Everyone through {EVERYONE} \u2190 {ENG} \u2190 {PLATFORM}."
    )
    assert shown["Everyone/kenji.yamada@acme.example"] == (
        f"In Everyone through {EVERYONE} \u2190 {ENG} \u2190 {MOBILE}."
    )
    # Chloé is in engineering@ and leadership@, both in everyone@: the tie goes to the first email.
    assert shown["Everyone/chloe.dupont@acme.example"] == (
        "In Everyone through everyone@acme.example \u2190 engineering@acme.example."
    )
    assert shown["Everyone/dana.kowalski@acme.example"] == "In Everyone through everyone@acme.example."
    assert shown["On-call/soren.svensson@acme.example"] == (
        "In On-call through sre-oncall@acme.example \u2190 platform@acme.example."
    )
    assert "Engineering/noah.smith@acme.example" not in shown  # suspended: not provisioned
    assert len(shown) == 15 + 37 + 2  # every provisioned member of each team, once


def test_a_team_with_several_groups_names_the_shortest_path_and_without_nesting_the_group() -> None:
    mapping = {"team": "R&D", "groups": ["everyone@acme.example", "platform@acme.example"]}
    spec = sample_spec(teams={"enabled": True, "mappings": [mapping]})
    shown = details(make_plan(sample_directory(), spec, Ledger.empty(), [], []).items)
    assert shown["R&D/lukasz.wisniewski@acme.example"] == "In R&D through platform@acme.example."
    # A source that gives no nesting: the mapped group that holds the user, alone.
    flat = replace(sample_directory(), nesting={})
    shown = details(make_plan(flat, spec, Ledger.empty(), [], []).items)
    assert shown["R&D/lukasz.wisniewski@acme.example"] == "In R&D through everyone@acme.example."


def test_a_removal_names_the_group_the_user_left_or_the_users_own_departure() -> None:
    spec = sample_spec()
    target = MemoryTarget()
    org = sample_directory()
    # Łukasz leaves platform@ and sre-oncall@ (so Engineering, Everyone and On-call); Kenji is suspended.
    later = without(without(org, "platform@acme.example", LUKASZ), "sre-oncall@acme.example", LUKASZ)
    kenji = later.people[KENJI]
    later = replace(later, people={**later.people, KENJI: replace(kenji, suspended=True)})

    async def scenario() -> list[ReportItem]:
        first = await run_sync(StaticSource(org), target, spec, Ledger.empty())
        second = await run_sync(StaticSource(later), target, spec, first.ledger)
        return second.items

    items = asyncio.run(scenario())
    removed = {i.key: i.details for i in items if i.action is Action.REMOVE_MEMBER}
    assert removed == {
        "Engineering/lukasz.wisniewski@acme.example": f"No longer in {ENG} (mapped to Engineering).",
        "Everyone/lukasz.wisniewski@acme.example": "No longer in everyone@acme.example (mapped to Everyone).",
        "On-call/lukasz.wisniewski@acme.example": "No longer in sre-oncall@acme.example (mapped to On-call).",
        "Engineering/kenji.yamada@acme.example": (
            "Leaves Engineering with the user (suspended in Google), though still in "
            "engineering@acme.example \u2190 mobile@acme.example."
        ),
        "Everyone/kenji.yamada@acme.example": (
            "Leaves Everyone with the user (suspended in Google), though still in "
            "everyone@acme.example \u2190 engineering@acme.example \u2190 mobile@acme.example."
        ),
    }


def test_several_mapped_groups_are_all_named_when_the_user_left_them() -> None:
    mapping = {
        "team": "Ops",
        "groups": ["platform@acme.example", "sre-oncall@acme.example", "mobile@acme.example"],
    }
    spec = sample_spec(teams={"enabled": True, "mappings": [mapping]})
    org = sample_directory()
    later = without(without(org, "platform@acme.example", LUKASZ), "sre-oncall@acme.example", LUKASZ)
    target = MemoryTarget()

    async def scenario() -> list[ReportItem]:
        first = await run_sync(StaticSource(org), target, spec, Ledger.empty())
        return (await run_sync(StaticSource(later), target, spec, first.ledger)).items

    removed = {i.key: i.details for i in asyncio.run(scenario()) if i.action is Action.REMOVE_MEMBER}
    assert removed == {
        "Ops/lukasz.wisniewski@acme.example": (
            f"No longer in {PLATFORM}, sre-oncall@acme.example or {MOBILE} (mapped to Ops)."
        )
    }
