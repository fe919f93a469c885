"""A target that refuses the token in the middle of a sync (issue 16, bug 5).

The token is revoked after a few writes: a real scim2-server behind a WSGI middleware that
answers every later write with SCIM's 401 error. The sync must stop writing at once, keep the
ledger of what it did write, and say why in its report instead of "failed unexpectedly".
"""

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gwsync.api.report import Action, ItemType, Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.memory import StaticSource
from gwsync.testing.scim import ERROR_SCHEMA, run_scim_server

from .conftest import org, person, spec

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

TEAMS = {"enabled": True, "mappings": [{"team": "Engineering", "groups": ["eng@acme.com"]}]}
REFUSED = (
    "The SCIM token was refused (401); check the Secret named in spec.target.scim.tokenSecretRef "
    "holds a valid bearer token."
)
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class RevokeAfter:
    """Let `allowed` writes through, then answer every write 401 until `revoked` is cleared."""

    allowed: int
    revoked: bool = True
    passed: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, app: "WSGIApplication") -> "WSGIApplication":
        def middleware(environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
            if environ["REQUEST_METHOD"] in WRITES and self.revoked:
                with self.lock:
                    refuse = self.passed >= self.allowed
                    self.refused += refuse
                    self.passed += not refuse
                if refuse:
                    body = {"schemas": [ERROR_SCHEMA], "status": "401", "detail": "Token revoked"}
                    start_response("401 Unauthorized", [("Content-Type", "application/scim+json")])
                    return [json.dumps(body).encode()]
            return app(environ, start_response)

        return middleware


async def test_a_token_refused_mid_sync_stops_every_write_and_reports_what_was_done() -> None:
    people = [person(i) for i in range(20)]
    source = StaticSource(org(people, {"eng@acme.com": people}))
    revoke = RevokeAfter(allowed=5)
    saved: list[Ledger] = []

    async def checkpoint(ledger: Ledger) -> None:
        saved.append(ledger)

    with run_scim_server(wrap=revoke, delay=0.01) as scim:
        async with ScimTarget(scim.url, scim.token, max_concurrency=4, retry_base=0.01) as target:
            outcome = await run_sync(source, target, spec(teams=TEAMS), Ledger.empty(), checkpoint=checkpoint)

            assert outcome.phase == "Failed"
            assert outcome.target_unavailable == REFUSED
            assert outcome.message.startswith(REFUSED + " The sync stopped")
            done = [i for i in outcome.items if i.result is Result.SUCCEEDED]
            assert done and {i.action for i in done} == {Action.CREATE}
            rest = [i for i in outcome.items if i.result is not Result.SUCCEEDED]
            assert len(outcome.items) == 20 + 1 + 20  # users, the team, memberships: all reported
            assert {i.result for i in rest} == {Result.SKIPPED}
            assert all(i.details == f"Not applied: the sync stopped: {REFUSED}" for i in rest)
            assert [i.result for i in outcome.items if i.type is ItemType.TEAM] == [Result.SKIPPED]
            assert outcome.summary.users.created == len(done) and outcome.summary.users.held == 0
            assert f"{len(rest)} items not applied" in outcome.message
            # The siblings were cancelled: only the writes already in flight met the 401.
            assert revoke.refused <= 4
            on_target = {u["externalId"]: u["id"] for u in scim.users()}
            assert scim.groups() == []
            # What was written is in the ledger, and checkpointed.
            assert outcome.ledger.users.items() <= on_target.items()
            assert len(outcome.ledger.users) == len(done)
            assert saved[-1] == outcome.ledger

            # A new token: the next sync finishes the job, without a duplicate.
            revoke.revoked = False
            again = await run_sync(source, target, spec(teams=TEAMS), outcome.ledger)
            assert again.phase == "Succeeded", again.message
            assert again.target_unavailable is None
            assert sorted(u["externalId"] for u in scim.users()) == sorted(p.id for p in people)
            assert len(scim.group_members("Engineering")) == 20


async def test_a_token_refused_while_reading_says_so_and_changes_nothing() -> None:
    with run_scim_server() as scim:
        async with ScimTarget(scim.url, "a-revoked-token", retry_base=0.01) as target:
            outcome = await run_sync(StaticSource(org([person(1)])), target, spec(), Ledger({"1": "x"}))
    assert outcome.phase == "Failed"
    assert outcome.target_unavailable is not None and "401" in outcome.target_unavailable
    assert outcome.message == (
        f"The target could not be read, so nothing was changed: {outcome.target_unavailable}"
    )
    assert outcome.ledger == Ledger({"1": "x"}) and scim.writes == []


async def test_a_token_refused_during_bulk_creates_stops_the_sync_and_nothing_is_created_twice() -> None:
    # With Bulk, apply hands the creates over together (Batching.create_users): the request
    # carrying them meets the 401, the sync stops, and each user is reported not applied.
    people = [person(i) for i in range(12)]
    source = StaticSource(org(people, {"eng@acme.com": people}))
    revoke = RevokeAfter(allowed=1)  # the request creating the team goes through

    with run_scim_server(wrap=revoke, bulk=True) as scim:
        async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
            outcome = await run_sync(source, target, spec(teams=TEAMS), Ledger.empty())
            sent = [(w.method, w.path) for w in scim.writes]

            assert outcome.phase == "Failed"
            assert outcome.message.startswith(REFUSED + " The sync stopped")
            users = [i for i in outcome.items if i.type is ItemType.USER]
            assert len(users) == 12 and {i.result for i in users} == {Result.SKIPPED}
            assert all(i.details == f"Not applied: the sync stopped: {REFUSED}" for i in users)
            assert sent == [("POST", "/v2/Bulk")] * 2 and revoke.refused == 1
            assert outcome.ledger.users == {} and scim.users() == []

            revoke.revoked = False
            again = await run_sync(source, target, spec(teams=TEAMS), outcome.ledger)
            assert again.phase == "Succeeded", again.message
            assert sorted(u["externalId"] for u in scim.users()) == sorted(p.id for p in people)
            assert len(scim.group_members("Engineering")) == 12
