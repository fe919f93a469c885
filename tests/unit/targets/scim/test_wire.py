"""What gwsync sends to a SCIM target (targets.scim.wire): the PATCH operation and the PUT of
one field, a User bent to the provider's schema, and the member changes of a group."""

from typing import Any

import pytest

from gwsync.sync.ports import UserAttributes
from gwsync.targets.scim.bulk import member_patch
from gwsync.targets.scim.discovery import Capabilities, UserSchema
from gwsync.targets.scim.wire import (
    change_members,
    chunks,
    fit_user,
    group_display_name_operation,
    put_user_fields,
    user_operation,
    user_resource,
)
from gwsync.targets.scim.writes import MAX_MEMBER_OPS

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BADGE = "urn:acme:params:scim:schemas:extension:badge:2.0:User:badge"
WORK_PHONE = 'phoneNumbers[type eq "work"].value'
MOBILE_PHONE = 'phoneNumbers[type eq "mobile"].value'

ANN = UserAttributes(
    user_name="ann@acme.com",
    external_id="g-1",
    email="ann@acme.com",
    given_name="Ann",
    family_name="Lee",
    display_name="Ann Lee",
    title="Engineer",
    department="R&D",
    user_type="Employee",
    photo="https://photos.example/ann#etag=e1",
    extra=(("manager", "u-boss"), (WORK_PHONE, "+1 555 0100"), (MOBILE_PHONE, "+1 555 0199"), (BADGE, "B-7")),
)
BARE = UserAttributes(user_name="bob@acme.com", active=False)
"""A user with nothing but a userName, suspended: every optional field is removed."""

# -- user_operation: the PATCH operation that writes one field ------------------------------


@pytest.mark.parametrize(
    ("field", "operation"),
    [
        ("userName", {"op": "replace", "path": "userName", "value": "ann@acme.com"}),
        ("externalId", {"op": "replace", "path": "externalId", "value": "g-1"}),
        ("name.givenName", {"op": "replace", "path": "name.givenName", "value": "Ann"}),
        ("name.familyName", {"op": "replace", "path": "name.familyName", "value": "Lee"}),
        ("displayName", {"op": "replace", "path": "displayName", "value": "Ann Lee"}),
        ("active", {"op": "replace", "path": "active", "value": True}),
        ("title", {"op": "replace", "path": "title", "value": "Engineer"}),
        ("userType", {"op": "replace", "path": "userType", "value": "Employee"}),
        ("department", {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "R&D"}),
        (
            "emails",
            {
                "op": "replace",
                "path": "emails",
                "value": [{"value": "ann@acme.com", "type": "work", "primary": True}],
            },
        ),
        (
            "photos",
            {
                "op": "replace",
                "path": "photos",
                "value": [{"value": "https://photos.example/ann#etag=e1", "type": "photo"}],
            },
        ),
        ("manager", {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "u-boss"}}),
        (BADGE, {"op": "replace", "path": BADGE, "value": "B-7"}),
        (
            WORK_PHONE,
            {
                "op": "replace",
                "path": "phoneNumbers",
                "value": [
                    {"value": "+1 555 0100", "type": "work"},
                    {"value": "+1 555 0199", "type": "mobile"},
                ],
            },
        ),
    ],
)
def test_an_operation_replaces_the_field_with_its_value(field: str, operation: dict[str, Any]) -> None:
    assert user_operation(field, ANN) == operation


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("externalId", "externalId"),
        ("name.givenName", "name.givenName"),
        ("displayName", "displayName"),
        ("department", f"{ENTERPRISE}:department"),
        ("emails", "emails"),
        ("photos", "photos"),
        ("manager", f"{ENTERPRISE}:manager"),
        (BADGE, BADGE),
        (WORK_PHONE, "phoneNumbers"),
    ],
)
def test_a_field_without_a_value_is_removed(field: str, path: str) -> None:
    assert user_operation(field, BARE) == {"op": "remove", "path": path}


def test_a_suspended_user_is_written_inactive_not_removed() -> None:
    assert user_operation("active", BARE) == {"op": "replace", "path": "active", "value": False}


# -- put_user_fields: the same write inside a whole User (targets without PATCH) -------------


