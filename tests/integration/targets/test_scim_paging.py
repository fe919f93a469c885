"""Listing the target must read every user and group, whatever totalResults says.

scim2-server pages correctly; `Quirks` in front of it reproduce providers that do not: a
totalResults that is the page size, a count capped without saying so, a startIndex ignored.
A list cut short makes managed users look deleted by hand and their Creates fail with 409.
"""

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest

from gwsync.sync.ports import TargetError
from gwsync.targets.scim import ScimTarget
from gwsync.testing.scim import Quirks, ScimServer, run_scim_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def without_total(app: "WSGIApplication") -> "WSGIApplication":
    """scim2-server with no totalResults in its answers to GET /Users (a provider leaving it out)."""

    def answered(environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] != "GET" or not environ.get("PATH_INFO", "").endswith("/Users"):
            return app(environ, start_response)
        said: list[Any] = []
        payload = json.loads(
            b"".join(app(environ, lambda status, headers, exc=None: said.append((status, headers))))
        )
        payload.pop("totalResults", None)
        body = json.dumps(payload).encode()
        status, headers = said[0]
        start_response(
            status,
            [
                *((k, v) for k, v in headers if k.lower() != "content-length"),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]

    return answered


def seed(scim: ScimServer, users: int, groups: int = 0) -> None:
    for n in range(users):
        scim.seed_user(f"user{n}@acme.com", externalId=f"{1000 + n}")
    for n in range(groups):
        scim.seed_group(f"Team {n}")


async def test_a_total_that_is_the_page_size_does_not_cut_the_lists() -> None:
    with run_scim_server(max_results=10, quirks=Quirks(total_is_page_size=True)) as scim:
        seed(scim, users=35, groups=12)
        async with ScimTarget(scim.url, scim.token) as target:
            users = await target.list_users()
            groups = await target.list_groups()
            notes = list(target.notes)
            await target.list_users()  # listing again does not repeat the note
            notes_after_second_listing = list(target.notes)
    assert sorted(u.user_name for u in users) == sorted(f"user{n}@acme.com" for n in range(35))
    assert sorted(g.display_name for g in groups) == sorted(f"Team {n}" for n in range(12))
    assert notes == [
        "The target reported totalResults=10 for /Users but 35 users were read; gwsync used all 35.",
        "The target reported totalResults=10 for /Groups but 12 groups were read; gwsync used all 12.",
    ]
    assert sorted(notes_after_second_listing) == sorted(notes)


async def test_a_count_capped_silently_with_a_lying_total_still_reads_everything() -> None:
    # The server says maxResults=1000, so gwsync asks for 500, and it answers pages of 7,
    # each claiming totalResults=7.
    with run_scim_server(quirks=Quirks(total_is_page_size=True, max_count=7)) as scim:
        seed(scim, users=30)
        async with ScimTarget(scim.url, scim.token) as target:
            users = await target.list_users()
            notes = list(target.notes)
    assert len({u.id for u in users}) == 30
    assert notes == [
        "The target reported totalResults=7 for /Users but 30 users were read; gwsync used all 30."
    ]


async def test_an_honest_server_is_read_without_notes_and_without_wasted_pages() -> None:
    with run_scim_server(max_results=10) as scim:
        seed(scim, users=25)
        async with ScimTarget(scim.url, scim.token) as target:
            await target.check()
            scim.reset_log()
            users = await target.list_users()
            notes = list(target.notes)
    assert len({u.id for u in users}) == 25 and notes == []
    assert len(scim.request_log) == 3  # 10 + 10 + 5: the short page ends the list


async def test_a_server_that_ignores_start_index_fails_the_read_when_it_counts_more() -> None:
    # The rest cannot be reached: a list cut short would plan creates of users already there.
    with run_scim_server(max_results=10, quirks=Quirks(ignore_start_index=True)) as scim:
        seed(scim, users=25)
        async with ScimTarget(scim.url, scim.token) as target:
            with pytest.raises(TargetError) as failure:
                await target.list_users()
    assert str(failure.value) == (
        f"The SCIM target {scim.url} answered /Users page 2 (startIndex=11) with only users already "
        "read, though it counts 25 and 10 were read: it ignores startIndex, so its list cannot be "
        "read completely."
    )


async def test_a_server_that_ignores_start_index_without_a_total_ends_the_list_with_a_note() -> None:
    with run_scim_server(max_results=10, quirks=Quirks(ignore_start_index=True), wrap=without_total) as scim:
        seed(scim, users=25)
        async with ScimTarget(scim.url, scim.token) as target:
            users = await target.list_users()
            notes = list(target.notes)
    ids = [u.id for u in users]
    assert len(ids) == len(set(ids)) == 10  # each user once: no duplicates to plan against
    assert notes == [
        "The target answered /Users page 2 (startIndex=11) with users already read, so it ignores "
        "startIndex; gwsync stopped after 10 users and the list may be incomplete.",
    ]


async def test_ignoring_start_index_is_harmless_when_everything_fits_in_one_page() -> None:
    with run_scim_server(quirks=Quirks(ignore_start_index=True, max_count=10)) as scim:
        seed(scim, users=6)
        async with ScimTarget(scim.url, scim.token) as target:
            users = await target.list_users()
            notes = list(target.notes)
    assert len({u.id for u in users}) == len(users) == 6 and notes == []
