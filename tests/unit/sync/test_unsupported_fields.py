"""Attributes a target does not store are not compared, and its write notes reach the message."""

import asyncio
from typing import Any

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action
from gwsync.directory import Directory, Person
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import changed_fields
from gwsync.sync.ports import UserAttributes
from gwsync.testing.memory import MemoryTarget, StaticSource


def spec() -> GoogleProvisioningSpec:
    document: dict[str, Any] = {
        "google": {"adminEmail": "admin@acme.com", "credentialsSecretRef": {"name": "g", "key": "k"}},
        "target": {"scim": {"url": "http://127.0.0.1/v2", "tokenSecretRef": {"name": "s", "key": "t"}}},
    }
    return GoogleProvisioningSpec.model_validate(document)


ANN = Person(id="1", primary_email="ann@acme.com", given_name="Ann", family_name="Lee", title="CTO")
ORG = Directory("C1", "acme.com", {ANN.id: ANN}, {})


def test_changed_fields_skips_what_the_target_does_not_store() -> None:
    desired = UserAttributes(user_name="a@acme.com", title="CTO", photo="https://p/x.jpg#etag=1")
    current = UserAttributes(user_name="a@acme.com")
    assert [c.field for c in changed_fields(desired, current)] == ["title", "photos"]
    assert [c.field for c in changed_fields(desired, current, frozenset({"photos"}))] == ["title"]


def test_a_second_sync_on_a_target_dropping_title_writes_nothing_and_says_why() -> None:
    note = "The target (generic) does not support title; gwsync does not send it."
    target = MemoryTarget(unsupported_fields=frozenset({"title"}), write_notes=[note])

    async def scenario() -> None:
        first = await run_sync(StaticSource(ORG), target, spec(), Ledger.empty())
        assert first.message.endswith(note), first.message
        assert next(iter(target.users.values())).title is None  # really dropped
        writes = target.writes
        second = await run_sync(StaticSource(ORG), target, spec(), first.ledger)
        assert [i.action for i in second.items] == [Action.UNCHANGED]
        assert target.writes == writes
        assert second.message.count(note) == 1, second.message

    asyncio.run(scenario())
