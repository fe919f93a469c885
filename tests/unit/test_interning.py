"""Values people share are kept once per read, on both sides (gwsync.interning, issue 25).

A process-wide table (the SCIM side's COMMON_VALUES before) kept the values of every read
the operator made, and once full after the first big organization it shared nothing again.
"""

import json

from gwsync.interning import Interner
from gwsync.sources.google import Common, users_page
from gwsync.targets.scim import COMMON_LIMIT, user_reader


def decoded(value: str) -> str:
    """`value` as a JSON decoder gives it: a new string object each time."""
    return str(json.loads(json.dumps(value)))


def scim_user(number: int, title: str) -> dict[str, object]:
    return {"id": f"u{number}", "userName": f"user{number}@acme.example", "title": decoded(title)}


def google_page(titles: list[str]) -> dict[str, object]:
    users = [
        {"id": str(n), "primaryEmail": f"user{n}@acme.example", "organizations": [{"title": decoded(t)}]}
        for n, t in enumerate(titles)
    ]
    return {"users": users}


def test_a_scim_listing_keeps_each_shared_value_once_and_the_next_listing_its_own() -> None:
    first = user_reader()
    one, two = first(scim_user(1, "Engineer")), first(scim_user(2, "Engineer"))
    assert one.attributes.title is two.attributes.title
    again = user_reader()(scim_user(3, "Engineer"))
    assert again.attributes.title == "Engineer" and again.attributes.title is not one.attributes.title


def test_a_scim_listing_after_one_of_more_distinct_values_than_the_limit_still_shares() -> None:
    big = user_reader()
    for number in range(COMMON_LIMIT + 10):
        big(scim_user(number, f"Title {number}"))
    second = user_reader()
    one, two = second(scim_user(1, "Designer")), second(scim_user(2, "Designer"))
    assert one.attributes.title is two.attributes.title


def test_a_google_read_keeps_each_shared_value_once_and_the_next_read_its_own() -> None:
    (one, two), _ = users_page(google_page(["Engineer", "Engineer"]), common=Common())
    assert one.title is two.title
    (again,), _ = users_page(google_page(["Engineer"]), common=Common())
    assert again.title == "Engineer" and again.title is not one.title


def test_a_google_read_after_one_of_more_distinct_values_than_the_limit_still_shares() -> None:
    first = Common(limit=50)
    users_page(google_page([f"Title {n}" for n in range(60)]), common=first)
    assert len(first.values) == 50  # the limit bounds what one read holds
    (one, two), _ = users_page(google_page(["Engineer", "Engineer"]), common=Common(limit=50))
    assert one.title is two.title


def test_past_its_limit_an_interner_passes_values_through_unshared() -> None:
    interner = Interner(1)
    kept = interner(decoded("Engineer"))
    assert interner(decoded("Engineer")) is kept
    late = decoded("Designer")
    assert interner(late) is late and interner(decoded("Designer")) is not late
    assert interner(None) is None and list(interner.values) == ["Engineer"]
