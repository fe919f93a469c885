"""SCIMMY 1.3.5 + scimmy-routers 1.3.2 (express 4): its quirks are real, and gwsync copes.

- strict PatchOp: a PATCH whose `schemas` is not exactly the PatchOp URN is a 400;
- a list without `count` is a page of 20 (ServiceProviderConfig says maxResults 200);
- a PATCH that changes nothing answers 204 with no body (RFC 7644 §3.5.2 allows it);
- Bulk resolves only one `bulkId:` reference per operation and echoes bulkId for POSTs only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from gwsync.sync.ports import UserAttributes
from gwsync.targets.scim import ScimTarget

from .backend import PATCH_SCHEMA, HttpBackend
from .servers import SCIMMY, started


@pytest.fixture
def scimmy() -> Iterator[HttpBackend]:
    with started(SCIMMY) as served:
        yield served


raw = HttpBackend.raw


def seed(backend: HttpBackend, n: int) -> list[str]:
    return [
        backend.seed_user(f"user{i}@acme.com", externalId=f"g{i}", name={"givenName": "G", "familyName": "F"})
        for i in range(n)
    ]


async def test_patch_without_the_patchop_schema_is_refused_and_gwsync_always_sends_it(
    scimmy: HttpBackend,
) -> None:
    [uid] = seed(scimmy, 1)
    loose = {"Operations": [{"op": "replace", "path": "title", "value": "CTO"}]}
    status, error = raw(scimmy, "PATCH", f"/Users/{uid}", loose)
    assert (status, error["scimType"]) == (400, "invalidSyntax"), error
    mixed = {**loose, "schemas": [PATCH_SCHEMA, "urn:example:extra"]}
    assert raw(scimmy, "PATCH", f"/Users/{uid}", mixed)[0] == 400

    async with ScimTarget(scimmy.url, scimmy.token) as target:
        user = UserAttributes(user_name="user0@acme.com", external_id="g0", title="CTO")
        await target.update_user(uid, user, ["title"])
    assert scimmy.call("GET", f"/Users/{uid}")["title"] == "CTO"


async def test_a_list_without_count_is_a_page_of_20_and_gwsync_reads_every_user(scimmy: HttpBackend) -> None:
    seed(scimmy, 45)
    status, page = raw(scimmy, "GET", "/Users")
    assert status == 200
    assert (len(page["Resources"]), page["totalResults"], page["itemsPerPage"]) == (20, 45, 20)
    config = scimmy.call("GET", "/ServiceProviderConfig")
    assert config["filter"]["maxResults"] == 200
    async with ScimTarget(scimmy.url, scimmy.token) as target:
        users = await target.list_users()
        assert target.notes == []
    assert len({u.id for u in users}) == 45
    asked = [r.query for r in scimmy.recorder.log if r.path.endswith("/Users") and "count=" in r.query]
    assert asked and all("count=200" in q or "count=1" in q for q in asked), asked


async def test_a_patch_that_changes_nothing_is_a_204_without_body_and_gwsync_takes_it(
    scimmy: HttpBackend,
) -> None:
    [uid] = seed(scimmy, 1)
    same = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "path": "userName", "value": "user0@acme.com"}],
    }
    assert raw(scimmy, "PATCH", f"/Users/{uid}", same) == (204, None)
    group = scimmy.seed_group("Team", [uid])
    scimmy.reset_log()
    async with ScimTarget(scimmy.url, scimmy.token, bulk=False) as target:  # the PATCHes themselves
        unchanged = UserAttributes(user_name="user0@acme.com", external_id="g0")
        await target.update_user(uid, unchanged, ["userName"])
        await target.remove_members(group, ["no-such-user"])
    patches = [r.status for r in scimmy.recorder.log if r.method == "PATCH"]
    assert patches == [204, 204], scimmy.recorder.log
    assert scimmy.members(group) == {uid}


async def test_adding_a_present_member_duplicates_it_and_one_removal_takes_every_copy(
    scimmy: HttpBackend,
) -> None:
    # RFC 7644 §3.5.2.1 says an add of a value already there changes nothing; SCIMMY appends
    # a second copy. gwsync never adds a member it read as present (the planner adds only
    # missing ones), reads members as a set, and its removal by filter takes every copy.
    [uid] = seed(scimmy, 1)
    group = scimmy.seed_group("Team", [uid])
    async with ScimTarget(scimmy.url, scimmy.token) as target:
        await target.add_members(group, [uid])
        assert [m["value"] for m in scimmy.call("GET", f"/Groups/{group}")["members"]] == [uid, uid]
        [team] = [g for g in await target.list_groups() if g.id == group]
        assert team.members == {uid}
        await target.remove_members(group, [uid])
    assert scimmy.call("GET", f"/Groups/{group}").get("members") in (None, [])


async def test_bulk_resolves_one_reference_per_operation_and_echoes_bulk_ids_of_posts_only(
    scimmy: HttpBackend,
) -> None:
    # Why gwsync names one created user per PATCH and matches results by position (targets/scim/writes.py).
    group = scimmy.seed_group("Team", [])
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}
    add_both = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [
            {"op": "add", "path": "members", "value": [{"value": "bulkId:a"}, {"value": "bulkId:b"}]}
        ],
    }
    status, answer = raw(
        scimmy,
        "POST",
        "/Bulk",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "a",
                    "data": {**user, "userName": "a@acme.com"},
                },
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "b",
                    "data": {**user, "userName": "b@acme.com"},
                },
                {"method": "PATCH", "path": f"/Groups/{group}", "bulkId": "c", "data": add_both},
            ],
        },
    )
    assert status == 200
    assert [(op["method"], op.get("bulkId"), op["status"]) for op in answer["Operations"]] == [
        ("POST", "a", "201"),
        ("POST", "b", "201"),
        ("PATCH", None, "200"),
    ]
    values = [m["value"] for m in scimmy.call("GET", f"/Groups/{group}")["members"]]
    assert len(values) == 2 and sum(v.startswith("bulkId:") for v in values) == 1  # one left unresolved

    async with ScimTarget(scimmy.url, scimmy.token) as target:  # gwsync: one reference per PATCH
        first = asyncio.ensure_future(
            target.create_user(UserAttributes(user_name="c@acme.com", external_id="gc"))
        )
        second = asyncio.ensure_future(
            target.create_user(UserAttributes(user_name="d@acme.com", external_id="gd"))
        )
        await asyncio.sleep(0)  # both creates queued, as apply starts them together
        await target.add_created_members(group, [first, second])
        ids = {await first, await second}
    assert [r.path for r in scimmy.recorder.log if r.method == "POST"][-1:] == ["/scim/v2/Bulk"]
    assert ids <= {m["value"] for m in scimmy.call("GET", f"/Groups/{group}")["members"]}
