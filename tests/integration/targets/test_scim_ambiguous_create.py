"""A create answered with an error after the target applied it must not create twice.

A gateway in front of a provider may answer 5xx (or not answer in time) after the provider
stored the user or group. scim2-server enforces uniqueness on userName but not on a Group's
displayName, so a blind retry makes a second team, and makes the user's create fail with 409
although the user exists.
"""

import pytest

from gwsync.sync.ports import TargetError, UserAttributes
from gwsync.targets.scim import ScimTarget
from gwsync.testing.scim import Fault, run_scim_server

JANE = UserAttributes("jane@acme.com", external_id="1001", email="jane@acme.com", given_name="Jane")


def test_scim2_server_itself_allows_two_teams_with_one_name() -> None:
    with run_scim_server() as scim:
        scim.seed_group("Engineering")
        scim.seed_group("Engineering")
        assert [g["displayName"] for g in scim.groups()] == ["Engineering", "Engineering"]


async def test_a_team_created_but_answered_503_is_not_created_twice() -> None:
    applied_then_503 = Fault(503, method="POST", path="/Groups", applied=True, detail="gateway timeout")
    with run_scim_server(faults=[applied_then_503]) as scim:
        async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
            team_id = await target.create_group("Engineering")
            notes = list(target.write_notes)
        groups = scim.groups()
    assert [(g["id"], g["displayName"]) for g in groups] == [(team_id, "Engineering")]
    assert notes == [
        "1 create answered with an error after the target had applied it; gwsync found the "
        "created object instead of creating it twice: team Engineering (503)."
    ]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_user_created_but_answered_an_error_is_created_once_and_not_failed(status: int) -> None:
    applied_then_error = Fault(status, method="POST", path="/Users", applied=True)
    with run_scim_server(faults=[applied_then_error]) as scim:
        async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
            user_id = await target.create_user(JANE)
        (user,) = scim.users()
    assert user["id"] == user_id and user["userName"] == "jane@acme.com" and user["externalId"] == "1001"


async def test_a_create_that_timed_out_after_the_target_applied_it_is_found() -> None:
    slow = Fault(504, method="POST", path="/Users", applied=True, delay=3.0)
    with run_scim_server(faults=[slow]) as scim:
        async with ScimTarget(scim.url, scim.token, timeout=1.0) as target:
            user_id = await target.create_user(JANE)
        (user,) = scim.users()
    assert user["id"] == user_id


async def test_a_same_named_user_that_is_not_ours_is_not_taken_for_our_create() -> None:
    # The POST fails (not applied); someone else's jane@acme.com, with another externalId,
    # is there: gwsync must report the failure, not claim that user as the one it created.
    with run_scim_server() as scim:
        scim.seed_user("jane@acme.com", externalId="someone-else")
        scim.set_faults([Fault(500, method="POST", path="/Users")])
        async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
            with pytest.raises(TargetError) as failed:
                await target.create_user(JANE)
    assert failed.value.status == 500


async def test_a_503_that_was_not_applied_is_retried_after_the_lookup_finds_nothing() -> None:
    with run_scim_server(faults=[Fault(503, method="POST", path="/Users", times=2)]) as scim:
        async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
            await target.check()
            scim.reset_log()
            user_id = await target.create_user(JANE)
        (user,) = scim.users()
        requests = [(r.method, r.status) for r in scim.request_log if r.path.endswith("/Users")]
    assert user["id"] == user_id
    assert requests[:5] == [("POST", 503), ("GET", 200), ("POST", 503), ("GET", 200), ("POST", 201)]


async def test_a_429_is_retried_without_a_lookup_because_nothing_was_applied() -> None:
    with run_scim_server(faults=[Fault(429, method="POST", times=2, retry_after="0")]) as scim:
        async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
            await target.check()
            scim.reset_log()
            await target.create_group("Engineering")
        requests = [(r.method, r.status) for r in scim.request_log]
    assert requests == [("POST", 429), ("POST", 429), ("POST", 201)]


async def test_without_filter_support_an_ambiguous_503_fails_the_item_rather_than_risk_a_twin() -> None:
    applied_then_503 = Fault(503, method="POST", path="/Groups", applied=True)
    with run_scim_server(filter=False, faults=[applied_then_503]) as scim:
        async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
            with pytest.raises(TargetError) as failed:
                await target.create_group("Engineering")
        groups = scim.groups()
    assert failed.value.status == 503
    assert [g["displayName"] for g in groups] == ["Engineering"]  # the next sync adopts it
