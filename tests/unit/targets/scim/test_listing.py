"""How a startIndex listing of a SCIM target ends (targets.scim.listing.Paging): page after
page, what is kept, when it stops, the notes the report gets and the reads that fail."""

from typing import Any

import pytest

from gwsync.api.provisioning import ListLimits
from gwsync.sync.ports import TargetError
from gwsync.targets.scim.listing import ListingBounds, Paging

URL = "https://scim.example/v2"


def listing(limits: ListLimits | None = None) -> Paging[str]:
    """A listing of /Users that keeps each user's userName."""
    bounds = ListingBounds(URL, "/Users", "users", limits or ListLimits())
    return Paging("/Users", "users", lambda resource: str(resource["userName"]), bounds)


def page(ids: range | list[int], total: int | None = None) -> dict[str, Any]:
    """A ListResponse with users u<i> (userName i@acme.com), and totalResults when given."""
    answer: dict[str, Any] = {"Resources": [{"id": f"u{i}", "userName": f"{i}@acme.com"} for i in ids]}
    if total is not None:
        answer["totalResults"] = total
    return answer


def read(paging: Paging[str], *answers: dict[str, Any]) -> list[bool]:
    """Give the listing its answers in order; what `take` said after each."""
    return [paging.take(answer) for answer in answers]


@pytest.mark.parametrize(
    ("answers", "goes_on", "starts"),
    [
        ([page([])], [False], 1),
        ([page(range(3), 5), page(range(3, 5), 5)], [True, False], 4),
        ([page(range(3)), page(range(3, 6)), page([])], [True, True, False], 7),
        # a first page shorter than asked proves nothing: the server may cap count silently
        ([page(range(2), 5), page(range(2, 4), 5), page([4], 5)], [True, True, False], 5),
        # a short page while totalResults counts more: one more page settles it
        ([page(range(3), 9), page(range(3, 5), 9), page([], 9)], [True, True, False], 6),
    ],
    ids=["empty", "short-last-page", "empty-last-page", "capped-first-page", "short-but-counted-more"],
)
def test_a_listing_ends_on_an_empty_page_or_a_short_one_once_all_are_read(
    answers: list[dict[str, Any]], goes_on: list[bool], starts: int
) -> None:
    paging = listing()
    assert read(paging, *answers) == goes_on
    assert paging.start == starts
    ids = [r["id"] for answer in answers for r in answer["Resources"]]
    assert paging.found == {uid: f"{uid[1:]}@acme.com" for uid in ids}


def test_a_total_that_disagrees_with_what_was_read_is_noted() -> None:
    paging = listing()
    read(paging, page(range(3), 3), page(range(3, 4), 3))
    assert paging.notes() == [
        "The target reported totalResults=3 for /Users but 4 users were read; gwsync used all 4."
    ]


def test_a_listing_that_agrees_with_its_total_has_no_note() -> None:
    paging = listing()
    read(paging, page(range(3), 4), page([3], 4))
    assert paging.notes() == []


def test_a_target_ignoring_start_index_without_a_total_ends_with_a_note() -> None:
    paging = listing()
    assert read(paging, page(range(3)), page(range(3))) == [True, False]
    assert list(paging.found) == ["u0", "u1", "u2"]
    assert paging.notes() == [
        "The target answered /Users page 2 (startIndex=4) with users already read, so it ignores "
        "startIndex; gwsync stopped after 3 users and the list may be incomplete."
    ]


def test_a_repeated_page_after_everything_counted_was_read_ends_the_list() -> None:
    paging = listing()
    assert read(paging, page(range(3), 3), page(range(3), 3)) == [True, False]
    assert paging.notes() == []


def test_a_target_ignoring_start_index_while_counting_more_fails_the_read() -> None:
    paging = listing()
    paging.take(page(range(3), 10))
    with pytest.raises(TargetError) as failed:
        paging.take(page(range(3), 10))
    assert str(failed.value) == (
        f"The SCIM target {URL} answered /Users page 2 (startIndex=4) with only users already read, "
        "though it counts 10 and 3 were read: it ignores startIndex, so its list cannot be read completely."
    )


def test_a_listing_of_more_pages_than_allowed_fails_the_read() -> None:
    paging = listing(ListLimits(max_pages=2))
    paging.take(page(range(2)))
    with pytest.raises(TargetError) as failed:
        paging.take(page(range(2, 4)))
    assert str(failed.value) == (
        f"The SCIM target {URL} needed more than 2 pages to list /Users, the most gwsync reads in one "
        "listing; if it really pages that finely, raise spec.target.scim.listLimits.maxPages."
    )


def test_a_listing_of_more_users_than_allowed_fails_the_read() -> None:
    paging = listing(ListLimits(max_resources=4))
    paging.take(page(range(3)))
    with pytest.raises(TargetError) as failed:
        paging.take(page(range(3, 6)))
    assert str(failed.value) == (
        f"The SCIM target {URL} listed more than 4 users at /Users, the most gwsync reads in one "
        "listing; if it really holds that many, raise spec.target.scim.listLimits.maxResources."
    )


@pytest.mark.parametrize(
    ("first", "asked", "ahead"),
    [
        (page(range(100), 250), 100, [101, 201]),
        (page(range(100), 200), 100, [101, 201]),  # and the empty page after a full last one
        (page(range(100), 100), 100, [101]),
        (page(range(50), 250), 100, []),  # the server caps count: pages are read one by one
        (page(range(100)), 100, []),  # no totalResults to go by
    ],
    ids=["250-by-100", "200-by-100", "one-page", "capped", "no-total"],
)
def test_pages_asked_ahead_are_those_the_total_implies(
    first: dict[str, Any], asked: int, ahead: list[int]
) -> None:
    paging = listing()
    paging.take(first)
    assert list(paging.starts_ahead(asked)) == ahead
