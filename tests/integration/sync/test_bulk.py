"""SCIM Bulk (RFC 7644 §3.7) where the target advertises it: the engine's writes go many to a
request, within maxOperations and maxPayloadSize; each write keeps its own result in the
report; a user created in the sync joins its team in the request that creates it (bulkId); a
target refusing Bulk is written one request per change, with a note; spec.target.scim.bulk
false sends no Bulk request. The servers are lightscim (limits and refusals set per test) and
scim2-server, the third-party one, for the bulkId references."""

import math
from dataclasses import replace

from gwsync.api.report import ItemType, Result
from gwsync.controller.syncing import target_for
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.lightscim import LightScim, run_light_scim
from gwsync.testing.memory import StaticSource
from gwsync.testing.scim import Fault, run_scim_server

from .conftest import members, org, person, spec

TEAMS = {"enabled": True, "mappings": [{"team": "Engineering", "groups": ["eng@acme.com"]}]}


def writes(scim: LightScim) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in scim.log if r.write]


async def test_creates_go_in_bulk_requests_of_at_most_max_operations() -> None:
    people = [person(i) for i in range(12)]
    with run_light_scim(bulk_max_operations=5) as scim:
        async with ScimTarget(scim.url, scim.token) as target:
            outcome = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())
            sent, operations = writes(scim), list(scim.bulk_operations)
            scim.reset_log()
            again = await run_sync(StaticSource(org(people)), target, spec(), outcome.ledger)

    assert outcome.phase == "Succeeded", outcome.message
    assert all(i.result is Result.SUCCEEDED for i in outcome.items)
    assert sorted(operations) == [2, 5, 5]  # ceil(12 / 5) requests, full but one (sent together)
    assert sent == [("POST", "/v2/Bulk", 200)] * math.ceil(len(people) / 5)
    assert writes(scim) == []  # the second sync has nothing to write
    stored = {u["userName"]: u["id"] for u in scim.users.resources.values()}
    assert {i.key: i.target_id for i in outcome.items} == stored  # each create's own id
    assert again.phase == "Succeeded" and len(again.items) == 12


async def test_one_operation_refused_fails_its_item_alone_with_the_servers_sentence() -> None:
    people = [person(i) for i in range(6)]
    refused = {"user3@acme.com": "userName user3@acme.com is reserved by the tenant"}
    with run_light_scim(bulk_max_operations=10, refused_names=refused) as scim:
        async with ScimTarget(scim.url, scim.token) as target:
            outcome = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())

    assert scim.bulk_operations == [6]  # one request for all six
    assert [(m, p) for m, p, _ in writes(scim)] == [("POST", "/v2/Bulk")]
    results = {i.key: (i.result, i.details) for i in outcome.items}
    assert results.pop("user3@acme.com") == (
        Result.FAILED,
        "Target refused creating user3@acme.com: 400 invalidValue: "
        "userName user3@acme.com is reserved by the tenant",
    )
    assert {result for result, _ in results.values()} == {Result.SUCCEEDED}
    assert sorted(u["userName"] for u in scim.users.resources.values()) == sorted(results)
    assert outcome.phase == "PartiallySucceeded"


async def test_new_users_join_their_team_in_the_request_that_creates_them() -> None:
    people = [person(i) for i in range(6)]
    with run_light_scim(bulk_max_operations=50) as scim:
        async with ScimTarget(scim.url, scim.token) as target:
            outcome = await run_sync(
                StaticSource(org(people, {"eng@acme.com": people[:4]})),
                target,
                spec(teams=TEAMS),
                Ledger.empty(),
            )

    assert outcome.phase == "Succeeded", outcome.message
    assert all(i.result is Result.SUCCEEDED for i in outcome.items)
    # The team first, then six creates and four PATCHes adding them (by bulkId) in one request.
    assert scim.bulk_operations == [1, 10]
    assert [(m, p) for m, p, _ in writes(scim)] == [("POST", "/v2/Bulk")] * 2
    assert members(scim) == {f"user{i}@acme.com" for i in range(4)}
    added = {i.key: i.target_id for i in outcome.items if i.type is ItemType.MEMBERSHIP}
    stored = {u["userName"]: u["id"] for u in scim.users.resources.values()}
    assert sorted(added.values()) == sorted(stored[f"user{i}@acme.com"] for i in range(4))


async def test_bulk_ids_against_scim2_server() -> None:
    people = [person(i) for i in range(5)]
    with run_scim_server(bulk=True) as scim:
        async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
            outcome = await run_sync(
                StaticSource(org(people, {"eng@acme.com": people[1:4]})),
                target,
                spec(teams=TEAMS),
                Ledger.empty(),
            )

            team = scim.group_members("Engineering")
            stored = sorted(u["userName"] for u in scim.users())

    assert outcome.phase == "Succeeded", outcome.message
    assert [(w.method, w.path) for w in scim.writes] == [("POST", "/v2/Bulk")] * 2  # team; users + members
    assert team == {f"user{i}@acme.com" for i in range(1, 4)}
    assert stored == [f"user{i}@acme.com" for i in range(5)]


async def test_requests_stay_within_max_payload_size() -> None:
    people = [person(i) for i in range(10)]
    with run_light_scim(bulk_max_operations=100, bulk_max_payload=2500) as scim:
        async with ScimTarget(scim.url, scim.token) as target:
            outcome = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())

    assert outcome.phase == "Succeeded", outcome.message
    assert len(scim.bulk_operations) > 1 and sum(scim.bulk_operations) == 10
    assert {status for _, _, status in writes(scim)} == {200}  # never a 413
    assert len(scim.users.resources) == 10


