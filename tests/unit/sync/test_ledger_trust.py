"""A ledger of unknown origin is acted on only where the target confirms it (issue 23, point 1).

The planner's own defence, apart from signatures: an entry of an unverified ledger renames,
updates or deprovisions a target user only when that user carries the entry's Google id as
externalId; its teams and pending removals are not used. A verified ledger is trusted whole.
"""

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gwsync.api.report import Action
from gwsync.directory import Directory, Person
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import make_plan
from gwsync.sync.ports import TargetGroup, TargetUser, UserAttributes
from gwsync.testing.memory import MemoryTarget, StaticSource

from .test_plan_properties import GROUPS, make_spec

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
NEW_HIRE = Person(id="9", primary_email="mallory@acme.com", given_name="Mallory")
STAYS = Person(id="1", primary_email="ann@acme.com", given_name="Ann")


def target() -> MemoryTarget:
    """A break-glass admin and a vendor account made by hand (no externalId), and Ann's user,
    and a departed person's user that gwsync wrote (externalId 7, no longer in Google)."""
    memory = MemoryTarget()
    memory.users = {
        "admin": UserAttributes("break-glass@acme.com", given_name="Break"),
        "vendor": UserAttributes("vendor@partner.com"),
        "ann": UserAttributes("ann@acme.com", external_id="1", given_name="Ann"),
        "left": UserAttributes("left@acme.com", external_id="7"),
    }
    memory.groups = {"admins": TargetGroup("admins", "Administrators", frozenset({"admin"}))}
    return memory


def planted(verified: bool) -> Ledger:
    """The new hire's Google id on the break-glass admin, a gone Google id on the vendor, a team
    on the administrators' group, and the departed user's real entry."""
    users = {"9": "admin", "8": "vendor", "1": "ann", "7": "left"}
    return Ledger(users, {"T": "admins"}, {"8": "2020-01-01T00:00:00+00:00"}, verified=verified)


def outcome_of(ledger: Ledger) -> tuple[MemoryTarget, dict[str, tuple[Action, str | None]]]:
    memory = target()
    directory = Directory(
        "C1", "acme.com", {p.id: p for p in (NEW_HIRE, STAYS)}, {GROUPS[0]: frozenset({"1"})}
    )
    spec = make_spec(from_groups=False, teams=True, delete=False)
    outcome = asyncio.run(run_sync(StaticSource(directory), memory, spec, ledger))
    return memory, {item.key: (item.action, item.target_id) for item in outcome.items}


def test_an_unverified_entry_never_renames_or_deactivates_a_user_gwsync_did_not_write() -> None:
    memory, items = outcome_of(planted(verified=False))

    assert memory.users["admin"].user_name == "break-glass@acme.com"  # not renamed to the new hire
    assert memory.users["vendor"].active is True  # not deprovisioned for a Google id gone
    assert items["mallory@acme.com"][0] is Action.CREATE and items["mallory@acme.com"][1] != "admin"
    assert items["T"] == (Action.CREATE, items["T"][1])  # the team's group is found by name, not taken
    assert memory.groups["admins"].members == frozenset({"admin"})
    # Where the target confirms the entry (externalId 7 on "left"), it is acted on.
    assert items["left@acme.com"] == (Action.DEPROVISION, "left") and memory.users["left"].active is False


def test_a_verified_ledger_is_trusted_whole() -> None:
    memory, items = outcome_of(planted(verified=True))

    assert items["mallory@acme.com"] == (Action.RENAME, "admin")
    assert memory.users["admin"].user_name == "mallory@acme.com"
    assert items["vendor@partner.com"] == (Action.DEPROVISION, "vendor")


def test_an_unverified_ledger_keeps_no_grace_period_and_its_result_is_verified() -> None:
    spec = make_spec(from_groups=False, teams=False, delete=False, grace="72h")
    memory = target()
    directory = Directory("C1", "acme.com", {STAYS.id: STAYS}, {})
    users = [TargetUser(tid, attrs) for tid, attrs in memory.users.items()]
    ledger = Ledger({"7": "left"}, {}, {"7": (NOW - timedelta(days=30)).isoformat()}, verified=False)

    plan = make_plan(directory, spec, ledger, users, [], now=NOW)

    [removal] = plan.removals
    assert removal.item.action is Action.PENDING_REMOVAL  # the period starts again: now
    assert plan.pending == {"7": "2026-12-04T12:00:00Z"}
    saved = asyncio.run(run_sync(StaticSource(directory), memory, spec, ledger)).ledger
    assert saved.verified and saved.users == {"1": "ann", "7": "left"} and saved.teams == {}


target_ids = st.sampled_from(["admin", "vendor", "ann", "left"])


@settings(max_examples=60, deadline=None)
@given(entries=st.dictionaries(st.sampled_from(["1", "7", "8", "9"]), target_ids, max_size=4))
def test_any_unverified_ledger_writes_only_users_carrying_the_google_id(entries: dict[str, str]) -> None:
    memory = target()
    directory = Directory("C1", "acme.com", {p.id: p for p in (NEW_HIRE, STAYS)}, {})
    users = [TargetUser(tid, attrs) for tid, attrs in memory.users.items()]
    spec = make_spec(from_groups=False, teams=False, delete=False)

    plan = make_plan(directory, spec, Ledger(entries, verified=False), users, [], now=NOW)

    for step in [*plan.users, *plan.removals]:
        if step.target_id is not None and step.item.action is not Action.UNCHANGED:
            assert memory.users[step.target_id].external_id == step.item.source_id, step.item
