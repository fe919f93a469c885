"""The engine reads Google and the target at the same time, and the target's users and groups
at the same time (issue 12); a failing Google read still writes nothing.

Shown with the emulators' own view, not with timings: a gate in front of each emulator holds
a listing at a barrier until the other side's listing is there too (at most WAIT seconds), so
both were in flight at once. Read one after the other, the first would wait out WAIT alone.
"""

import asyncio
import threading
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from gwsync.sources.google import GoogleDirectory
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.google import Fault, GoogleEmulator, running_google_emulator
from gwsync.testing.org import Org, OrgCustomer, OrgUser
from gwsync.testing.scim import ScimServer, run_scim_server
from gwsync.testing.threads import serving_in_thread

from .conftest import spec

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

WAIT = 10.0  # seconds a held request waits for the other side at most
ADMIN = "admin@acme.com"


Pair = tuple[str, str]


@dataclass
class Gate:
    """Rendezvous between requests: a pair meets when both are in flight at once.

    The first Google users page and the first listing of the target's /Users meet at one
    barrier; that /Users listing and the first /Groups listing at another. A request waits at
    most WAIT seconds at a barrier; one that never meets breaks it (the pair did not overlap).
    """

    barriers: dict[Pair, threading.Barrier] = field(
        default_factory=lambda: {
            ("google", "Users"): threading.Barrier(2, timeout=WAIT),
            ("Users", "Groups"): threading.Barrier(2, timeout=WAIT),
        }
    )
    lock: threading.Lock = field(default_factory=threading.Lock)
    joined: set[tuple[Pair, str]] = field(default_factory=set)
    met: dict[Pair, bool] = field(default_factory=dict)

    def meet(self, name: str) -> None:
        for pair, barrier in self.barriers.items():
            with self.lock:
                if name not in pair or (pair, name) in self.joined:
                    continue
                self.joined.add((pair, name))
            try:
                barrier.wait()
                together = True
            except threading.BrokenBarrierError:
                together = False
            with self.lock:
                self.met.setdefault(pair, together)

    @web.middleware
    async def google(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not request.path.endswith("/users"):
            return await handler(request)
        await asyncio.to_thread(self.meet, "google")
        return await handler(request)

    def scim(self, app: "WSGIApplication") -> "WSGIApplication":
        def gated(environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
            name = environ.get("PATH_INFO", "").rsplit("/", 1)[-1]
            query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            listing = environ["REQUEST_METHOD"] == "GET" and name in ("Users", "Groups")
            if not listing or query.get("count") == ["1"]:  # the token check is no listing
                return app(environ, start_response)
            self.meet(name)
            return app(environ, start_response)

        return gated


def acme() -> Org:
    users = [OrgUser(id="100", primary_email=ADMIN, given_name="Ada", family_name="Admin")]
    users += [
        OrgUser(id=f"10{i}", primary_email=f"user{i}@acme.com", given_name=f"G{i}", family_name=f"F{i}")
        for i in range(1, 4)
    ]
    return Org(customer=OrgCustomer(primary_domain="acme.com"), admins=[ADMIN], users=users)


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def google(gate: Gate) -> Iterator[GoogleEmulator]:
    with serving_in_thread(
        lambda: running_google_emulator(acme(), middlewares=[gate.google]), "gated-google"
    ) as emulator:
        yield emulator


@pytest.fixture
def scim(gate: Gate) -> Iterator[ScimServer]:
    with run_scim_server(wrap=gate.scim) as server:
        yield server


def reader(emulator: GoogleEmulator) -> GoogleDirectory:
    return GoogleDirectory.from_service_account_key(
        emulator.service_account_key(),
        admin_email=ADMIN,
        api_endpoint=emulator.url,
        retry_base=0.01,
        max_attempts=2,
    )


async def sync(google: GoogleEmulator, scim: ScimServer, ledger: Ledger) -> Any:
    async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
        return await run_sync(reader(google), target, spec(), ledger)


async def test_google_and_the_target_are_read_at_once_and_users_with_groups(
    gate: Gate, google: GoogleEmulator, scim: ScimServer
) -> None:
    outcome = await sync(google, scim, Ledger.empty())

    assert outcome.phase == "Succeeded", outcome.message
    assert {u["userName"] for u in scim.users()} == {
        ADMIN,
        "user1@acme.com",
        "user2@acme.com",
        "user3@acme.com",
    }
    # Google's users page and the target's users listing were in flight at once, and the
    # target's users and groups listings too.
    assert gate.met == {("google", "Users"): True, ("Users", "Groups"): True}


async def test_a_failing_google_read_writes_nothing_though_the_target_was_being_read(
    gate: Gate, google: GoogleEmulator, scim: ScimServer
) -> None:
    google.faults = [Fault(503, api="users")]
    kept = scim.seed_user("user9@acme.com", externalId="109", active=True)
    ledger = Ledger({"109": kept}, {})
    scim.reset_log()

    outcome = await sync(google, scim, ledger)

    assert outcome.phase == "Failed"
    assert outcome.message.startswith("Google could not be read completely, so nothing was changed: ")
    assert outcome.ledger is ledger and outcome.items == []
    assert gate.met[("google", "Users")]  # the target was being read when Google failed
    assert scim.writes == []
    assert [(u["userName"], u["active"]) for u in scim.users()] == [("user9@acme.com", True)]
