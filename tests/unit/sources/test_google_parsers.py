"""The Directory API answers as gwsync reads them, whatever the server at apiEndpoint sends.

Each parser either returns what a well-formed page means or raises `Malformed` naming the first
thing wrong; never another exception, which would crash the sync instead of failing it cleanly.
"""

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gwsync.directory import Person
from gwsync.sources.google import Malformed, Member, customer_of, groups_page, members_page, users_page

Parser = Callable[[Mapping[str, Any]], Any]
PARSERS: dict[str, Parser] = {
    "users": users_page,
    "members": members_page,
    "groups": groups_page,
    "customer": customer_of,
}
CONTROL = [chr(c) for c in (*range(0x20), 0x7F, 0x9B)]

# JSON as a hostile server may send it: every type, control characters, long strings, nesting.
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(st.characters(), max_size=40)
json_values = st.recursive(
    scalars | st.sampled_from(["\x1b[2J", "\x1b]8;;https://evil.example\x07", "x" * 100_000]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
USER_KEYS = ["id", "primaryEmail", "name", "suspended", "archived", "organizations", "thumbnailPhotoUrl",
             "thumbnailPhotoEtag"]  # fmt: skip
NAME_KEYS = ["givenName", "familyName", "fullName"]
ORG_KEYS = ["title", "department", "description", "primary"]


def near(keys: list[str], nested: dict[str, st.SearchStrategy[Any]] | None = None) -> st.SearchStrategy[Any]:
    """Objects with the resource's own keys, each holding anything (most fuzz is near the shape)."""
    values = {key: (nested or {}).get(key, json_values) for key in keys}
    return st.fixed_dictionaries({}, optional=values)


users = near(
    USER_KEYS,
    {
        "name": near(NAME_KEYS) | json_values,
        "organizations": st.lists(near(ORG_KEYS) | json_values, max_size=3) | json_values,
    },
)
members = near(
    ["id", "email", "type"], {"type": st.sampled_from(["USER", "GROUP", "CUSTOMER"]) | json_values}
)
groups = near(["email", "name", "directMembersCount"])
PAGES: dict[str, st.SearchStrategy[Any]] = {
    "users": near(["users", "nextPageToken"], {"users": st.lists(users, max_size=4) | json_values}),
    "members": near(["members", "nextPageToken"], {"members": st.lists(members, max_size=4) | json_values}),
    "groups": near(["groups", "nextPageToken"], {"groups": st.lists(groups, max_size=4) | json_values}),
    "customer": near(["id", "customerDomain"]),
}


def assert_clear(problem: Malformed) -> None:
    """One short, printable phrase that names a place in the answer, never the hostile value."""
    text = str(problem)
    assert text and len(text) < 200, text
    assert not any(char in text for char in CONTROL), repr(text)
    assert " is " in text, text


@pytest.mark.parametrize("api", sorted(PARSERS))
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_answer_parses_or_is_named_as_malformed(api: str, data: st.DataObject) -> None:
    page = data.draw(PAGES[api] | st.dictionaries(st.text(max_size=8), json_values, max_size=3), label="page")
    try:
        parsed = PARSERS[api](page)
    except Malformed as problem:
        assert_clear(problem)
        return
    if api == "customer":
        assert all(isinstance(part, str) for part in parsed) and parsed[0]
        return
    items, token = parsed
    assert token is None or (isinstance(token, str) and token)
    kind = {"users": Person, "members": Member, "groups": object}[api]
    assert all(isinstance(item, kind) for item in items)
    if api == "users":
        assert all(person.id and person.primary_email for person in items)
        assert all(isinstance(person.suspended, bool) for person in items)


@settings(max_examples=100, deadline=None)
@given(
    name=st.text(st.characters(), min_size=1, max_size=60),
    email=st.text(st.characters(), min_size=1, max_size=60),
)
def test_names_with_any_characters_are_kept_as_sent(name: str, email: str) -> None:
    """Control characters in a name are data for the target; showing them is the CLI's job."""
    [person], token = users_page({"users": [{"id": "1", "primaryEmail": email, "name": {"fullName": name}}]})
    assert (person.primary_email, person.full_name, token) == (email, name, None)


@pytest.mark.parametrize(
    ("api", "page", "message"),
    [
        ("users", {"users": {"id": "1"}}, "users is an object, not a list"),
        ("users", {"users": ["jane@acme.example"]}, "users[0] is a string, not an object"),
        ("users", {"users": [{"primaryEmail": "jane@acme.example"}]}, "users[0].id is missing"),
        (
            "users",
            {"users": [{"id": 1, "primaryEmail": "j@a.example"}]},
            "users[0].id is a number, not a string",
        ),
        (
            "users",
            {"users": [{"id": "1", "primaryEmail": ["j@a.example"]}]},
            "users[0].primaryEmail is a list, not a string",
        ),
        (
            "users",
            {"users": [{"id": "1", "primaryEmail": "j@a.example", "suspended": "false"}]},
            "users[0].suspended is a string, not true or false",
        ),
        (
            "users",
            {"users": [{"id": "1", "primaryEmail": "j@a.example", "name": "Jane"}]},
            "users[0].name is a string, not an object",
        ),
        (
            "users",
            {"users": [{"id": "1", "primaryEmail": "j@a.example", "organizations": [{"title": {"x": 1}}]}]},
            "users[0].organizations[0].title is an object, not a string",
        ),
        ("users", {"nextPageToken": 2}, "the page.nextPageToken is a number, not a string"),
        ("members", {"members": [{"type": "GROUP", "id": "9"}]}, "members[0].email is missing"),
        ("members", {"members": [{"email": "a@b.example"}]}, "members[0].type is missing"),
        (
            "groups",
            {"groups": [{"email": "g@a.example", "directMembersCount": "many"}]},
            "groups[0].directMembersCount is a string, not a count",
        ),
        ("customer", {"customerDomain": "acme.example"}, "the customer.id is missing"),
    ],
)
def test_the_first_thing_wrong_is_named(api: str, page: dict[str, Any], message: str) -> None:
    with pytest.raises(Malformed) as caught:
        PARSERS[api](page)
    assert str(caught.value) == message


def test_a_well_formed_users_page_is_read_whole() -> None:
    page = {
        "users": [
            {
                "id": "104857600000000000001",
                "primaryEmail": "jane@acme.example",
                "name": {"givenName": "Jane", "familyName": "Doe", "fullName": "Jane Doe"},
                "suspended": False,
                "organizations": [
                    {"title": "Ops"},
                    {"title": "Engineer", "department": "R&D", "primary": True, "description": "Contractor"},
                ],
                "thumbnailPhotoUrl": "https://photos.example/jane",
                "thumbnailPhotoEtag": "e1",
            }
        ],
        "nextPageToken": "p2",
    }
    [jane], token = users_page(page)
    assert token == "p2"
    assert jane == Person(
        id="104857600000000000001",
        primary_email="jane@acme.example",
        given_name="Jane",
        family_name="Doe",
        full_name="Jane Doe",
        title="Engineer",
        department="R&D",
        employee_type="Contractor",
        photo_url="https://photos.example/jane",
        photo_etag="e1",
    )


def test_group_counts_arrive_as_strings_and_are_read_as_numbers() -> None:
    [group], _ = groups_page(
        {"groups": [{"email": "Eng@Acme.example", "name": "Eng", "directMembersCount": "12"}]}
    )
    assert (group.email, group.name, group.members) == ("eng@acme.example", "Eng", 12)
