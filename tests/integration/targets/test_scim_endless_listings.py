"""Every listing of the target ends (issue 23, point 2), whatever the target answers.

A hostile or broken target (gwsync.testing.endless_scim) keeps its /Users listing going: a
cursor that cycles A, B, A, B..., a new cursor on every page of the same users, or startIndex
pages that always bring new users. Before the fix gwsync read such a listing until the
operator ran out of memory (20,000 requests in 25 s; 515 MB in 30 s); now each ends with a
failed read, one sentence naming the target and what happened, after a bounded number of
requests. Each test gives the listing 20 s, so a listing that does not end fails the test
instead of hanging it.
"""

import asyncio

import pytest

from gwsync.api.provisioning import ListLimits
from gwsync.sync.ports import TargetError, TargetUser
from gwsync.targets.scim import ScimTarget
from gwsync.testing.endless_scim import EndlessScim, run_endless_scim

LISTING_DEADLINE = 20.0


async def failed_listing(scim: EndlessScim, limits: ListLimits | None = None) -> tuple[str, int]:
    """The failure of listing the target's users, and the list requests it took."""
    async with ScimTarget(scim.url, scim.token, list_limits=limits) as target:
        await target.check()
        before = scim.list_requests
        with pytest.raises(TargetError) as failure:
            async with asyncio.timeout(LISTING_DEADLINE):
                users: list[TargetUser] = await target.list_users()
                raise AssertionError(f"the listing ended with {len(users)} users")
    return str(failure.value), scim.list_requests - before


async def test_a_cursor_that_comes_back_ends_the_listing_with_a_failed_read() -> None:
    with run_endless_scim("cursor-cycle") as scim:  # nextCursor: A, B, A, B...
        message, requests = await failed_listing(scim)
    assert message == (
        f"The SCIM target {scim.url} answered /Users page 3 with a nextCursor it had already given in "
        "this listing, so the listing would never end; gwsync stopped reading it."
    )
    assert requests == 3


async def test_a_page_of_users_already_read_with_a_next_cursor_ends_the_listing() -> None:
    with run_endless_scim("cursor-same-ids") as scim:  # a new cursor every time, the same users
        message, requests = await failed_listing(scim)
    assert message == (
        f"The SCIM target {scim.url} answered /Users page 2 with only users already read, yet with a "
        "nextCursor for more, so the listing would never end; gwsync stopped reading it."
    )
    assert requests == 2


async def test_pages_that_always_bring_new_users_stop_at_max_resources() -> None:
    with run_endless_scim("new-ids", page_size=100) as scim:
        message, requests = await failed_listing(scim, ListLimits(max_resources=1000))
    assert message == (
        f"The SCIM target {scim.url} listed more than 1000 users at /Users, the most gwsync reads in "
        "one listing; if it really holds that many, raise spec.target.scim.listLimits.maxResources."
    )
    assert requests == 11  # the page that would hold user 1001 is the last one asked


async def test_pages_claiming_a_huge_total_stop_at_max_pages_even_when_asked_ahead() -> None:
    # totalResults=10^9 makes gwsync ask pages ahead, maxConcurrency at a time.
    with run_endless_scim("new-ids", page_size=100, total=10**9) as scim:
        message, requests = await failed_listing(scim, ListLimits(max_pages=5))
    assert message == (
        f"The SCIM target {scim.url} needed more than 5 pages to list /Users, the most gwsync reads "
        "in one listing; if it really pages that finely, raise spec.target.scim.listLimits.maxPages."
    )
    assert requests <= 5 + 8  # the pages taken, and at most maxConcurrency asked ahead


async def test_users_padded_with_huge_values_stop_at_the_text_budget() -> None:
    # 20 users of 10,000 characters each pass maxResources=1000; their text does not.
    with run_endless_scim("new-ids", page_size=20, padding=10_000) as scim:
        message, requests = await failed_listing(scim, ListLimits(max_resources=1000))
    assert message == (
        f"The SCIM target {scim.url} listed users at /Users carrying more than 256000 characters, the "
        "most gwsync keeps from one listing (256 a resource on average); if they really carry that "
        "much, raise spec.target.scim.listLimits.maxResources."
    )
    assert requests == 2  # 200,000 characters, then 400,000
