"""Adoption, re-hire and team membership compare addresses by ASCII case only (issue 23, point 7).

The target keys people by userName. `str.lower()` folds KELVIN SIGN (U+212A) into k, so a
Google account named \u212aate@ would have adopted, and then renamed and managed, kate@.
"""

import asyncio
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from gwsync.api.report import Action
from gwsync.directory import Directory, Person
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.sync.ports import UserAttributes
from gwsync.testing.memory import MemoryTarget, StaticSource

from .test_plan_properties import make_spec

KATE = "kate@acme.com"


def synced(target: MemoryTarget, email: str, ledger: Ledger | None = None) -> list[tuple[Action, str | None]]:
    """What the sync did: each item's action and target id (a failed create has none)."""
    directory = Directory("C1", "acme.com", {"1": Person(id="1", primary_email=email)}, {})
    spec = make_spec(from_groups=False, teams=False, delete=False)
    outcome = asyncio.run(run_sync(StaticSource(directory), target, spec, ledger or Ledger.empty()))
    return [(item.action, item.target_id) for item in outcome.items]


def test_a_kelvin_sign_address_does_not_adopt_the_target_user_it_lowercases_to() -> None:
    target = MemoryTarget()
    target.users = {"t-kate": UserAttributes(KATE, given_name="Kate")}

    # A new user; this target refuses it (its userNames are unique case-insensitively, K and k).
    assert synced(target, "\u212aate@acme.com") == [(Action.CREATE, None)]
    assert target.users["t-kate"] == UserAttributes(KATE, given_name="Kate")  # untouched, not adopted


def test_a_kelvin_sign_address_does_not_take_over_a_departed_users_account() -> None:
    # kate@ was managed for Google id 0, now deleted from Google: a re-hire would take it over.
    target = MemoryTarget()
    target.users = {"t-kate": UserAttributes(KATE, external_id="0")}
    ledger = Ledger.empty()
    ledger.users["0"] = "t-kate"

    actions = synced(target, "\u212aate@acme.com", ledger)

    assert (Action.ADOPT, "t-kate") not in actions and target.users["t-kate"].external_id == "0"


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_a_target_user_differing_only_in_ascii_case_is_still_adopted(rng: random.Random) -> None:
    spelled = "".join(c.swapcase() if rng.random() < 0.5 else c for c in KATE)
    target = MemoryTarget()
    target.users = {"t-kate": UserAttributes(spelled)}

    actions = synced(target, KATE)

    assert actions[0] == (Action.ADOPT, "t-kate") and target.users["t-kate"].external_id == "1"
