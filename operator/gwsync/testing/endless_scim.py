"""A SCIM target whose listing of /Users never ends (issue 23, point 2), for tests and a benchmark.

Three ways a broken or hostile target keeps a reader going, each seen in the issue:

- `cursor-cycle`: RFC 9865 cursor paging whose nextCursor goes A, B, A, B... (each page with
  users not seen before, so only remembering every cursor stops it);
- `cursor-same-ids`: a new nextCursor on every page, with the same users every time;
- `new-ids`: startIndex paging where every page is full of users never seen before, with
  `total` as totalResults (None: no totalResults), for ever.

`padding`: each user also carries a displayName of that many characters (a target padding
its users, so that few of them fill the reader's memory).

Everything else is as small as gwsync's check needs: ServiceProviderConfig (cursor paging
advertised for the cursor modes), the token checked on every request, and /Groups empty.
Users are otherwise minimal (id, userName), so a benchmark measures the listing, not big answers.
`list_requests` counts the /Users list requests answered; nothing is ever written.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import orjson
from aiohttp import web

from gwsync.testing.lightscim import on_loopback
from gwsync.testing.threads import serving_in_thread

Mode = Literal["cursor-cycle", "cursor-same-ids", "new-ids"]
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
CYCLE = {"": "A", "A": "B", "B": "A"}
"""cursor-cycle: the nextCursor answered to each cursor."""


class EndlessScim:
    """The server: `app()` to serve, `url` once served, `list_requests` and `writes` to look at."""

    def __init__(
        self, token: str, mode: Mode, *, page_size: int = 100, total: int | None = None, padding: int = 0
    ) -> None:
        self.token = token
        self.mode = mode
        self.page_size = page_size
        self.total = total
        self.padding = "x" * padding
        self.list_requests = 0
        self.writes = 0
        self.url = ""
        self._lock = threading.Lock()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._authorized])
        app.router.add_get("/v2/ServiceProviderConfig", self._config)
        app.router.add_get("/v2/Users", self._users)
        app.router.add_get("/v2/Groups", self._groups)
        app.router.add_route("*", "/v2/{anything:.*}", self._refused)
        return app

    @web.middleware
    async def _authorized(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"status": "401", "detail": "The bearer token is not valid"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    async def _config(self, request: web.Request) -> web.Response:
        cursor = self.mode != "new-ids"
        return scim_json(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "patch": {"supported": True},
                "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
                "filter": {"supported": True, "maxResults": self.page_size},
                "changePassword": {"supported": False},
                "sort": {"supported": False},
                "etag": {"supported": False},
                "authenticationSchemes": [],
                "pagination": {"cursor": cursor, "index": not cursor},
            }
        )

    async def _users(self, request: web.Request) -> web.Response:
        query = request.query
        count = min(int(query.get("count", self.page_size)), self.page_size)
        if "cursor" not in query:  # startIndex paging (and gwsync's token check)
            start = max(1, int(query.get("startIndex", 1)))
            with self._lock:
                self.list_requests += 1
            page: dict[str, Any] = {"Resources": self.users(start, count)}
            if self.total is not None:
                page["totalResults"] = self.total
            return scim_json({"schemas": [LIST_SCHEMA], "startIndex": start, **page})
        cursor = query["cursor"]
        with self._lock:
            self.list_requests += 1
            served = self.list_requests
        if self.mode == "cursor-cycle":  # new users on every page
            body = {"Resources": self.users(1 + served * count, count), "nextCursor": CYCLE.get(cursor, "A")}
        else:
            body = {"Resources": self.users(1, count), "nextCursor": f"c{served}"}
        return scim_json({"schemas": [LIST_SCHEMA], **body})

    def users(self, start: int, count: int) -> list[dict[str, Any]]:
        """`count` users numbered from `start`: minimal, and padded when asked."""
        padded = {"displayName": self.padding} if self.padding else {}
        return [
            {"schemas": [USER_SCHEMA], "id": f"u{n}", "userName": f"user{n}@endless.example", **padded}
            for n in range(start, start + count)
        ]

    async def _groups(self, request: web.Request) -> web.Response:
        return scim_json({"schemas": [LIST_SCHEMA], "totalResults": 0, "Resources": []})

    async def _refused(self, request: web.Request) -> web.Response:
        if request.method != "GET":
            with self._lock:
                self.writes += 1
        return web.json_response({"status": "404", "detail": "Not served here"}, status=404)

    @contextlib.asynccontextmanager
    async def serving(self, port: int = 0) -> AsyncIterator[EndlessScim]:
        async with on_loopback(self.app(), port) as base:
            self.url = f"{base}/v2"
            yield self


def scim_json(payload: dict[str, Any]) -> web.Response:
    return web.Response(body=orjson.dumps(payload), content_type="application/scim+json")


@contextlib.contextmanager
def run_endless_scim(mode: Mode, token: str = "test-scim-token", **options: Any) -> Iterator[EndlessScim]:
    """An EndlessScim served from a thread of its own on a free port; the URL ends in /v2."""
    server = EndlessScim(token, mode, **options)
    with serving_in_thread(server.serving, "endless-scim"):
        yield server
