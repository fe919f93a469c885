"""The target's list pages are read ahead, at once, when totalResults allows (issue 12, point 2).

Over the internet each page is mostly waiting. Once the first page gives totalResults and is
as long as asked, the other pages are asked ahead; the list read is the one a page-after-page
read gives (scim2-server's own listing, read the slow sure way, is the reference). Where the
starts cannot be known in advance (a count capped silently, no totalResults, a page shorter
than asked before the end) the read goes one page after the other and stays right.
"""

import json
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from gwsync.sync.ports import TargetUser
from gwsync.targets.scim import ScimTarget, user_of
from gwsync.testing.scim import Quirks, ScimServer, run_scim_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

WAIT = 10.0  # seconds a held page waits for the other one at most
USERS = 35  # pages of 10: startIndex 1, 11, 21, 31


def seed(scim: ScimServer) -> None:
    for n in range(USERS):
        scim.seed_user(f"user{n}@acme.com", externalId=f"{1000 + n}")


def start_index(environ: "WSGIEnvironment") -> int | None:
    if environ["REQUEST_METHOD"] != "GET" or not environ.get("PATH_INFO", "").endswith("/Users"):
        return None
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    return int(query["startIndex"][0]) if "startIndex" in query else None


def rewriting(
    change: Callable[[int, dict[str, Any]], None],
) -> Callable[["WSGIApplication"], "WSGIApplication"]:
    """A wrapper changing the JSON of /Users list answers: `change(startIndex, body)`."""

    def wrap(app: "WSGIApplication") -> "WSGIApplication":
        def rewritten(environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
            start = start_index(environ)
            if start is None:
                return app(environ, start_response)
            answer: list[Any] = []
            body = b"".join(app(environ, lambda status, headers, exc=None: answer.append((status, headers))))
            payload = json.loads(body)
            change(start, payload)
            data = json.dumps(payload).encode()
            status, headers = answer[0]
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, [*headers, ("Content-Length", str(len(data)))])
            return [data]

        return rewritten

    return wrap


def by_id(users: Iterable[TargetUser]) -> list[TargetUser]:
    return sorted(users, key=lambda user: user.id)


async def read(scim: ScimServer) -> tuple[list[TargetUser], list[str], int]:
    """The target's users through gwsync, its notes, and the most requests in flight listing."""
    async with ScimTarget(scim.url, scim.token) as target:
        await target.check()
        scim.reset_log()
        users = await target.list_users()
        return users, list(target.notes), scim.max_in_flight


async def test_pages_after_the_first_are_in_flight_together_and_read_the_same_list() -> None:
    barrier = threading.Barrier(2, timeout=WAIT)
    met: list[bool] = []
    armed = threading.Event()

    def gate(app: "WSGIApplication") -> "WSGIApplication":
        def gated(environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
            if armed.is_set() and start_index(environ) in (21, 31):  # they meet, or the wait breaks
                try:
                    barrier.wait()
                    met.append(True)
                except threading.BrokenBarrierError:
                    met.append(False)
            return app(environ, start_response)

        return gated

    with run_scim_server(max_results=10, wrap=gate) as scim:
        seed(scim)
        armed.set()
        users, notes, _ = await read(scim)
        armed.clear()
        requests = [r for r in scim.request_log if r.path.endswith("/Users")]
        reference = by_id(user_of(r) for r in scim.users())

    assert met == [True, True]  # pages 3 and 4 were asked before either was answered
    assert by_id(users) == reference and len(reference) == USERS
    assert notes == []
    assert len(requests) == 4  # 10 + 10 + 10 + 5: no page more than one after the other


async def test_a_page_shorter_than_asked_mid_list_falls_back_to_one_page_at_a_time() -> None:
    # The page at startIndex=11 comes back with 7 of its 10 users (as when a user is deleted
    # between two pages, or a server trims a page): the starts read ahead are then wrong,
    # so gwsync goes on from startIndex=18, as a page-after-page read does.
    asked: list[int] = []

    def trim(start: int, page: dict[str, Any]) -> None:
        asked.append(start)
        if start == 11:
            page["Resources"] = page["Resources"][:7]

    with run_scim_server(max_results=10, wrap=rewriting(trim)) as scim:
        seed(scim)
        users, notes, _ = await read(scim)
        read_by_gwsync = set(asked)
        reference = by_id(user_of(r) for r in scim.users())

    assert by_id(users) == reference and len(reference) == USERS
    assert notes == []
    assert {1, 11, 18, 28} <= read_by_gwsync  # after the short page: 18, then 28, one by one


async def test_a_count_capped_silently_is_read_one_page_after_the_other() -> None:
    # ServiceProviderConfig says nothing of a cap, so gwsync asks 500 a page and gets 7:
    # where the next pages start cannot be known ahead.
    with run_scim_server(quirks=Quirks(max_count=7)) as scim:
        seed(scim)
        users, notes, most_in_flight = await read(scim)
        reference = by_id(user_of(r) for r in scim.users())

    assert by_id(users) == reference and len(reference) == USERS
    assert notes == [] and most_in_flight == 1


async def test_a_list_without_total_results_is_read_one_page_after_the_other() -> None:
    def drop_total(start: int, page: dict[str, Any]) -> None:
        page.pop("totalResults", None)

    with run_scim_server(max_results=10, wrap=rewriting(drop_total)) as scim:
        seed(scim)
        users, notes, most_in_flight = await read(scim)
        reference = by_id(user_of(r) for r in scim.users())

    assert by_id(users) == reference and len(reference) == USERS
    assert notes == [] and most_in_flight == 1
