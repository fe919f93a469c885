"""The choice between target users carrying one Google id, with plain values (issue 16, bug 3)."""

import asyncio

from gwsync.api.report import Action, Result
from gwsync.directory import Directory, Person
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.sync.ports import UserAttributes
from gwsync.testing.memory import MemoryTarget, StaticSource

from .test_plan_properties import make_spec


def test_without_the_current_email_the_most_recently_modified_copy_is_renamed() -> None:
    # The person was renamed in Google to p9@; neither copy has that name yet.
    target = MemoryTarget()
    target.users = {
        "a": UserAttributes("p1@acme.com", external_id="1"),
        "b": UserAttributes("p1.old@acme.com", external_id="1"),
    }
    target.modified = {"a": "2024-01-01T00:00:00Z", "b": "2025-06-01T12:00:00+00:00"}
    directory = Directory("C1", "acme.com", {"1": Person(id="1", primary_email="p9@acme.com")}, {})
    spec = make_spec(from_groups=False, teams=False, delete=False)

    outcome = asyncio.run(run_sync(StaticSource(directory), target, spec, Ledger.empty()))

    [item] = outcome.items
    assert (item.action, item.result, item.target_id) == (Action.RENAME, Result.SUCCEEDED, "b")
    assert "Duplicate: target user p1@acme.com (id a) carries the same externalId" in item.details
    assert target.users["b"].user_name == "p9@acme.com" and target.users["a"].user_name == "p1@acme.com"
    assert outcome.ledger.users == {"1": "b"}
