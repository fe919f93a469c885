"""Whether a SCIM target keeps a team's externalId, from its /Schemas, and how it is written."""

from gwsync.targets.scim.discovery import Capabilities, group_keeps_external_id
from gwsync.targets.scim.wire import group_external_id_operation, group_resource

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def schemas(*attributes: dict[str, object]) -> dict[str, object]:
    group = {"id": GROUP, "name": "Group", "attributes": [{"name": "displayName"}, *attributes]}
    return {"Resources": [{"id": "urn:ietf:params:scim:schemas:core:2.0:User", "attributes": []}, group]}


def test_a_group_keeps_its_external_id_unless_the_schema_says_it_cannot() -> None:
    assert group_keeps_external_id(schemas())  # a common attribute, rarely listed: kept
    assert group_keeps_external_id(None) and group_keeps_external_id({"Resources": "nonsense"})
    assert group_keeps_external_id(schemas({"name": "externalId", "mutability": "readWrite"}))
    assert not group_keeps_external_id(schemas({"name": "externalId", "mutability": "readOnly"}))
    assert not group_keeps_external_id(schemas({"name": "externalid", "returned": "never"}))


def test_the_external_id_goes_with_the_create_and_in_the_patch_the_target_takes() -> None:
    assert group_resource("Eng", "g-1") == {
        "schemas": [GROUP],
        "displayName": "Eng",
        "members": [],
        "externalId": "g-1",
    }
    assert "externalId" not in group_resource("Eng")
    generic = group_external_id_operation("g-1", Capabilities())
    assert generic == {"op": "replace", "path": "externalId", "value": "g-1"}
    aws = group_external_id_operation("g-1", Capabilities(profile="aws-identity-center"))
    assert aws == {"op": "add", "value": {"externalId": "g-1"}}
