"""Into a Bulk target, new users are created while Google is still read (issue 12, sync.early).

Shown with the emulators' own view, not with timings: a gate in front of the Google emulator
holds the third users page until the SCIM server has received a Bulk request (at most WAIT
seconds). Written only after the read, the creates would never come while the page is held.
"""

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from gwsync.api.report import Action, Result
from gwsync.sources.google import GoogleDirectory
from gwsync.sync.engine import SyncOutcome, run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.google import Fault, GoogleEmulator, running_google_emulator
from gwsync.testing.lightscim import LightScim, ScimRefusal
from gwsync.testing.memory import StaticSource
from gwsync.testing.org import Org, OrgCustomer, OrgUser
from gwsync.testing.threads import serving_in_thread

from .conftest import org, person, spec

WAIT = 10.0
ADMIN = "admin@acme.com"
PEOPLE = 1200  # three users pages of 500
REQUEST = 500  # the server's maxOperations: a page's creates fill one request


class WatchedScim(LightScim):
    """The light server, saying when the first Bulk request arrives; `refusing` answers
    each Bulk request 401, as a revoked token would be."""

    def __init__(self, **options: Any) -> None:
        super().__init__("test-scim-token", **options)
        self.bulk_arrived = threading.Event()
        self.refusing = False

    async def _bulk(self, request: web.Request) -> web.Response:
        self.bulk_arrived.set()
        if self.refusing:
            raise ScimRefusal(401, "The bearer token is not valid")
        return await super()._bulk(request)