def held() -> dict[str, Any]:
    """A User as a target holds it, with attributes gwsync does not manage."""
    return {
        "schemas": [CORE, ENTERPRISE],
        "id": "t-1",
        "userName": "ann@acme.com",
        "nickName": "annie",
        "name": {"givenName": "Annie", "familyName": "Lee", "middleName": "Q"},
        "emails": [{"value": "old@acme.com", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+1 555 0000", "type": "home"}],
        ENTERPRISE: {"department": "Sales", "employeeNumber": "42"},
    }


@pytest.mark.parametrize(
    ("field", "user", "changed"),
    [
        ("name.givenName", ANN, {"name": {"givenName": "Ann", "familyName": "Lee", "middleName": "Q"}}),
        ("name.givenName", BARE, {"name": {"familyName": "Lee", "middleName": "Q"}}),
        ("department", ANN, {ENTERPRISE: {"department": "R&D", "employeeNumber": "42"}}),
        ("department", BARE, {ENTERPRISE: {"employeeNumber": "42"}}),
        (
            "manager",
            ANN,
            {ENTERPRISE: {"department": "Sales", "employeeNumber": "42", "manager": {"value": "u-boss"}}},
        ),
        ("emails", ANN, {"emails": [{"value": "ann@acme.com", "type": "work", "primary": True}]}),
        ("emails", BARE, {"emails": None}),
        ("title", ANN, {"title": "Engineer"}),
        ("active", BARE, {"active": False}),
        (
            WORK_PHONE,
            ANN,
            {
                "phoneNumbers": [
                    {"value": "+1 555 0100", "type": "work"},
                    {"value": "+1 555 0199", "type": "mobile"},
                ]
            },
        ),
        (WORK_PHONE, BARE, {"phoneNumbers": None}),
    ],
)
def test_a_put_changes_the_field_and_keeps_the_rest(
    field: str, user: UserAttributes, changed: dict[str, Any]
) -> None:
    resource = held()
    put_user_fields(resource, user, [field])
    expected = {**held(), **changed}
    assert resource == {key: value for key, value in expected.items() if value is not None}


def test_a_put_removing_the_last_enterprise_attribute_drops_the_extension_and_its_schema() -> None:
    resource = {
        "schemas": [CORE, ENTERPRISE],
        "userName": "bob@acme.com",
        ENTERPRISE: {"department": "Sales"},
    }
    put_user_fields(resource, BARE, ["department"])
    assert resource == {"schemas": [CORE], "userName": "bob@acme.com"}


def test_a_put_into_a_custom_extension_declares_its_schema() -> None:
    resource = {"schemas": [CORE], "userName": "ann@acme.com"}
    put_user_fields(resource, ANN, [BADGE])
    schema = BADGE.rsplit(":", 1)[0]
    assert resource == {"schemas": [CORE, schema], "userName": "ann@acme.com", schema: {"badge": "B-7"}}


def test_a_put_removing_both_name_parts_drops_the_name() -> None:
    resource = {
        "schemas": [CORE],
        "userName": "bob@acme.com",
        "name": {"givenName": "Bob", "familyName": "Ray"},
    }
    put_user_fields(resource, BARE, ["name.givenName", "name.familyName"])
    assert resource == {"schemas": [CORE], "userName": "bob@acme.com"}


# -- fit_user: a whole User bent to what the provider declares ------------------------------


def test_a_user_keeps_everything_a_permissive_provider_stores() -> None:
    resource = user_resource(ANN)
    assert fit_user(user_resource(ANN), ANN, Capabilities()) == resource
    assert resource["schemas"] == [CORE, ENTERPRISE, BADGE.rsplit(":", 1)[0]]
    assert {"displayName", "title", "userType", "photos", "externalId", ENTERPRISE} <= resource.keys()


def test_fields_the_provider_does_not_store_are_not_sent() -> None:
    capabilities = Capabilities(
        unsupported_fields=frozenset({"displayName", "title", "photos", "externalId"})
    )
    resource = fit_user(user_resource(ANN), ANN, capabilities)
    assert not {"displayName", "title", "photos", "externalId"} & resource.keys()
    assert resource["userType"] == "Employee"
    assert resource[ENTERPRISE]["department"] == "R&D"


def test_without_the_enterprise_extension_the_user_goes_without_it() -> None:
    resource = fit_user(user_resource(ANN), ANN, Capabilities(unsupported_fields=frozenset({"department"})))
    assert ENTERPRISE not in resource
    assert resource["schemas"] == [CORE, BADGE.rsplit(":", 1)[0]]


def test_only_declared_sub_attributes_of_emails_and_photos_are_sent() -> None:
    schema = UserSchema(
        sub_attributes={"emails": frozenset({"value", "type"}), "photos": frozenset({"value"})}
    )
    resource = fit_user(user_resource(ANN), ANN, Capabilities(schema=schema))
    assert resource["emails"] == [{"value": "ann@acme.com", "type": "work"}]
    assert resource["photos"] == [{"value": "https://photos.example/ann#etag=e1"}]


@pytest.mark.parametrize(
    ("user", "name"),
    [
        (ANN, {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"}),
        (UserAttributes(user_name="cy@acme.com", family_name="Cy"), {"familyName": "Cy", "formatted": "Cy"}),
        (BARE, {"formatted": "bob@acme.com"}),
    ],
)
def test_a_required_formatted_name_is_sent(user: UserAttributes, name: dict[str, str]) -> None:
    resource = fit_user(user_resource(user), user, Capabilities(schema=UserSchema(formatted_name=True)))
    assert resource["name"] == name


def test_no_formatted_name_unless_required() -> None:
    assert "formatted" not in fit_user(user_resource(ANN), ANN, Capabilities())["name"]


# -- change_members and the member PATCHes -------------------------------------------------


def test_members_are_added_once_and_removed_keeping_only_value_and_type() -> None:
    group = {
        "displayName": "eng",
        "members": [
            {"value": "u1", "type": "User", "display": "Ann", "$ref": "https://t/Users/u1"},
            {"value": "u2", "display": "Bob"},
        ],
    }
    assert change_members(group, add=["u3", "u1", "u3"], remove=["u2"]) is True
    assert group == {"displayName": "eng", "members": [{"value": "u1", "type": "User"}, {"value": "u3"}]}


@pytest.mark.parametrize(("add", "remove"), [([], []), (["u1"], []), ([], ["u9"])])
def test_a_change_that_changes_nothing_is_not_written(add: list[str], remove: list[str]) -> None:
    group = {"displayName": "eng", "members": [{"value": "u1", "display": "Ann"}]}
    assert change_members(group, add=add, remove=remove) is False
    assert group == {"displayName": "eng", "members": [{"value": "u1", "display": "Ann"}]}


def test_a_removal_alone_is_written() -> None:
    group = {"displayName": "eng", "members": [{"value": "u1"}, {"value": "u2"}]}
    assert change_members(group, add=[], remove=["u1"]) is True
    assert group["members"] == [{"value": "u2"}]


def test_a_group_without_members_gets_its_first() -> None:
    group: dict[str, Any] = {"displayName": "eng"}
    assert change_members(group, add=["u1"], remove=[]) is True
    assert group["members"] == [{"value": "u1"}]


def test_member_patches_carry_at_most_a_hundred_members_each() -> None:
    ids = [f"u{i}" for i in range(250)]
    assert [len(chunk) for chunk in chunks(ids, MAX_MEMBER_OPS)] == [100, 100, 50]
    assert [member for chunk in chunks(ids, MAX_MEMBER_OPS) for member in chunk] == ids


def test_members_are_added_in_one_operation_and_removed_one_filter_each() -> None:
    patch = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    assert member_patch("add", ["u1", "u2"]) == {
        "schemas": [patch],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}],
    }
    assert member_patch("remove", ["u1", "u2"]) == {
        "schemas": [patch],
        "Operations": [
            {"op": "remove", "path": 'members[value eq "u1"]'},
            {"op": "remove", "path": 'members[value eq "u2"]'},
        ],
    }


def test_a_member_id_with_a_quote_is_removed_by_a_well_formed_filter() -> None:
    # The id comes from the target; a quote or backslash in it must not end the literal early.
    (operation,) = member_patch("remove", ['a"b\\c'])["Operations"]
    assert operation["path"] == 'members[value eq "a\\"b\\\\c"]'


def test_a_group_is_renamed_by_path_and_on_aws_as_its_patchgroup_page_shows() -> None:
    generic = Capabilities(patch=True, filter=True)
    aws = Capabilities(patch=True, filter=True, profile="aws-identity-center")

    assert group_display_name_operation("Platform", generic) == {
        "op": "replace",
        "path": "displayName",
        "value": "Platform",
    }
    assert group_display_name_operation("Platform", aws) == {
        "op": "replace",
        "value": {"displayName": "Platform"},
    }
