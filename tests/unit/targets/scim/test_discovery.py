"""What a SCIM target's discovery answers make gwsync do (targets.scim.discovery):
`capabilities_of` reads ServiceProviderConfig, `user_schema_of` the core User of /Schemas."""

from typing import Any

import pytest
from scim2_models import ServiceProviderConfig

from gwsync.targets.scim.discovery import Capabilities, UserSchema, capabilities_of, user_schema_of

SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
MIB = 1 << 20


def capabilities(raw: dict[str, Any], profile: str = "auto") -> Capabilities:
    """The capabilities of a ServiceProviderConfig answered as `raw` (JSON)."""
    answer = {"schemas": [SPC], **raw}
    return capabilities_of(ServiceProviderConfig.model_validate(answer), answer, profile)


AWS = {
    "documentationUri": "https://docs.aws.amazon.com/singlesignon/latest/developerguide/scim.html",
    "patch": {"supported": True},
    "filter": {"supported": True, "maxResults": 1000},
    "bulk": {"supported": True, "maxOperations": 10, "maxPayloadSize": MIB},
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, Capabilities(patch=False, filter=False)),
        ({"patch": {"supported": True}}, Capabilities(patch=True, filter=False)),
        ({"filter": {"supported": True}}, Capabilities(patch=False, filter=True)),
        ({"filter": {"supported": True, "maxResults": 100}}, Capabilities(patch=False, page_size=100)),
        ({"filter": {"supported": True, "maxResults": 10_000}}, Capabilities(patch=False, page_size=500)),
        ({"filter": {"supported": False, "maxResults": 100}}, Capabilities(patch=False, filter=False)),
        ({"pagination": {"cursor": True}}, Capabilities(patch=False, filter=False, cursor=True)),
        ({"pagination": {"cursor": True, "index": True}}, Capabilities(patch=False, filter=False)),
        (
            {"bulk": {"supported": True, "maxOperations": 50, "maxPayloadSize": 4096}},
            Capabilities(patch=False, filter=False, bulk_max_operations=50, bulk_max_payload=4096),
        ),
        (
            {"bulk": {"supported": True, "maxOperations": 50}},
            Capabilities(patch=False, filter=False, bulk_max_operations=50, bulk_max_payload=MIB),
        ),
        ({"bulk": {"supported": False, "maxOperations": 50}}, Capabilities(patch=False, filter=False)),
        (
            {**AWS, "documentationUri": "https://docs.aws.amazon.com.attacker.example/scim"},
            Capabilities(page_size=500, bulk_max_operations=10, bulk_max_payload=MIB),
        ),
    ],
    ids=[
        "nothing",
        "patch",
        "filter",
        "filter-max-100",
        "filter-max-over-500",
        "filter-unsupported",
        "cursor",
        "cursor-and-index",
        "bulk",
        "bulk-default-payload",
        "bulk-unsupported",
        "aws-lookalike-host",
    ],
)
def test_service_provider_config_gives_the_capabilities(raw: dict[str, Any], expected: Capabilities) -> None:
    assert capabilities(raw) == expected


def test_aws_documentation_gives_cursor_pages_of_100_groups_without_members_no_photos_no_bulk() -> None:
    aws = capabilities(AWS)
    assert (aws.profile, aws.cursor, aws.page_size, aws.group_members) == (
        "aws-identity-center",
        True,
        100,
        False,
    )
    assert (aws.unsupported_fields, aws.bulk_max_operations) == (frozenset({"photos"}), 0)
    assert (aws.patch, aws.filter) == (True, True)


def test_the_aws_profile_applies_when_asked_and_not_when_generic_is_asked() -> None:
    plain = {"patch": {"supported": True}, "filter": {"supported": True}}
    assert capabilities(plain, "aws-identity-center").profile == "aws-identity-center"
    assert capabilities(plain, "aws-identity-center").group_members is False
    assert capabilities(AWS, "generic") == Capabilities(bulk_max_operations=10, bulk_max_payload=MIB)


# -- user_schema_of: the core User of /Schemas ------------------------------------------------


def user_schema(*attributes: dict[str, Any]) -> dict[str, Any]:
    """A /Schemas ListResponse holding the core User with `attributes`."""
    return {"Resources": [{"id": CORE, "name": "User", "attributes": list(attributes)}]}


IDENTITY = ({"name": "userName"}, {"name": "name"}, {"name": "emails"}, {"name": "active"})
OPTIONAL = ({"name": "displayName"}, {"name": "title"}, {"name": "userType"}, {"name": "photos"})


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ((*IDENTITY, *OPTIONAL, {"name": "externalId"}), UserSchema()),
        (  # django-scim2-server: stores only what it lists
            (*IDENTITY, {"name": "externalId"}),
            UserSchema(unsupported=frozenset({"displayName", "title", "userType", "photos"})),
        ),
        (  # attribute names compare without case
            (*IDENTITY, {"name": "DISPLAYNAME"}, {"name": "Title"}, {"name": "usertype"}, {"name": "photos"}),
            UserSchema(),
        ),
        (  # Canaille: externalId and photos are never returned
            (
                *IDENTITY,
                {"name": "displayName"},
                {"name": "title"},
                {"name": "userType", "mutability": "readOnly"},
                {"name": "photos", "returned": "never"},
                {"name": "externalId", "returned": "never"},
            ),
            UserSchema(unsupported=frozenset({"userType", "photos", "externalId"})),
        ),
        (
            (
                {"name": "userName", "mutability": "immutable"},
                {"name": "name", "subAttributes": [{"name": "formatted", "required": True}]},
                {"name": "emails", "subAttributes": [{"name": "value"}, {"name": "type"}]},
                {"name": "photos", "subAttributes": [{"name": "value"}]},
                *OPTIONAL[:3],
            ),
            UserSchema(
                sub_attributes={"emails": frozenset({"value", "type"}), "photos": frozenset({"value"})},
                formatted_name=True,
                immutable_user_name=True,
            ),
        ),
        (  # an optional name.formatted is not sent
            (
                *IDENTITY[:1],
                {"name": "name", "subAttributes": [{"name": "formatted", "required": False}]},
                *IDENTITY[2:],
                *OPTIONAL,
            ),
            UserSchema(),
        ),
    ],
    ids=[
        "everything",
        "undeclared",
        "any-case",
        "read-only-or-never-returned",
        "sub-attributes",
        "formatted-optional",
    ],
)
def test_the_user_schema_says_what_is_not_sent(
    attributes: tuple[dict[str, Any], ...], expected: UserSchema
) -> None:
    assert user_schema_of(user_schema(*attributes)) == expected


def test_a_bare_list_of_schemas_is_read_like_a_list_response() -> None:
    payload = user_schema(*IDENTITY)
    assert user_schema_of(payload["Resources"]) == user_schema_of(payload)
    assert user_schema_of(payload).unsupported == {"displayName", "title", "userType", "photos"}


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "not json",
        {"Resources": "nope"},
        {"Resources": [{"id": "urn:acme:Group", "attributes": [{"name": "members"}]}]},
        user_schema(),  # a User schema without attributes says nothing
        {"Resources": [{"id": CORE, "attributes": ["userName"]}]},
    ],
    ids=["none", "text", "resources-not-a-list", "no-user-schema", "no-attributes", "attributes-not-objects"],
)
def test_a_schema_answer_that_says_nothing_changes_nothing(payload: Any) -> None:
    assert user_schema_of(payload) == UserSchema()