@dataclass
class Gate:
    """Holds the third users page until the SCIM server has a Bulk request (or WAIT passed)."""

    scim: WatchedScim
    pages: int = 0
    met: list[bool] = field(default_factory=list)

    @web.middleware
    async def google(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.endswith("/users"):
            self.pages += 1
            if self.pages == 3:
                self.met.append(await asyncio.to_thread(self.scim.bulk_arrived.wait, WAIT))
        return await handler(request)


def company() -> Org:
    users = [OrgUser(id="100", primary_email=ADMIN, given_name="Ada", family_name="Admin")]
    users += [
        OrgUser(id=f"2{i:05d}", primary_email=f"user{i}@acme.com", given_name=f"G{i}", family_name=f"F{i}")
        for i in range(1, PEOPLE)
    ]
    return Org(customer=OrgCustomer(primary_domain="acme.com"), admins=[ADMIN], users=users)


@pytest.fixture
def scim() -> Iterator[WatchedScim]:
    server = WatchedScim(bulk_max_operations=REQUEST)
    with serving_in_thread(server.serving, "watched-scim"):
        yield server


@pytest.fixture
def gate(scim: WatchedScim) -> Gate:
    return Gate(scim)


@pytest.fixture
def google(gate: Gate) -> Iterator[GoogleEmulator]:
    with serving_in_thread(
        lambda: running_google_emulator(company(), middlewares=[gate.google]), "gated-google"
    ) as emulator:
        yield emulator


async def sync(google: GoogleEmulator, scim: LightScim, ledger: Ledger) -> SyncOutcome:
    reader = GoogleDirectory.from_service_account_key(
        google.service_account_key(),
        admin_email=ADMIN,
        api_endpoint=google.url,
        retry_base=0.01,
        max_attempts=2,
    )
    async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
        return await run_sync(reader, target, spec(), ledger)


def stored(scim: LightScim) -> dict[str, str]:
    return {u["userName"]: u["id"] for u in scim.users.resources.values()}


async def test_new_users_are_created_while_google_is_still_read(
    gate: Gate, google: GoogleEmulator, scim: WatchedScim
) -> None:
    outcome = await sync(google, scim, Ledger.empty())

    assert outcome.phase == "Succeeded", outcome.message
    assert gate.met == [True]  # a Bulk request came while the third page was held
    # Two full requests during the read, the last page's 200 with apply: ceil(1,200 / 500).
    assert scim.bulk_operations == [REQUEST, REQUEST, 200]
    assert {(i.action, i.result) for i in outcome.items} == {(Action.CREATE, Result.SUCCEEDED)}
    assert {i.key: i.target_id for i in outcome.items} == stored(scim)  # each create's own id
    assert sorted(outcome.ledger.users.values()) == sorted(stored(scim).values())
    assert outcome.summary.users.created == PEOPLE
    assert outcome.message == f"{PEOPLE} users created (0 users unchanged)."

    scim.reset_log()
    again = await sync(google, scim, outcome.ledger)
    assert again.phase == "Succeeded" and again.summary.users.unchanged == PEOPLE
    assert [entry for entry in scim.log if entry.write] == []


async def test_a_read_failing_after_creates_keeps_them_and_removes_nobody(
    gate: Gate, google: GoogleEmulator, scim: WatchedScim
) -> None:
    google.faults = [Fault(503, api="users", page=2)]  # the third page, every attempt
    gone = scim.seed_user({"userName": "left@acme.com", "externalId": "999", "active": True})
    ledger = Ledger({"999": gone}, {})

    outcome = await sync(google, scim, ledger)

    assert outcome.phase == "Failed"
    assert outcome.message == (
        "Google could not be read completely, so nothing was removed "
        f"({2 * REQUEST} users created while it was read are kept): "
        "Reading users (page 3) failed after 2 attempts: HTTP 503 backendError: Backend Error."
    )
    assert scim.bulk_operations == [REQUEST, REQUEST]
    created = stored(scim)
    assert len(outcome.items) == 2 * REQUEST and outcome.summary.users.created == 2 * REQUEST
    assert {i.key: i.target_id for i in outcome.items} == {
        n: i for n, i in created.items() if n != "left@acme.com"
    }
    # The ledger keeps what it had and what was created; the one who left is still active.
    assert outcome.ledger.users == {
        "999": gone,
        **{i.source_id or "": i.target_id or "" for i in outcome.items},
    }
    assert scim.users.resources[gone]["active"] is True

    google.faults = []  # Google answers again: the rest is created once, the leaver deactivated
    scim.reset_log()
    again = await sync(google, scim, outcome.ledger)
    assert again.phase == "Succeeded", again.message
    assert again.summary.users.created == PEOPLE - 2 * REQUEST
    assert again.summary.users.unchanged == 2 * REQUEST and again.summary.users.deprovisioned == 1
    assert len(scim.users.resources) == PEOPLE + 1  # nobody twice
    assert scim.users.resources[gone]["active"] is False


async def test_a_token_refused_during_the_read_stops_the_sync_before_anything_is_created(
    scim: WatchedScim,
) -> None:
    people = [person(i) for i in range(2 * REQUEST)]
    scim.refusing = True

    async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
        outcome = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())

    assert outcome.phase == "Failed"
    assert outcome.target_unavailable is not None and "(401)" in outcome.target_unavailable
    assert outcome.message.startswith(outcome.target_unavailable + " The sync stopped")
    assert {(i.action, i.result) for i in outcome.items} == {(Action.CREATE, Result.SKIPPED)}
    assert outcome.ledger.users == {} and scim.users.resources == {}

    scim.refusing = False
    async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
        again = await run_sync(StaticSource(org(people)), target, spec(), outcome.ledger)
    assert again.phase == "Succeeded", again.message
    assert len(scim.users.resources) == 2 * REQUEST


async def test_after_a_refusal_no_request_waiting_for_its_turn_is_sent(scim: WatchedScim) -> None:
    # One request at a time: the second Bulk request of the read, and the second of apply,
    # wait for the first, which meets a 401. Each waiting one is withdrawn, never sent.
    people = [person(i) for i in range(2 * REQUEST)]
    scim.refusing = True

    async with ScimTarget(scim.url, scim.token, max_concurrency=1, retry_base=0.01) as target:
        outcome = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())

    assert [entry.status for entry in scim.log if entry.path.endswith("/Bulk")] == [401, 401]
    assert outcome.phase == "Failed"
    assert {(i.action, i.result) for i in outcome.items} == {(Action.CREATE, Result.SKIPPED)}
    assert scim.users.resources == {}
