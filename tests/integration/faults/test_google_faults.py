"""The fault matrix, Google side (docs/reliability.md): each row ends with its "nothing lost" check."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from gwsync.testing.faults import Answer, Hang, Reset, Rewrite
from gwsync.testing.org import Org

from .conftest import World, acme, person

USERS = "/admin/directory/v1/users"
MEMBERS = "/members"


def google_error(status: int, reason: str, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "errors": [{"reason": reason, "message": message}]}}


RATE_LIMITED = google_error(403, "userRateLimitExceeded", "User Rate Limit Exceeded")


async def test_google_429_and_5xx_bursts_are_retried_and_the_sync_succeeds(world: World) -> None:
    world.google_proxy.inject(
        Answer(429, google_error(429, "rateLimitExceeded", "Slow down")), path=USERS, times=2
    )
    world.google_proxy.inject(Answer(403, RATE_LIMITED), path=MEMBERS, times=2)
    world.google_proxy.inject(
        Answer(503, google_error(503, "backendError", "Backend Error")), path=MEMBERS, times=1
    )
    world.google_proxy.inject(
        Answer(500, google_error(500, "backendError", "Backend Error")), path="/customers", times=1
    )

    first = await world.sync()

    assert first.phase == "Succeeded", first.message
    assert len(world.google_proxy.injected) == 6
    await world.assert_nothing_lost(first)


async def test_google_429_with_an_http_date_retry_after_waits_until_that_date(world: World) -> None:
    # The same rule as the SCIM side (gwsync.backoff): Retry-After in either form is a floor.
    until = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    world.google_proxy.inject(
        Answer(429, google_error(429, "rateLimitExceeded", "Slow down"), headers=(("Retry-After", until),)),
        path=USERS,
        times=1,
    )

    first = await world.sync()

    assert first.phase == "Succeeded", first.message
    listed = [e for e in world.google_proxy.entries(path=USERS) if e.method == "GET"][:2]
    assert [e.status for e in listed] == [429, 200]
    (gap,) = [later.started - (earlier.ended or 0) for earlier, later in itertools.pairwise(listed)]
    assert 1.0 <= gap < 3.5, gap  # the date is whole seconds; its retry_base is 0.01 s
    await world.assert_nothing_lost(first)


async def test_a_token_endpoint_that_is_down_fails_the_sync_and_writes_nothing(world: World) -> None:
    await world.sync()
    world.google.org = acme(users=9)  # a hire waits for the next sync
    before = world.snapshot()
    world.google_proxy.reset_log()
    down = world.google_proxy.inject(
        Answer(503, {"error": "internal_failure", "error_description": "Backend error"}),
        method="POST",
        path="/token",
        times=None,
    )

    faulted = await world.sync()

    assert faulted.phase == "Failed"
    assert faulted.message.startswith("Google could not be read completely, so nothing was changed: ")
    assert "did not issue an access token" in faulted.message and "Backend error" in faulted.message
    assert down.hits >= 1
    assert world.google_proxy.entries(path=USERS) == []  # no API call without a token
    await world.assert_nothing_lost(faulted, before)


async def test_a_token_endpoint_that_resets_the_connection_is_named(world: World) -> None:
    await world.sync()
    before = world.snapshot()
    world.google_proxy.inject(Reset(), method="POST", path="/token", times=None)

    faulted = await world.sync()

    assert faulted.phase == "Failed"
    assert "Google's token endpoint could not be reached" in faulted.message, faulted.message
    await world.assert_nothing_lost(faulted, before)


def big_team() -> Org:
    """eng@ lists 200 guests from outside the organization besides its people, so its member
    list comes in two pages (members.list gives at most 200); guests are no one to sync."""
    org = acme()
    for group in org.groups:
        if group.email.startswith("eng@"):
            group.members += [f"guest{n}@partner.example" for n in range(200)]
    return org


async def test_a_page_that_fails_mid_read_fails_the_sync_and_nobody_leaves_a_team(world: World) -> None:
    world.google.org = big_team()
    await world.sync()
    org = big_team()
    org.users.append(person(9))  # a hire and a leaver wait for a complete read
    org.users = [u for u in org.users if u.primary_email != "user8@acme.example"]
    for group in org.groups:
        group.members = [m for m in group.members if m != "user8@acme.example"]
    world.google.org = org
    before = world.snapshot()
    page_two = world.google_proxy.inject(
        Answer(500, google_error(500, "backendError", "Backend Error")),
        path=MEMBERS,
        query="pageToken",
        times=None,
    )

    faulted = await world.sync()

    assert faulted.phase == "Failed"
    assert "Reading members of eng@acme.example (page 2) failed after 4 attempts: HTTP 500" in faulted.message
    assert page_two.hits == 4  # bounded retries, then the whole read is dropped
    await world.assert_nothing_lost(faulted, before)


async def test_a_next_page_token_that_loops_is_detected_and_nothing_is_removed(world: World) -> None:
    await world.sync()
    world.google.org = acme(users=6)  # two people left: a truncated read must not remove them early
    before = world.snapshot()
    world.google_proxy.reset_log()
    first_page: dict[str, Any] = {}

    def loop(page: Any) -> Any:
        return first_page.setdefault("page", {**page, "nextPageToken": "same-token-again"})

    world.google_proxy.inject(Rewrite(loop, status=200), path=USERS, times=None)

    faulted = await world.sync()

    assert faulted.phase == "Failed"
    assert "Google returned a page token it had already returned" in faulted.message
    assert len(world.google_proxy.entries(path=USERS)) == 2  # detected at once, not read forever
    await world.assert_nothing_lost(faulted, before)


async def test_a_hanging_google_is_bounded_by_timeout_times_attempts(world: World) -> None:
    await world.sync()
    before = world.snapshot()
    hang = world.google_proxy.inject(Hang(), path=USERS, times=None)

    faulted = await world.sync(google={"timeout": 0.5, "max_attempts": 3})

    assert faulted.phase == "Failed"
    assert "could not be reached (timed out)" in faulted.message, faulted.message
    assert hang.hits == 3
    assert 1.5 <= world.seconds < 3.5  # 3 attempts x 0.5 s, plus back-off
    await world.assert_nothing_lost(faulted, before)
