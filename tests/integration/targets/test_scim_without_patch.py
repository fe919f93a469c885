"""Targets without PATCH: gwsync writes with PUT and must not erase what it does not manage.

scim2-server runs with patch.supported=false in its ServiceProviderConfig, and then answers
every PATCH with 501 itself, so a PATCH sent by mistake fails the test.
"""

from typing import Any

import pytest

from gwsync.sync.ports import TargetError, UserAttributes
from gwsync.targets.scim import ScimTarget
from gwsync.testing.scim import ENTERPRISE, Fault, Interleave, ScimServer, run_scim_server

# What another tool (or an admin) put on a user before gwsync adopted it.
UNMANAGED: dict[str, Any] = {
    "nickName": "Jay",
    "locale": "fr-CA",
    "phoneNumbers": [{"value": "+1 514 555 0100", "type": "work"}],
    "name": {"givenName": "Jane", "familyName": "Doe", "middleName": "Q"},
    ENTERPRISE: {"department": "R&D", "employeeNumber": "E-42"},
}


def seed_jane(scim: ScimServer) -> str:
    return scim.seed_user("jane@acme.com", externalId="1001", title="Engineer", **UNMANAGED)


def jane(**changes: Any) -> UserAttributes:
    values: dict[str, Any] = {
        "user_name": "jane@acme.com",
        "external_id": "1001",
        "given_name": "Jane",
        "family_name": "Doe",
        "title": "Engineer",
        "department": "R&D",
        **changes,
    }
    return UserAttributes(**values)


def test_the_server_really_refuses_patch_in_this_mode() -> None:
    with run_scim_server(patch=False) as scim:
        user_id = seed_jane(scim)
        with pytest.raises(RuntimeError, match="answered 501"):
            scim.call(
                "PATCH",
                f"/Users/{user_id}",
                {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "title", "value": "CTO"}],
                },
            )


@pytest.mark.parametrize("etag", [True, False], ids=["with-etags", "without-etags"])
async def test_an_update_by_put_keeps_the_attributes_gwsync_does_not_manage(etag: bool) -> None:
    with run_scim_server(patch=False, etag=etag) as scim:
        user_id = seed_jane(scim)
        async with ScimTarget(scim.url, scim.token) as target:
            await target.update_user(
                user_id, jane(title="CTO", given_name="Janet"), ["title", "name.givenName"]
            )
            after_update = scim.user_by_name("jane@acme.com")
            # A None value removes the managed attribute, and only it.
            await target.update_user(user_id, jane(title=None, department=None), ["title", "department"])
            after_removal = scim.user_by_name("jane@acme.com")
            await target.deactivate_user(user_id)
            after_deactivation = scim.user_by_name("jane@acme.com")
    assert "PATCH" not in {r.method for r in scim.request_log}
    assert after_update["title"] == "CTO"
    assert after_update["name"] == {"givenName": "Janet", "familyName": "Doe", "middleName": "Q"}
    for user in (after_update, after_removal, after_deactivation):
        assert user["nickName"] == "Jay" and user["locale"] == "fr-CA"
        assert user["phoneNumbers"] == [{"value": "+1 514 555 0100", "type": "work"}]
        assert user["externalId"] == "1001"
    assert after_update[ENTERPRISE] == {"department": "R&D", "employeeNumber": "E-42"}
    assert "title" not in after_removal
    assert after_removal[ENTERPRISE] == {"employeeNumber": "E-42"}
    assert after_deactivation["active"] is False


async def test_an_edit_made_between_gwsyncs_read_and_its_put_is_not_lost() -> None:
    with run_scim_server(patch=False) as scim:
        user_id = seed_jane(scim)

        def admin_edits_the_nickname() -> None:
            current = scim.call("GET", f"/Users/{user_id}")
            current.pop("meta")
            scim.call("PUT", f"/Users/{user_id}", {**current, "nickName": "JD"})

        scim.set_interleaves([Interleave(admin_edits_the_nickname, method="PUT", path=f"/Users/{user_id}")])
        async with ScimTarget(scim.url, scim.token) as target:
            await target.update_user(user_id, jane(title="CTO"), ["title"])
        user = scim.user_by_name("jane@acme.com")
    assert user["title"] == "CTO" and user["nickName"] == "JD"
    puts = [r.status for r in scim.request_log if r.method == "PUT"]
    assert puts == [200, 412, 200]  # the admin's, gwsync's stale one, gwsync's re-read one


async def test_a_target_that_keeps_answering_412_fails_the_item_with_a_sentence() -> None:
    with run_scim_server(patch=False, faults=[Fault(412, method="PUT", times=None)]) as scim:
        user_id = seed_jane(scim)
        async with ScimTarget(scim.url, scim.token) as target:
            with pytest.raises(TargetError) as refused:
                await target.update_user(user_id, jane(title="CTO"), ["title"])
        puts = [r for r in scim.request_log if r.method == "PUT"]
    assert refused.value.status == 412
    assert "changed by someone else" in str(refused.value)
    assert 1 < len(puts) <= 5  # re-read and retried, a bounded number of times


async def test_members_are_added_and_removed_with_put_when_patch_is_refused() -> None:
    with run_scim_server(patch=False) as scim:
        a, b, c, outsider = (scim.seed_user(f"{n}@acme.com") for n in ("a", "b", "c", "outsider"))
        group_id = scim.seed_group("Engineering", [a, outsider])
        async with ScimTarget(scim.url, scim.token) as target:
            await target.add_members(group_id, [b, c, a])
            after_add = scim.group_members("Engineering")
            await target.remove_members(group_id, [a, c])
            after_remove = scim.group_members("Engineering")
            (group,) = await target.list_groups()
    assert "PATCH" not in {r.method for r in scim.request_log}
    assert after_add == {"a@acme.com", "b@acme.com", "c@acme.com", "outsider@acme.com"}
    assert after_remove == {"b@acme.com", "outsider@acme.com"}
    assert group.display_name == "Engineering" and group.members == frozenset({b, outsider})


async def test_a_member_added_by_someone_else_meanwhile_is_kept() -> None:
    with run_scim_server(patch=False) as scim:
        a, b, other = (scim.seed_user(f"{n}@acme.com") for n in ("a", "b", "other"))
        group_id = scim.seed_group("Engineering", [a])

        def admin_adds_a_member() -> None:
            current = scim.call("GET", f"/Groups/{group_id}")
            members = [{"value": m["value"]} for m in current.get("members", [])] + [{"value": other}]
            scim.call(
                "PUT",
                f"/Groups/{group_id}",
                {"schemas": current["schemas"], "displayName": "Engineering", "members": members},
            )

        scim.set_interleaves([Interleave(admin_adds_a_member, method="PUT", path=f"/Groups/{group_id}")])
        async with ScimTarget(scim.url, scim.token) as target:
            await target.add_members(group_id, [b])
        members = scim.group_members("Engineering")
    assert members == {"a@acme.com", "b@acme.com", "other@acme.com"}
