"""gwsync against the AWS IAM Identity Center emulator: the limits, and what reads cost.

Request counts are measured from the emulator's log. Reading a 250-member team among 260
users costs 3 requests with the `groups.value` filter (pages of 100, the most AWS allows);
where that filter is refused (the older API) it costs one request per user carrying an
externalId, which is the only way left to ask AWS who is in a group.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.sync.ports import TargetError
from gwsync.targets.scim import ScimTarget
from gwsync.testing.aws_scim import AwsIdentityCenter, Throttle, aws_identity_center_in_thread
from gwsync.testing.memory import StaticSource

from .scenarios import TEAM, org, person, spec

CROWD = [person(100 + n) for n in range(260)]
TEAM_250 = {"eng@acme.com": CROWD[:250]}


@pytest.fixture
def aws() -> Iterator[AwsIdentityCenter]:
    with aws_identity_center_in_thread() as served:
        yield served


def call(
    aws: AwsIdentityCenter, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        aws.url + path, data=None if body is None else json.dumps(body).encode(), method=method
    )
    request.add_header("Authorization", f"Bearer {aws.token}")
    request.add_header("Content-Type", "application/scim+json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def user(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": "A", "familyName": "B"},
        "displayName": "A B",
        **extra,
    }


def test_the_emulator_holds_clients_to_aws_limits(aws: AwsIdentityCenter) -> None:
    assert call(aws, "POST", "/Users", user("a@acme.com"))[0] == 201
    assert call(aws, "POST", "/Users", user("A@acme.com"))[0] == 409
    assert call(aws, "POST", "/Users", {**user("b@acme.com"), "displayName": ""})[0] == 400
    assert call(aws, "POST", "/Users", user("c@acme.com", photos=[{"value": "x"}]))[0] == 400
    two = [{"value": "d@acme.com", "primary": True}, {"value": "d2@acme.com"}]
    assert call(aws, "POST", "/Users", user("d@acme.com", emails=two))[0] == 400
    assert call(aws, "POST", "/Users", user("e@acme.com", emails=[{"value": "e@acme.com"}]))[0] == 400
    assert call(aws, "GET", "/Users?count=101")[0] == 400
    assert call(aws, "GET", '/Users?filter=userName%20co%20"a"')[0] == 400
    assert call(aws, "GET", '/Users?filter=userName%20eq%20"a"%20or%20userName%20eq%20"b"')[0] == 400
    assert call(aws, "POST", "/Bulk", {})[0] == 404
    status, group = call(aws, "POST", "/Groups", {"displayName": "G", "members": []})
    assert status == 201 and group["members"] == []
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}
    replace = {**patch, "Operations": [{"op": "replace", "path": "members", "value": []}]}
    assert call(aws, "PATCH", f"/Groups/{group['id']}", replace)[0] == 400
    remove_all = {**patch, "Operations": [{"op": "remove", "path": "members"}]}
    assert call(aws, "PATCH", f"/Groups/{group['id']}", remove_all)[0] == 400
    ids = [call(aws, "POST", "/Users", user(f"m{n}@acme.com"))[1]["id"] for n in range(101)]
    too_many = {
        **patch,
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
    }
    assert call(aws, "PATCH", f"/Groups/{group['id']}", too_many)[0] == 400
    add = {**patch, "Operations": [{"op": "add", "path": "members", "value": [{"value": ids[0]}]}]}
    assert call(aws, "PATCH", f"/Groups/{group['id']}", add) == (204, None)
    assert call(aws, "GET", f"/Groups/{group['id']}")[1]["members"] == []
    pair = f'/Groups?filter=id%20eq%20"{group["id"]}"%20and%20members%20eq%20"{ids[0]}"'
    assert len(call(aws, "GET", pair)[1]["Resources"]) == 1
    # startIndex is not supported: the same first page comes back.
    first, again = call(aws, "GET", "/Users?count=5")[1], call(aws, "GET", "/Users?count=5&startIndex=6")[1]
    assert [u["id"] for u in first["Resources"]] == [u["id"] for u in again["Resources"]]
    paged = call(aws, "GET", "/Users?cursor=&count=100")[1]
    assert len(paged["Resources"]) == 100 and paged["nextCursor"] and "totalResults" not in paged


async def test_a_group_is_renamed_as_aws_patchgroup_documents(aws: AwsIdentityCenter) -> None:
    """patchgroup.html: "Only displayName, members, and externalId attributes are allowed", its
    example a `replace` of a value object {id, displayName}; group names are unique (409)."""
    group = call(aws, "POST", "/Groups", {"displayName": "Engineering", "members": []})[1]
    call(aws, "POST", "/Groups", {"displayName": "Sales", "members": []})
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}
    example = {**patch, "Operations": [{"op": "replace", "value": {"id": group["id"], "displayName": "R&D"}}]}
    assert call(aws, "PATCH", f"/Groups/{group['id']}", example) == (204, None)
    taken = {**patch, "Operations": [{"op": "replace", "path": "displayName", "value": "Sales"}]}
    assert call(aws, "PATCH", f"/Groups/{group['id']}", taken)[0] == 409
    other = {**patch, "Operations": [{"op": "replace", "value": {"description": "x"}}]}
    assert call(aws, "PATCH", f"/Groups/{group['id']}", other)[0] == 400

    async with ScimTarget(aws.url, aws.token, retry_base=0.01) as target:
        await target.check()
        await target.rename_group(group["id"], "Platform")

    assert call(aws, "GET", f"/Groups/{group['id']}")[1]["displayName"] == "Platform"


def test_list_groups_takes_only_the_filters_aws_documents(aws: AwsIdentityCenter) -> None:
    """ListGroups' documented filters (listgroups.html, Constraints) answer; others are AWS's 400."""
    jane = call(aws, "POST", "/Users", user("jane@acme.com"))[1]["id"]
    eng = call(aws, "POST", "/Groups", {"displayName": "Eng", "members": [{"value": jane}]})[1]["id"]
    call(aws, "POST", "/Groups", {"displayName": "Ops", "members": []})

    def names(query: str) -> list[str]:
        status, body = call(aws, "GET", "/Groups?filter=" + urllib.parse.quote(query))
        assert status == 200, body
        return [g["displayName"] for g in body["Resources"]]

    assert names(f'members.value eq "{jane}"') == ["Eng"]
    assert names(f'id eq "{eng}" and member eq "{jane}"') == ["Eng"]
    assert names(f'members eq "{jane}" and id eq "{eng}"') == ["Eng"]
    assert names(f'id eq "{eng}"') == ["Eng"]
    assert names('displayName eq "Ops"') == ["Ops"]
    for undocumented in (
        f'members.value eq "{jane}" and displayName eq "Eng"',
        f'members eq "{jane}"',
        f'displayName eq "Eng" and id eq "{eng}"',
    ):
        status, body = call(aws, "GET", "/Groups?filter=" + urllib.parse.quote(undocumented))
        assert status == 400
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert (body["status"], body["detail"]) == ("400", f"Filter {undocumented!r} is not supported.")
    status, body = call(aws, "GET", "/Groups?filter=" + urllib.parse.quote('members.value eq "nobody"'))
    assert (status, body["detail"]) == (404, "User nobody does not exist.")
    aws.groups_value_filter = False  # the older pages document neither membership filter
    query = f'members.value eq "{jane}"'
    status, body = call(aws, "GET", "/Groups?filter=" + urllib.parse.quote(query))
    assert (status, body["detail"]) == (400, f"Filter {query!r} is not supported.")


def reads(aws: AwsIdentityCenter) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in aws.log:
        if r.method != "GET":
            continue
        kind = "members" if "groups.value" in r.query or "members" in r.query else r.path.rsplit("/", 1)[-1]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


@pytest.mark.parametrize(
    ("groups_value_filter", "member_reads"),
    [(True, 3), (False, 1 + 260)],  # pair checks: the refused groups.value query, then one per user
    ids=["groups.value filter", "pair checks"],
)
async def test_a_250_member_team_costs_the_fewest_requests_aws_allows(
    groups_value_filter: bool, member_reads: int
) -> None:
    emulator = AwsIdentityCenter(groups_value_filter=groups_value_filter)
    with aws_identity_center_in_thread(emulator) as aws:
        async with ScimTarget(aws.url, aws.token, retry_base=0.01, teams=[TEAM]) as target:
            first = await run_sync(StaticSource(org(CROWD, TEAM_250)), target, spec(True), Ledger.empty())
        assert first.phase == "Succeeded" and first.summary.memberships.added == 250
        patches = [r for r in aws.log if r.method == "PATCH"]
        assert len(patches) == 3  # 250 additions in PATCHes of at most 100
        aws.reset_log()
        async with ScimTarget(aws.url, aws.token, retry_base=0.01, teams=[TEAM]) as target:
            second = await run_sync(StaticSource(org(CROWD, TEAM_250)), target, spec(True), first.ledger)
        assert second.phase == "Succeeded" and aws.writes == []
        # ServiceProviderConfig, the token check, 3 pages of 100 users, 1 page of groups.
        assert reads(aws) == {"ServiceProviderConfig": 1, "Users": 4, "Groups": 1, "members": member_reads}
        # Every filter gwsync sent is one AWS documents: the emulator refuses any other with a 400,
        # and the only 400 is the refused groups.value query of the older API.
        refused = [r.params["filter"] for r in aws.log if r.status == 400]
        assert refused == ([] if groups_value_filter else [f'groups.value eq "{aws.all_groups()[0]["id"]}"'])


async def test_unscoped_reads_ask_for_every_groups_members() -> None:
    """Without the mapped teams, every group's members are read: one more query per group."""
    with aws_identity_center_in_thread() as aws:
        for n in range(5):
            call(aws, "POST", "/Groups", {"displayName": f"Other {n}"})
        async with ScimTarget(aws.url, aws.token) as target:
            await target.list_users()
            groups = await target.list_groups()
        assert len(groups) == 5 and reads(aws)["members"] == 5


