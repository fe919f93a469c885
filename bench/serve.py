"""An emulator in a process of its own, with the latency and rate limit of a real API.

    python bench/serve.py google --users 20000 --groups 200 --latency-ms 100 [--rate-limit 50] [--chosen 20]
    python bench/serve.py google --people 5000 [--daily] --latency-ms 100
    python bench/serve.py scim --latency-ms 50 [--rate-limit 50] [--seed-people 5000 [--daily]]
        [--server light|scim2-server|endless]

Prints one JSON line on stdout (`url`, `control`, and what the benchmark needs: the Google
service account key, admin and groups; the SCIM token and, when seeded, the ledger), then
serves until terminated. Every request is answered `--latency-ms` after it arrived, the
emulator's own work done within that time as a real API's is (server-side, so requests in
flight overlap as they would over the internet); with `--rate-limit R`, a
request above R per second (a token bucket holding one second's worth) is answered 429 with
`Retry-After: 1` at once. `GET /_bench/stats` gives the counters (requests by API or method,
429s, most in flight); `POST /_bench/reset` clears them. Neither waits nor counts.

The Google side is gwsync.testing.google's emulator with an aiohttp middleware. The SCIM side
is gwsync.testing.lightscim (`--server light`, the default: dicts, fast at 100,000 users,
latency and rate limit built in), or scim2-server behind gwsync.testing.scim's middleware
(its `delay` is waited before each request is handled, on top of the server's own work)
and a small WSGI layer of ours for the rate limit and the
control routes (`--server scim2-server`: the real third-party server, slow at these sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web
from common import daily, org_of, people

from gwsync.directory import Person
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import desired_attributes
from gwsync.targets.scim import user_resource
from gwsync.testing.google import GoogleEmulator
from gwsync.testing.org import Org, OrgGroup
from gwsync.testing.orggen import generate_org
from gwsync.testing.throttle import Throttle


def announce(info: dict[str, Any]) -> None:
    # What the emulator holds (100,000 users, their JSON) lives until it ends: out of the
    # collector's sight, or each full collection would pause the answers for half a second
    # (seen as 0.5-0.6 s Google pages in the daily sync), which a real API does not do. And no
    # collections from here on: an emulator serves one benchmark phase, and the young ones
    # alone tripled the time a Bulk request of 1,000 creates took to parse (36 ms, 10 without).
    gc.freeze()
    gc.disable()
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()


# --- Google ------------------------------------------------------------------------------------


async def serve_google(args: argparse.Namespace) -> None:
    if args.people:
        persons = daily(args.people)[1] if args.daily else people(args.people)
        org = org_of(persons)
    else:
        org = generate_org(args.users, groups=args.groups, seed=args.seed)
    if args.chosen:
        org = with_chosen_groups(org, args.chosen)
    emulator = GoogleEmulator(org)
    throttle = Throttle(args.rate_limit or None)
    state = {"in_flight": 0, "max_in_flight": 0, "throttled": 0}

    @web.middleware
    async def real_world(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith("/_bench/"):
            return await handler(request)
        if not throttle.allow():
            state["throttled"] += 1
            body = {
                "error": {
                    "code": 429,
                    "message": "Quota exceeded",
                    "errors": [{"reason": "rateLimitExceeded"}],
                }
            }
            return web.json_response(body, status=429, headers={"Retry-After": "1"})
        state["in_flight"] += 1
        state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
        try:
            loop = asyncio.get_running_loop()
            arrived = loop.time()
            response = await handler(request)
            # Answered `latency` after it arrived, its own work included, as a real API is: the
            # emulator's time to build a page (11 ms for 500 users) is not added on top.
            await asyncio.sleep(max(0.0, args.latency_ms / 1000 - (loop.time() - arrived)))
            return response
        finally:
            state["in_flight"] -= 1

    async def stats(request: web.Request) -> web.Response:
        by_api = Counter(entry.api for entry in emulator.log)
        return web.json_response(
            {
                "requests": dict(by_api),
                "throttled": state["throttled"],
                "max_in_flight": state["max_in_flight"],
            }
        )

    async def reset(request: web.Request) -> web.Response:
        emulator.log.clear()
        state.update(throttled=0, max_in_flight=0)
        return web.json_response({})

    app = emulator.app()
    app.middlewares.append(real_world)
    app.router.add_get("/_bench/stats", stats)
    app.router.add_post("/_bench/reset", reset)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    emulator.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    announce(
        {
            "url": emulator.url,
            "control": emulator.url,
            "key": emulator.service_account_key(),
            "admin": org.admins[0],
            "groups": {group.email.lower(): len(group.members) for group in org.groups},
        }
    )
    await asyncio.Event().wait()


def with_chosen_groups(org: Org, sizes: list[int]) -> Org:
    """The org with a group `chosen-N@<domain>` per size N, holding N users spread over the org."""
    domain = org.customer.primary_domain
    groups = [
        OrgGroup(
            email=f"chosen-{size}@{domain}",
            members=[user.primary_email for user in org.users[:: max(1, len(org.users) // size)][:size]],
        )
        for size in sizes
    ]
    return org.model_copy(update={"groups": [*org.groups, *groups]})


# --- SCIM --------------------------------------------------------------------------------------


def seeded_people(args: argparse.Namespace) -> list[Person]:
    if not args.seed_people:
        return []
    return daily(args.seed_people)[0] if args.daily else people(args.seed_people)


async def serve_light_scim(args: argparse.Namespace) -> None:
    from gwsync.testing.lightscim import LightScim

    server = LightScim(
        args.token,
        latency=args.latency_ms / 1000,
        rate_limit=args.rate_limit,
        retry_after="1",
        page_size=args.page_size,
        bulk_max_operations=args.bulk_max_operations,
    )
    ledger = Ledger.empty()
    for person in seeded_people(args):
        ledger.users[person.id] = server.seed_user(user_resource(desired_attributes(person)))

    async def stats(request: web.Request) -> web.Response:
        log = list(server.log)
        return web.json_response(
            {
                "requests": len(log),
                "writes": sum(1 for r in log if r.write),
                "by_method": dict(Counter(r.method for r in log)),
                "throttled": sum(1 for r in log if r.status == 429),
                "max_in_flight": server.max_in_flight,
                "bulk_operations": list(server.bulk_operations),
            }
        )

    async def reset(request: web.Request) -> web.Response:
        server.reset_log()
        return web.json_response({})

    app = server.app()
    app.router.add_get("/_bench/stats", stats)
    app.router.add_post("/_bench/reset", reset)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    announce({"url": f"{base}/v2", "control": base, "token": args.token, "ledger": ledger.users})
    await asyncio.Event().wait()


async def serve_endless_scim(args: argparse.Namespace) -> None:
    """gwsync.testing.endless_scim: a /Users listing whose startIndex pages always bring new users."""
    from gwsync.testing.endless_scim import EndlessScim

    server = EndlessScim(args.token, "new-ids", page_size=args.page_size, padding=args.padding)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"requests": server.list_requests, "writes": server.writes})

    app = server.app()
    app.router.add_get("/_bench/stats", stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    announce({"url": f"{base}/v2", "control": base, "token": args.token})
    await asyncio.Event().wait()


def serve_scim(args: argparse.Namespace) -> None:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from scim2_server.memory import InMemoryStorage
    from scim2_server.utils import load_default_provider

    from gwsync.testing.scim import BackloggedServer, FaultInjector, scim_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """The middleware keeps the request log."""

    storage = InMemoryStorage()
    ledger = Ledger.empty()
    if args.seed_people:
        provider = load_default_provider()
        user_type = next(rt for rt in provider.resource_types if rt.id == "User")
        model: Any = provider.model_for(user_type)
        for person in seeded_people(args):
            created = storage.create(
                user_type, model.model_validate(user_resource(desired_attributes(person)))
            )
            ledger.users[person.id] = str(created.id)
    injector = FaultInjector(scim_application(args.token, storage), [], args.latency_ms / 1000)
    throttle = Throttle(args.rate_limit or None)
    throttled = [0]

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_bench/stats":
            with injector.lock:
                log = list(injector.request_log)
                body = {
                    "requests": len(log),
                    "writes": sum(1 for r in log if r.write),
                    "by_method": dict(Counter(r.method for r in log)),
                    "throttled": throttled[0],
                    "max_in_flight": injector.max_in_flight,
                }
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]
        if path == "/_bench/reset":
            with injector.lock:
                injector.request_log.clear()
                injector.max_in_flight = 0
                throttled[0] = 0
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b"{}"]
        if not throttle.allow():
            with injector.lock:
                throttled[0] += 1
            error = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "429",
                "detail": "Too many requests",
            }
            start_response(
                "429 Too Many Requests", [("Content-Type", "application/scim+json"), ("Retry-After", "1")]
            )
            return [json.dumps(error).encode()]
        return injector(environ, start_response)

    server = make_server("127.0.0.1", args.port, app, server_class=BackloggedServer, handler_class=Quiet)
    base = f"http://127.0.0.1:{server.server_port}"
    announce({"url": f"{base}/v2", "control": base, "token": args.token, "ledger": ledger.users})
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["google", "scim"])
    parser.add_argument("--latency-ms", type=float, default=0.0, help="per-request latency")
    parser.add_argument("--rate-limit", type=float, default=0.0, help="requests per second (0: none)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--users", type=int, default=1000, help="google: a generated org of this size")
    parser.add_argument("--groups", type=int, default=0, help="google: groups of the generated org")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--chosen", type=int, action="append", default=[], help="google: add a group chosen-N@ of N users"
    )
    parser.add_argument("--people", type=int, default=0, help="google: serve the benchmark's people instead")
    parser.add_argument("--seed-people", type=int, default=0, help="scim: provision these people first")
    parser.add_argument(
        "--daily", action="store_true", help="people after (google) or before (scim) 1%% churn"
    )
    parser.add_argument("--token", default="bench-scim-token")
    parser.add_argument(
        "--server",
        choices=["light", "scim2-server", "endless"],
        default="light",
        help="scim: which server (endless: a listing that never ends, gwsync.testing.endless_scim)",
    )
    parser.add_argument("--page-size", type=int, default=500, help="scim (light): filter.maxResults")
    parser.add_argument(
        "--bulk-max-operations",
        type=int,
        default=0,
        help="scim (light): advertise Bulk with this maxOperations",
    )
    parser.add_argument(
        "--padding", type=int, default=0, help="scim (endless): each user's displayName is this long"
    )
    args = parser.parse_args()
    if args.kind == "google":
        asyncio.run(serve_google(args))
    elif args.server == "light":
        asyncio.run(serve_light_scim(args))
    elif args.server == "endless":
        asyncio.run(serve_endless_scim(args))
    else:
        serve_scim(args)


if __name__ == "__main__":
    main()
