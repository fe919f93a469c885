"""ScimTarget against the real scim2-server: reachability, mapping round trip, limits."""

import asyncio
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest

from gwsync.sync.ports import TargetError, TargetUnavailable, UserAttributes
from gwsync.targets.scim import ScimTarget
from gwsync.testing.scim import run_scim_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

JANE = UserAttributes(
    user_name="jane@acme.com",
    external_id="1001",
    email="jane@acme.com",
    given_name="Jane",
    family_name="Doe",
    display_name="Jane Doe",
    title="Engineer",
    department="R&D",
    user_type="Contractor",
    photo="https://photos.example/jane.jpg#etag=abc",
)


async def test_check_names_the_secret_when_the_token_is_refused() -> None:
    with run_scim_server(token="right") as scim:
        async with ScimTarget(scim.url, "wrong") as target:
            with pytest.raises(TargetUnavailable) as refused:
                await target.check()
    assert str(refused.value) == (
        f"The SCIM token was refused (401) by {scim.url}; check the Secret named in "
        "spec.target.scim.tokenSecretRef holds a valid bearer token."
    )
    assert "wrong" not in str(refused.value) and "wrong" not in repr(target)


async def test_check_says_when_nothing_listens() -> None:
    with run_scim_server() as scim:
        url = scim.url
    async with ScimTarget(url, "token") as target:
        with pytest.raises(TargetUnavailable, match=r"cannot be reached: connection failed"):
            await target.check()


async def test_a_bad_ca_bundle_is_a_clear_error() -> None:
    with pytest.raises(TargetUnavailable, match="caBundleSecretRef"):
        ScimTarget("https://scim.example/v2", "token", ca_bundle="not a certificate")


async def test_every_mapped_attribute_round_trips() -> None:
    with run_scim_server() as scim:
        async with ScimTarget(scim.url, scim.token) as target:
            target_id = await target.create_user(JANE)
            (read,) = await target.list_users()
            assert read.id == target_id and read.attributes == JANE
            fewer = UserAttributes("jane@acme.com", "1001", "jane@acme.com", given_name="Janet", active=False)
            await target.update_user(
                target_id,
                fewer,
                [
                    "name.givenName",
                    "name.familyName",
                    "title",
                    "department",
                    "photos",
                    "active",
                    "displayName",
                    "userType",
                ],
            )
            (read,) = await target.list_users()
            assert read.attributes == fewer


async def test_lists_page_through_everything() -> None:
    with run_scim_server(bulk=True) as scim:  # the 1,001 users are made in 2 Bulk requests
        async with ScimTarget(scim.url, scim.token, max_concurrency=8) as target:
            await target.check()
            await asyncio.gather(*(target.create_user(UserAttributes(f"u{i}@acme.com")) for i in range(1001)))
            scim.reset_log()
            users = await target.list_users()
        assert len({u.id for u in users}) == 1001
        assert [r.path for r in scim.request_log] == ["/v2/Users"] * 3  # pages of 500


def patch_sizes(log: list[int]) -> "WSGIApplication":
    def wrap(app: "WSGIApplication") -> "WSGIApplication":
        def middleware(environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
            if environ["REQUEST_METHOD"] == "PATCH":
                from gwsync.testing.scim import read_body

                body: Any = json.loads(read_body(environ))
                log.append(sum(len(op.get("value") or [None]) for op in body["Operations"]))
            return app(environ, start_response)

        return middleware

    return wrap  # type: ignore[return-value]


async def test_membership_changes_are_chunked_to_100_operations() -> None:
    sizes: list[int] = []
    with run_scim_server(wrap=patch_sizes(sizes)) as scim:  # type: ignore[arg-type]
        ids = [scim.seed_user(f"m{i}@acme.com") for i in range(250)]
        async with ScimTarget(scim.url, scim.token) as target:
            group = await target.create_group("Engineering")
            await target.add_members(group, ids)
            await target.remove_members(group, ids[:150])
            (read,) = await target.list_groups()
    assert sizes == [100, 100, 50, 100, 50]
    assert read.members == frozenset(ids[150:])


async def test_put_is_used_when_the_provider_has_no_patch() -> None:
    with run_scim_server() as scim:
        async with ScimTarget(scim.url, scim.token) as target:
            target_id = await target.create_user(JANE)
            await target.check()
            assert target.capabilities is not None
            target.capabilities.patch = False
            scim.reset_log()
            await target.update_user(
                target_id, UserAttributes("jane@acme.com", "1001", title="CTO"), ["title"]
            )
            await target.deactivate_user(target_id)
            (read,) = await target.list_users()
        assert [r.method for r in scim.writes] == ["PUT", "PUT"]
        assert read.attributes.title == "CTO" and read.attributes.active is False


async def test_a_refusal_is_a_sentence_for_the_report() -> None:
    with run_scim_server() as scim:
        async with ScimTarget(scim.url, scim.token) as target:
            await target.create_user(JANE)
            with pytest.raises(TargetError) as refused:
                await target.create_user(JANE)
    assert refused.value.status == 409
    assert str(refused.value).startswith("Target refused creating jane@acme.com: 409 uniqueness")