async def test_without_the_profile_paging_breaks_and_gwsync_says_so() -> None:
    """Treated as a generic SCIM server, AWS's ignored startIndex cannot reach past 100 users,
    while its totalResults counts 150: the read fails rather than plan against a list cut short."""
    with aws_identity_center_in_thread() as aws:
        for n in range(150):
            call(aws, "POST", "/Users", user(f"u{n}@acme.com"))
        async with ScimTarget(aws.url, aws.token, profile="generic") as target:
            with pytest.raises(TargetError) as failure:
                await target.list_users()
        assert str(failure.value) == (
            f"The SCIM target {aws.url} answered /Users page 2 (startIndex=101) with only users already "
            "read, though it counts 150 and 100 were read: it ignores startIndex, so its list cannot "
            "be read completely."
        )
        async with ScimTarget(aws.url, aws.token) as target:
            assert len(await target.list_users()) == 150 and target.notes == []
            assert target.write_notes == [
                "The target (aws-identity-center) does not support photos; gwsync does not send it."
            ]


async def test_throttling_under_load_is_retried_and_the_sync_completes() -> None:
    # Below what 8 requests in flight ask for on any machine: the first burst already overflows.
    emulator = AwsIdentityCenter(throttle=Throttle(rate=20.0, burst=5))
    with aws_identity_center_in_thread(emulator) as aws:
        async with ScimTarget(
            aws.url, aws.token, retry_base=0.02, max_concurrency=8, max_attempts=10
        ) as target:
            outcome = await run_sync(StaticSource(org(CROWD[:120])), target, spec(), Ledger.empty())
            retries = target.counters.retries
        assert outcome.phase == "Succeeded" and outcome.summary.users.created == 120
        assert aws.throttled > 0 and retries >= aws.throttled
        assert len(aws.users) == 120
