"""Membership details name the nested path, through the engine and scim2-server, and
`gwsync report show --search` (its ItemFilter) finds an item by a group of that path."""

from tests.unit.sync.sample_org import sample_directory, sample_spec

from gwsync.api.report import Action, ItemType, Result
from gwsync.cli.reports import ItemFilter
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.memory import StaticSource
from gwsync.testing.scim import ScimServer


async def test_the_sample_orgs_nested_groups_are_explained_in_the_report(
    scim: ScimServer, target: ScimTarget
) -> None:
    outcome = await run_sync(StaticSource(sample_directory()), target, sample_spec(), Ledger.empty())

    assert outcome.phase == "Succeeded", outcome.message
    members = [i for i in outcome.items if i.type is ItemType.MEMBERSHIP]
    assert {(i.action, i.result) for i in members} == {(Action.ADD_MEMBER, Result.SUCCEEDED)}
    assert "lukasz.wisniewski@acme.example" in scim.group_members("Everyone")
    found = list(ItemFilter(search="mobile@acme.example").apply(outcome.items))
    assert [(i.key, i.details) for i in found] == [
        (
            "Engineering/eleni.papadopoulou@acme.example",
            "In Engineering through engineering@acme.example \u2190 mobile@acme.example.",
        ),
        (
            "Engineering/kenji.yamada@acme.example",
            "In Engineering through engineering@acme.example \u2190 mobile@acme.example.",
        ),
        (
            "Everyone/eleni.papadopoulou@acme.example",
            "In Everyone through everyone@acme.example \u2190 engineering@acme.example "
            "\u2190 mobile@acme.example.",
        ),
        (
            "Everyone/kenji.yamada@acme.example",
            "In Everyone through everyone@acme.example \u2190 engineering@acme.example "
            "\u2190 mobile@acme.example.",
        ),
    ]
