"""What gwsync reads from a SCIM target, whatever the target answers (hypothesis fuzz).

A broken or compromised target can answer with wrong types, missing keys, deep nesting, huge
or hostile strings. Reading an answer must give a well-typed value or a `TargetError` (which
the sync records on the item and retries next run); any other exception aborts the sync.
"""

from typing import Any

import httpx
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from gwsync.sync.ports import TargetError, TargetGroup, TargetUser
from gwsync.targets.scim import ERROR_SCHEMA, answer, group_of, pick, refusal, user_of

CONTROL = [chr(c) for c in (*range(0x20), 0x7F, 0x9B)]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# Answers can hold 100 kB strings: no shrinking (it takes seconds), and one bug reported at a time.
FAST = settings(deadline=None, report_multiple_bugs=False, phases=[Phase.explicit, Phase.generate])

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars | st.sampled_from(["\x1b[2J\x1b]8;;https://evil.example\x07", "w" * 100_000]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=12,
)
multi_valued = st.lists(
    st.fixed_dictionaries({}, optional={"value": json_values, "type": json_values, "primary": json_values})
    | json_values,
    max_size=3,
)
users = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(min_size=1, max_size=10) | json_values,
        "userName": st.text(max_size=20) | json_values,
        "externalId": st.text(max_size=20) | json_values,
        "name": st.fixed_dictionaries({}, optional={"givenName": json_values, "familyName": json_values})
        | json_values,
        "displayName": json_values,
        "active": json_values,
        "title": json_values,
        "userType": json_values,
        "emails": multi_valued | json_values,
        "photos": multi_valued | json_values,
        "meta": st.fixed_dictionaries({}, optional={"lastModified": json_values}) | json_values,
        ENTERPRISE: st.fixed_dictionaries({}, optional={"department": json_values}) | json_values,
    },
)
groups = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(min_size=1, max_size=10) | json_values,
        "displayName": json_values,
        "members": multi_valued | json_values,
    },
)
errors = st.fixed_dictionaries(
    {"schemas": st.just([ERROR_SCHEMA])},
    optional={"status": json_values, "scimType": json_values, "detail": json_values},
)

OPTIONAL_TEXT = ("external_id", "email", "given_name", "family_name", "display_name", "title", "department",
                 "user_type", "photo")  # fmt: skip


def assert_well_typed_user(user: TargetUser) -> None:
    assert isinstance(user.id, str) and user.id
    assert user.modified is None or isinstance(user.modified, str)
    attributes = user.attributes
    assert isinstance(attributes.user_name, str)
    assert isinstance(attributes.active, bool)
    for name in OPTIONAL_TEXT:
        value = getattr(attributes, name)
        assert value is None or isinstance(value, str), f"{name} is {type(value).__name__}: {value!r}"


@settings(FAST, max_examples=300)
@given(resource=users)
def test_a_user_resource_reads_well_typed_or_fails_as_a_target_error(resource: dict[str, Any]) -> None:
    try:
        user = user_of(resource)
    except TargetError:
        return
    assert_well_typed_user(user)


@settings(FAST, max_examples=300)
@given(resource=groups)
def test_a_group_resource_reads_well_typed_or_fails_as_a_target_error(resource: dict[str, Any]) -> None:
    try:
        group = group_of(resource)
    except TargetError:
        return
    assert isinstance(group, TargetGroup) and isinstance(group.id, str) and group.id
    assert isinstance(group.display_name, str)
    assert all(isinstance(member, str) and member for member in group.members)


@settings(FAST, max_examples=300)
@given(values=multi_valued | json_values, kind=st.sampled_from(["work", "photo"]))
def test_pick_reads_any_multi_valued_attribute(values: Any, kind: str) -> None:
    try:
        picked = pick(values, kind)
    except TargetError:
        return
    assert picked is None or isinstance(picked, str)


@settings(FAST, max_examples=300)
@given(error=errors, doing=st.just("creating user jane@acme.example"))
def test_a_scim_error_becomes_one_bounded_printable_sentence(error: dict[str, Any], doing: str) -> None:
    try:
        failure = refusal(error, doing)
    except TargetError as raised:  # TargetUnavailable: the token was refused
        failure = raised
    text = str(failure)
    assert text.startswith(("Target refused creating user jane@acme.example", "The SCIM token was refused"))
    assert len(text) < 1_000, len(text)
    assert not any(char in text for char in CONTROL), repr(text[:200])


def test_a_status_of_unicode_digits_is_quoted_not_read_as_a_number() -> None:
    failure = refusal({"status": "²", "detail": "No."}, "creating user jane@acme.example")
    assert str(failure) == "Target refused creating user jane@acme.example: ²: No"
    assert failure.status is None


@settings(FAST, max_examples=50)
@given(
    status=st.sampled_from([200, 201, 400, 409, 500]),
    body=st.one_of(
        json_values.map(lambda doc: httpx.Response(200, json=doc).content),
        st.binary(max_size=100),
        st.integers(10, 50_000).map(lambda depth: b"[" * depth + b"]" * depth),
    ),
)
def test_any_write_answer_is_a_resource_or_a_target_error(status: int, body: bytes) -> None:
    try:
        result = answer(httpx.Response(status, content=body), "creating user jane@acme.example")
    except TargetError:  # TargetUnavailable on a 401 error body
        return
    assert isinstance(result, dict | TargetError)
    if isinstance(result, dict):
        assert 200 <= status < 300
