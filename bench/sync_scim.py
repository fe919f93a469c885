"""Benchmark: initial sync and a daily sync with churn, gwsync from Google to a SCIM server.

    python bench/sync_scim.py --users 10000 --daily-users 100000 \
        --google-latency-ms 100 --scim-latency-ms 50 --concurrency 8 --json out.json
    python bench/sync_scim.py --only daily --daily-users 100000 --no-floor
    python bench/sync_scim.py --only initial --users 2000 --rate-limit 50
    python bench/sync_scim.py --only initial --users 10000 --bulk-max-operations 1000

Both emulators run in processes of their own (bench/serve.py), each request answered after
its latency, above `--rate-limit` requests/s (SCIM side) with 429 + Retry-After. gwsync's
real Google reader reads the Directory emulator, and the engine syncs into the SCIM server:
gwsync.testing.lightscim by default (`--server scim2-server` for the third-party one, slow
at these sizes). Phase 1 (initial): N users into an empty server. Phase 2 (daily): M users already
provisioned (seeded in the server's store directly, with the ledger), then a sync with 1%
churn (a quarter renames, a quarter title updates, a quarter hires, a quarter departures).

Three references per phase:
- `min_requests`: SCIM requests the APIs allow (configuration, list pages, one per write);
- `bound_seconds`, from first principles: the Google user pages are a chain (page tokens);
  the target's first list page gives totalResults, the other pages could go `concurrency` at
  a time, next to the Google chain; then the writes, `concurrency` at a time; under a rate
  limit at least SCIM requests / limit. `ratio` is seconds / bound;
- `floor_seconds`: a bare httpx client issuing those requests in that shape against the same
  emulators (a fresh SCIM process holding the same users, so its writes are creates) in the
  same run; `ratio_to_floor` is seconds / floor. The floor includes what the emulators cost.
Peak RSS is the benchmark's process alone: gwsync (and the bare floor client, which runs
after gwsync: run one phase with `--only` for that phase's peak). Under a rate limit,
`throughput` is the requests answered other than 429 per second, `of_limit` its share of the
limit and `throttled_share` the share of requests answered 429. `load_average` is the
machine's (1, 5, 15 minutes) when the phase ended: other work on it slows everything.
`gc_seconds` is the part of gwsync's `cpu_seconds` spent in Python's garbage collector.

With `--bulk-max-operations M` the light server advertises SCIM Bulk with maxOperations M
(maxPayloadSize 1 MiB): the fewest write requests are then ceil(writes / M) (`write_bound`;
`write_requests` is what gwsync sent, `bulk_requests` how many of those were Bulk), and the
bound and the floor send that many Bulk requests, `concurrency` at a time, after the reads.
"""

import argparse
import asyncio
import gc
import json
import math
import os
import resource
import sys
import time
from typing import Any

import httpx
from common import GOOGLE_PAGE, Emulator, people, rounds

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Result
from gwsync.sources.google import USER_FIELDS, GoogleDirectory
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import desired_attributes
from gwsync.targets.scim import ScimTarget, user_resource

PAGE = 500  # scim2-server's filter.maxResults: the page ScimTarget asks for
API = "/admin/directory/v1"


def spec(concurrency: int, admin: str) -> GoogleProvisioningSpec:
    return GoogleProvisioningSpec.model_validate(
        {
            "google": {"adminEmail": admin, "credentialsSecretRef": {"name": "g", "key": "k"}},
            "target": {
                "scim": {
                    "url": "http://127.0.0.1/v2",
                    "tokenSecretRef": {"name": "s", "key": "t"},
                    "maxConcurrency": concurrency,
                }
            },
            "deprovision": {"maxCount": 10**9, "maxPercent": 100},
        }
    )