async def test_a_refused_bulk_falls_back_to_single_requests_with_a_note() -> None:
    people = [person(i) for i in range(4)]
    with run_light_scim(bulk_max_operations=10, refuse_bulk=501) as scim:
        async with ScimTarget(scim.url, scim.token) as target:
            outcome = await run_sync(
                StaticSource(org(people, {"eng@acme.com": people[:2]})),
                target,
                spec(teams=TEAMS),
                Ledger.empty(),
            )

    assert outcome.phase == "Succeeded", outcome.message
    assert all(i.result is Result.SUCCEEDED for i in outcome.items)
    sent = writes(scim)
    assert sent[0] == ("POST", "/v2/Bulk", 501)  # the team's request: refused, then never again
    assert [w for w in sent if w[1] == "/v2/Bulk"] == [sent[0]]
    group = next(iter(scim.groups.resources))
    # Each write alone: the team, four users, and each new member's addition.
    assert sorted(sent[1:]) == sorted(
        [
            ("POST", "/v2/Groups", 201),
            *[("POST", "/v2/Users", 201)] * 4,
            *[("PATCH", f"/v2/Groups/{group}", 200)] * 2,
        ]
    )
    assert members(scim) == {"user0@acme.com", "user1@acme.com"}
    assert (
        "The target advertises SCIM Bulk but refused a Bulk request (it answered 501: Bulk is not available "
        "for this tenant); gwsync sent each write as a request of its own for the rest of the sync."
    ) in outcome.message


async def test_a_bulk_refused_by_scim2_server_falls_back_too() -> None:
    people = [person(i) for i in range(3)]
    with run_scim_server(faults=[Fault(403, method="POST", path="/Bulk", times=None)], bulk=True) as scim:
        async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
            outcome = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())

    assert outcome.phase == "Succeeded", outcome.message
    assert [(w.method, w.path) for w in scim.writes] == [("POST", "/v2/Bulk")] + [("POST", "/v2/Users")] * 3
    assert "refused a Bulk request (it answered 403" in outcome.message


async def test_spec_bulk_false_sends_no_bulk_request() -> None:
    people = [person(i) for i in range(3)]
    with run_light_scim(bulk_max_operations=10) as scim:
        scim_spec = {"url": scim.url, "tokenSecretRef": {"name": "s", "key": "t"}, "bulk": False}
        off = spec(target={"scim": scim_spec})
        async with target_for(off, scim.token, None) as target:  # as the controller builds it
            outcome = await run_sync(StaticSource(org(people)), target, off, Ledger.empty())

    assert outcome.phase == "Succeeded", outcome.message
    assert [(m, p) for m, p, _ in writes(scim)] == [("POST", "/v2/Users")] * 3
    assert scim.bulk_operations == []


async def test_updates_deactivations_and_member_removals_go_in_bulk_too() -> None:
    people = [person(i) for i in range(5)]
    with run_light_scim(bulk_max_operations=20) as scim:
        async with ScimTarget(scim.url, scim.token) as target:
            first = await run_sync(
                StaticSource(org(people, {"eng@acme.com": people[:3]})),
                target,
                spec(teams=TEAMS),
                Ledger.empty(),
            )
            scim.reset_log()
            promoted = replace(people[1], title="Staff Engineer")
            after = [people[0], promoted, people[2], people[3]]  # user4 left, user2 left the team
            second = await run_sync(
                StaticSource(org(after, {"eng@acme.com": [people[0], promoted]})),
                target,
                spec(teams=TEAMS),
                first.ledger,
            )

    assert second.phase == "Succeeded", second.message
    changed = [i for i in second.items if i.result is Result.SUCCEEDED and i.data_changed]
    assert len(changed) == 3  # the update, the member removal, the deactivation
    # One Bulk request per step of apply, each waiting for the one before: the update, the
    # member removal, the deactivation.
    assert scim.bulk_operations == [1, 1, 1]
    assert {(m, p) for m, p, _ in writes(scim)} == {("POST", "/v2/Bulk")}
    stored = {u["userName"]: u for u in scim.users.resources.values()}
    assert stored["user1@acme.com"]["title"] == "Staff Engineer"
    assert stored["user4@acme.com"]["active"] is False
    assert members(scim) == {"user0@acme.com", "user1@acme.com"}


async def test_a_503_after_the_target_applied_a_bulk_is_not_sent_twice() -> None:
    # A gateway's 503 after the target did the work: the creates fail their items (nothing is
    # sent again blindly), and the next sync finds the users by their externalId.
    people = [person(i) for i in range(3)]
    throttled_then_lost = [
        Fault(429, method="POST", path="/Bulk", retry_after="0"),
        Fault(503, method="POST", path="/Bulk", applied=True),
    ]
    with run_scim_server(faults=throttled_then_lost, bulk=True) as scim:
        async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
            first = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())
            second = await run_sync(StaticSource(org(people)), target, spec(), first.ledger)
            stored = sorted(u["userName"] for u in scim.users())
            sent = [(w.method, w.path, w.status) for w in scim.writes]

    assert {i.result for i in first.items} == {Result.FAILED}
    assert sent[:2] == [("POST", "/v2/Bulk", 429), ("POST", "/v2/Bulk", 503)]  # 429 again, 503 not
    assert second.phase == "Succeeded", second.message
    assert stored == [f"user{i}@acme.com" for i in range(3)]  # no duplicate
    assert len(sent) == 2  # the second sync took the users as its own: nothing to write
