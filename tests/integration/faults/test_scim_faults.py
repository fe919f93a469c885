"""The fault matrix, SCIM side (docs/reliability.md): each row ends with its "nothing lost" check."""

from __future__ import annotations

import itertools
from typing import Any

from gwsync.api.report import Result
from gwsync.testing.faults import Answer, Entry, Hang, Reset, Rewrite, Trickle

from .conftest import World, acme

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def scim_error(status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        error["scimType"] = scim_type
    return error


def failed(outcome: Any) -> dict[str, str]:
    return {i.key: i.details for i in outcome.items if i.result is Result.FAILED}


def pauses(attempts: list[Entry]) -> list[float]:
    """Seconds between the end of each attempt and the start of the next."""
    return [later.started - (earlier.ended or 0) for earlier, later in itertools.pairwise(attempts)]


def creates_of(world: World, email: str) -> list[Entry]:
    return [
        e for e in world.scim_proxy.entries(path="/Users") if e.method == "POST" and email.encode() in e.body
    ]


async def test_scim_429_with_retry_after_waits_as_asked(world: World) -> None:
    limited = world.scim_proxy.inject(
        Answer(429, scim_error(429, "Too many requests"), headers=(("Retry-After", "1"),)),
        method="POST",
        body="user1@",
        times=2,
    )

    first = await world.sync()

    assert first.phase == "Succeeded", first.message
    assert limited.hits == 2
    attempts = creates_of(world, "user1@")
    assert [e.status for e in attempts] == [429, 429, 201]
    gaps = pauses(attempts)
    assert all(1.0 <= gap < 2.5 for gap in gaps), gaps  # Retry-After is a floor (plus jitter, and load)
    await world.assert_nothing_lost(first)


async def test_scim_429_without_retry_after_backs_off_exponentially(world: World) -> None:
    world.scim_proxy.inject(Answer(429, scim_error(429, "Slow down")), method="POST", body="user1@", times=3)
    world.scim_proxy.inject(Answer(429, scim_error(429, "Slow down")), method="GET", path="/Groups", times=2)

    first = await world.sync(target={"retry_base": 0.2})

    assert first.phase == "Succeeded", first.message
    attempts = creates_of(world, "user1@")
    assert [e.status for e in attempts] == [429, 429, 429, 201]
    gaps = pauses(attempts)
    for n, gap in enumerate(gaps):  # base x 2^n, jittered by x0.5 to x1 (gwsync.backoff), plus load
        assert 0.2 * 2**n * 0.5 <= gap < 0.2 * 2**n * 1.5 + 0.5, gaps
    await world.assert_nothing_lost(first)


async def test_scim_5xx_bursts_are_retried_or_failed_alone_and_named(world: World) -> None:
    world.scim_proxy.inject(
        Answer(503, scim_error(503, "Unavailable")), method="POST", body="user2@", times=2
    )
    world.scim_proxy.inject(
        Answer(500, scim_error(500, "Database is down")), method="POST", body="user3@", times=None
    )
    world.scim_proxy.inject(Answer(503, scim_error(503, "Unavailable")), method="GET", path="/Users", times=2)
    world.scim_proxy.inject(
        Answer(502, b"<html>Bad Gateway</html>", content_type="text/html"), method="PATCH", times=1
    )

    faulted = await world.sync()

    assert faulted.phase == "PartiallySucceeded"
    problems = failed(faulted)
    assert problems.pop("user3@acme.example") == (
        "Target refused creating user3@acme.example: 500: Database is down"
    )
    # one PATCH carries a team's additions: each member it names fails with it, and says why
    assert set(problems) == {f"Engineering/user{n}@acme.example" for n in (2, 4, 6, 8)}
    assert set(problems.values()) == {
        "Target failed while adding team members: The server answered 502 without a SCIM error"
    }
    assert len(creates_of(world, "user2@")) == 3  # two 503s, looked up each time, then created once
    await world.assert_nothing_lost(faulted)


async def test_a_connection_reset_mid_write_neither_duplicates_nor_loses_a_user(world: World) -> None:
    world.scim_proxy.inject(Reset(applied=True), method="POST", body="user1@")  # created, then reset
    world.scim_proxy.inject(Reset(), method="POST", body="user2@")  # reset before it arrives
    world.scim_proxy.inject(Reset(applied=True), method="PATCH", path="/Groups")  # members added, then reset

    faulted = await world.sync()

    assert faulted.phase == "PartiallySucceeded"
    assert "gwsync found the created object instead of creating it twice: user1@acme.example (no answer)" in (
        faulted.message
    )
    problems = failed(faulted)
    assert problems["user2@acme.example"].startswith("Target failed while creating user2@acme.example: ")
    assert len(world.scim.users()) == 1 + 9 - 1  # the stranger, everyone but user2, user1 once
    await world.assert_nothing_lost(faulted)


async def test_a_create_that_times_out_after_the_server_applied_it_is_not_duplicated(world: World) -> None:
    late = world.scim_proxy.inject(Hang(applied=True), method="POST", body="user1@")

    faulted = await world.sync(target={"timeout": 2.0})  # enough for the POST to arrive on a busy machine

    assert late.hits == 1
    assert faulted.phase == "Succeeded", faulted.message
    assert "user1@acme.example (no answer)" in faulted.message
    assert len(creates_of(world, "user1@")) == 1  # the lookup found it: no second POST
    assert [u["userName"] for u in world.scim.users()].count("user1@acme.example") == 1
    await world.assert_nothing_lost(faulted)


async def test_malformed_or_wrong_typed_json_fails_cleanly_and_is_named(world: World) -> None:
    world.scim_proxy.inject(Answer(201, b'{"id": "half', applied=True), method="POST", body="user1@")

    first = await world.sync()

    assert first.phase == "PartiallySucceeded"
    assert failed(first) == {
        "user1@acme.example": "Target failed while creating user1@acme.example: "
        "it answered 201 without a SCIM resource"
    }
    await world.assert_nothing_lost(first)  # user1 was made: found by externalId, not made twice

    world.google.org = acme(users=7)  # a leaver
    before = world.snapshot()

    def wrong_type(page: Any) -> Any:
        page["Resources"][0]["active"] = "maybe"
        return page

    world.scim_proxy.inject(Rewrite(wrong_type), method="GET", path="/Users", query="startIndex=1&count=500")

    faulted = await world.sync()

    assert faulted.phase == "Failed"
    assert faulted.message == (
        "The target could not be read, so nothing was changed: "
        "The target's answer is not SCIM: User.active is a str, not a boolean."
    )
    await world.assert_nothing_lost(faulted, before)


async def test_a_200_with_an_error_body_is_a_failure_not_a_success(world: World) -> None:
    world.scim_proxy.inject(
        Answer(200, scim_error(409, "userName is taken", "uniqueness")), method="POST", body="user1@"
    )

    faulted = await world.sync()

    assert faulted.phase == "PartiallySucceeded"
    assert failed(faulted) == {
        "user1@acme.example": "Target refused creating user1@acme.example: 409 uniqueness: userName is taken"
    }
    await world.assert_nothing_lost(faulted)

    before = world.snapshot()
    world.google.org = acme(users=7)
    world.scim_proxy.inject(Answer(200, scim_error(500, "Listing failed")), method="GET", path="/Groups")

    faulted = await world.sync()

    assert faulted.phase == "Failed"
    assert faulted.message == (
        "The target could not be read, so nothing was changed: "
        "Target refused listing /Groups: 500: Listing failed"
    )
    await world.assert_nothing_lost(faulted, before)


async def test_a_hanging_target_is_bounded_by_the_request_timeout(world: World) -> None:
    await world.sync()
    world.google.org = acme(users=12)  # four hires to create
    world.scim_proxy.inject(Hang(), method="POST", path="/Users", times=None)

    faulted = await world.sync(target={"timeout": 0.5, "max_concurrency": 8})

    assert faulted.phase == "PartiallySucceeded"
    assert set(failed(faulted)) == {f"user{n}@acme.example" for n in range(9, 13)}
    assert all("the request timed out" in d for d in failed(faulted).values())
    assert 0.5 <= world.seconds < 4.0  # four creates hung at once: one timeout, then lookups
    await world.assert_nothing_lost(faulted)


async def test_a_target_that_hangs_on_everything_fails_the_sync_within_one_timeout(world: World) -> None:
    await world.sync()
    before = world.snapshot()
    world.scim_proxy.inject(Hang(), times=None)

    faulted = await world.sync(target={"timeout": 0.5})

    assert faulted.phase == "Failed"
    assert "cannot be reached: the request timed out" in faulted.message, faulted.message
    assert world.seconds < 3.0  # one timeout (0.5 s), not one per retry: under load, with margin
    await world.assert_nothing_lost(faulted, before)


async def test_an_answer_that_trickles_in_is_bounded_too(world: World) -> None:
    await world.sync()
    before = world.snapshot()
    world.scim_proxy.inject(Trickle(0.1), method="GET", path="/Users", times=None)

    faulted = await world.sync(target={"timeout": 0.5})

    assert faulted.phase == "Failed"
    assert world.seconds < 3.0, world.seconds  # before the fix: 57 s, each byte within the read timeout
    await world.assert_nothing_lost(faulted, before)