class GcClock:
    """Seconds the garbage collector ran (gc.callbacks), a share of `cpu_seconds`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started

    def start(self) -> "GcClock":
        gc.callbacks.append(self)
        return self

    def stop(self) -> None:
        gc.callbacks.remove(self)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bound_seconds(
    source: int, listed: int, writes: int, concurrency: int, google: float, scim: float, limit: float
) -> float:
    """Reads (the Google chain next to the target's first page then the rest concurrently),
    then the write requests (one per write, or one per Bulk request) spread over the
    concurrency limit; requests / limit under a rate limit."""
    google_chain = math.ceil(source / GOOGLE_PAGE) * google
    target_pages = max(1, math.ceil(listed / PAGE))
    target_read = (1 + rounds(target_pages - 1, concurrency)) * scim
    seconds = max(google_chain, target_read) + rounds(writes, concurrency) * scim
    scim_requests = 1 + target_pages + 1 + writes
    return max(seconds, scim_requests / limit) if limit else seconds


def bulk_bodies(payloads: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """BulkRequests of `size` creates each."""
    return [
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": f"b{start + i}", "data": payload}
                for i, payload in enumerate(payloads[start : start + size])
            ],
        }
        for start in range(0, len(payloads), size)
    ]


async def floor(
    google: Emulator,
    token: str,
    scim: Emulator,
    concurrency: int,
    listed: int,
    writes: list[dict[str, Any]],
    bulk: int = 0,
) -> float:
    """The bound's shape with a bare client: the Google chain next to the SCIM list pages
    (the first, then the rest `concurrency` at a time, and /Groups), then one POST per write
    (or one POST /Bulk per `bulk` writes)."""
    limits = httpx.Limits(max_connections=concurrency + 2)
    headers = {"Authorization": f"Bearer {scim.info['token']}"}
    started = time.perf_counter()
    async with (
        httpx.AsyncClient(base_url=scim.url, headers=headers, limits=limits, timeout=120) as client,
        httpx.AsyncClient(
            base_url=google.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as directory,
    ):
        slots = asyncio.Semaphore(concurrency)

        async def send(method: str, path: str, **kwargs: Any) -> None:
            async with slots:
                while True:
                    answer = await client.request(method, path, **kwargs)
                    if answer.status_code != 429:
                        answer.raise_for_status()
                        return
                    await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))

        async def google_chain() -> None:
            params: dict[str, Any] = {
                "customer": "my_customer",
                "maxResults": GOOGLE_PAGE,
                "fields": USER_FIELDS,
            }
            while True:
                answer = await directory.get(f"{API}/users", params=params)
                answer.raise_for_status()
                next_token = answer.json().get("nextPageToken")
                if not next_token:
                    return
                params["pageToken"] = next_token

        async def target_read() -> None:
            await send("GET", "/Users", params={"startIndex": 1, "count": PAGE})
            rest = range(1 + PAGE, listed + 1, PAGE)
            await asyncio.gather(
                send("GET", "/Groups", params={"startIndex": 1, "count": PAGE}),
                *(send("GET", "/Users", params={"startIndex": s, "count": PAGE}) for s in rest),
            )

        await asyncio.gather(google_chain(), target_read())
        if bulk:
            await asyncio.gather(*(send("POST", "/Bulk", json=body) for body in bulk_bodies(writes, bulk)))
        else:
            await asyncio.gather(*(send("POST", "/Users", json=payload) for payload in writes))
    return time.perf_counter() - started


async def run_phase(name: str, args: argparse.Namespace, before: int, users: int) -> dict[str, Any]:
    """One sync of `users` people, `before` of them already provisioned (0: initial). The
    people live in the emulators' processes: this one holds gwsync's data only."""
    scim_flags = ["--latency-ms", str(args.scim_latency_ms), "--rate-limit", str(args.rate_limit)]
    scim_flags += ["--server", args.server, "--bulk-max-operations", str(args.bulk_max_operations)]
    google_flags = ["--latency-ms", str(args.google_latency_ms)]
    google_flags += ["--people", str(before), "--daily"] if before else ["--people", str(users)]
    seeded = ["--seed-people", str(before), "--daily"] if before else []
    with Emulator("google", *google_flags) as google, Emulator("scim", *scim_flags, *seeded) as scim:
        ledger = Ledger(dict(scim.info["ledger"]), {})
        reader = GoogleDirectory.from_service_account_key(
            google.info["key"], admin_email=google.info["admin"], api_endpoint=google.url
        )
        reader.check_connection()
        google.reset()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        collector = GcClock().start()
        async with ScimTarget(scim.url, scim.info["token"], max_concurrency=args.concurrency) as target:
            marks: dict[str, float] = {}

            def progress(step: str, done: int, total: int) -> None:
                marks.setdefault(step, time.perf_counter() - started)  # when each step first reports

            outcome = await run_sync(
                reader, target, spec(args.concurrency, google.info["admin"]), ledger, progress=progress
            )
            seconds = time.perf_counter() - started
            collector.stop()
            counters = target.counters
            phase_result, lowest = outcome.phase, target._scim.pacer.lowest
            bulk_requests = target.bulk_requests
        used = resource.getrusage(resource.RUSAGE_SELF)
        scim_stats, google_stats = scim.stats(), google.stats()
        token = str(reader._credentials.token)
        changed = sum(1 for i in outcome.items if i.data_changed)
        failed = sum(1 for i in outcome.items if i.result is Result.FAILED)
        del outcome
        floor_seconds = 0.0
        if args.floor:
            with Emulator("scim", *scim_flags, *seeded) as fresh:
                payloads = [
                    user_resource(desired_attributes(p)) | {"userName": f"floor{i}@acme.com"}
                    for i, p in enumerate(people(changed))
                ]
                floor_seconds = await floor(
                    google, token, fresh, args.concurrency, before, payloads, args.bulk_max_operations
                )
    bulk = args.bulk_max_operations
    write_bound = math.ceil(changed / bulk) if bulk else changed
    bound = bound_seconds(
        users,
        before,
        write_bound,
        args.concurrency,
        args.google_latency_ms / 1000,
        args.scim_latency_ms / 1000,
        args.rate_limit,
    )
    answered = scim_stats["requests"] - scim_stats["throttled"]
    return {
        "phase": name,
        "phase_result": phase_result,
        "failed_items": failed,
        "users": users,
        "seconds": round(seconds, 3),
        "bound_seconds": round(bound, 3),
        "ratio": round(seconds / bound, 2) if bound else None,
        "floor_seconds": round(floor_seconds, 3) if floor_seconds else None,
        "ratio_to_floor": round(seconds / floor_seconds, 2) if floor_seconds else None,
        "read_seconds": round(marks.get("read", 0.0), 3),
        "requests": counters.requests,
        "min_requests": 1 + max(1, math.ceil(before / PAGE)) + 1 + write_bound,
        "google_requests": sum(google_stats["requests"].values()),
        "writes": counters.writes,
        "changed_items": changed,
        "bulk_max_operations": bulk,
        "write_requests": counters.writes,
        "write_bound": write_bound,
        "writes_ratio": round(counters.writes / write_bound, 3) if write_bound else None,
        "bulk_requests": bulk_requests,
        "throttled": scim_stats["throttled"],
        "throttled_share": round(scim_stats["throttled"] / scim_stats["requests"], 4),
        "throughput": round(answered / seconds, 1),
        "of_limit": round(answered / seconds / args.rate_limit, 3) if args.rate_limit else None,
        "lowest_concurrency": round(lowest, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "max_in_flight": scim_stats["max_in_flight"],
        "users_per_second": round(users / seconds, 1),
        "cpu_seconds": round(used.ru_utime - cpu.ru_utime + used.ru_stime - cpu.ru_stime, 2),
        "gc_seconds": round(collector.seconds, 2),
        "peak_rss_mb": round(rss_mb(), 1),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results = []
    if args.only in (None, "initial"):
        results.append(await run_phase("initial", args, 0, args.users))
    if args.only in (None, "daily"):  # 1% churn: as many hires as departures
        results.append(await run_phase("daily-1%-churn", args, args.daily_users, args.daily_users))
    head = results[0]
    return {
        "name": "sync_scim",
        "users": head["users"],
        "google_latency_ms": args.google_latency_ms,
        "scim_latency_ms": args.scim_latency_ms,
        "rate_limit": args.rate_limit,
        "concurrency": args.concurrency,
        "server": args.server,
        "seconds": head["seconds"],
        "floor_seconds": head["floor_seconds"],
        "bound_seconds": head["bound_seconds"],
        "ratio": head["ratio"],
        "requests": head["requests"],
        "min_requests": head["min_requests"],
        "peak_rss_mb": round(rss_mb(), 1),
        "phases": results,
    }


def table(report: dict[str, Any]) -> str:
    cols = [
        "phase",
        "users",
        "seconds",
        "bound_seconds",
        "ratio",
        "read_seconds",
        "floor_seconds",
        "ratio_to_floor",
        "requests",
        "min_requests",
        "google_requests",
        "writes",
        "changed_items",
        "write_bound",
        "writes_ratio",
        "bulk_requests",
        "throttled",
        "throttled_share",
        "throughput",
        "of_limit",
        "lowest_concurrency",
        "max_in_flight",
        "cpu_seconds",
        "gc_seconds",
        "peak_rss_mb",
        "phase_result",
        "failed_items",
        "load_average",
    ]
    lines = [" | ".join(cols)]
    lines += [" | ".join(str(p[c]) for c in cols) for p in report["phases"]]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500, help="initial sync size (full: 10000)")
    parser.add_argument("--daily-users", type=int, default=2000, help="daily sync size (full: 100000)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--google-latency-ms", type=float, default=100.0)
    parser.add_argument("--scim-latency-ms", type=float, default=50.0)
    parser.add_argument("--rate-limit", type=float, default=0.0, help="SCIM requests/s (0: none)")
    parser.add_argument("--server", choices=["light", "scim2-server"], default="light")
    parser.add_argument(
        "--bulk-max-operations",
        type=int,
        default=0,
        help="light server: advertise SCIM Bulk with this maxOperations (0: no Bulk)",
    )
    parser.add_argument("--only", choices=["initial", "daily"], help="run one phase")
    parser.add_argument("--no-floor", dest="floor", action="store_false", help="skip the floor runs")
    parser.add_argument("--json", help="write the JSON result here")
    arguments = parser.parse_args()
    report = asyncio.run(main(arguments))
    print(table(report))
    if arguments.json:
        with open(arguments.json, "w") as out:
            json.dump(report, out, indent=2)
    sys.exit(0)
