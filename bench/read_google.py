"""Benchmark: reading a large organization through the Directory API reader.

    python bench/read_google.py --users 100000 --groups 200 --latency-ms 100 --json out.json

The Google emulator serves a generated org (deterministic seed) from a process of its own
(bench/serve.py), each request answered after `--latency-ms`, above `--rate-limit` requests/s
with 429. gwsync's reader reads every user and the transitive members of every group. The
floor is a bare httpx client fetching exactly the same pages (users at 500 per page on one
thread, members at 200 per page on as many threads as the reader uses) with the same token,
from the same emulator, in the same run. The bound is from first principles: user pages
follow page tokens one after the other, so they are a chain; a group's member pages too; all
requests share `--workers` lanes; under a rate limit they take at least requests / limit.
Peak RSS and CPU time are the benchmark's process alone: gwsync, not the emulator.
"""

import argparse
import json
import math
import resource
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from common import GOOGLE_PAGE, Emulator, rounds

from gwsync.sources.google import MEMBER_FIELDS, USER_FIELDS, GoogleDirectory

API = "/admin/directory/v1"


def member_pages(groups: dict[str, int]) -> list[int]:
    """Pages of members.list per group (an empty group still answers one page)."""
    return [max(1, math.ceil(count / 200)) for count in groups.values()]


def minimum_requests(users: int, groups: dict[str, int]) -> int:
    return math.ceil(users / GOOGLE_PAGE) + sum(member_pages(groups))


def bound_seconds(users: int, groups: dict[str, int], workers: int, latency: float, limit: float) -> float:
    """The critical path of the fewest requests: the user chain, the longest group chain, or
    every request spread over the lanes, whichever is longest; requests / limit under a limit."""
    chain = math.ceil(users / GOOGLE_PAGE)
    pages = member_pages(groups)
    seconds = latency * max(chain, max(pages, default=0), rounds(chain + sum(pages), workers))
    return max(seconds, (chain + sum(pages)) / limit) if limit else seconds


def pages(client: httpx.Client, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        answer = client.get(path, params={**params, **({"pageToken": token} if token else {})})
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        yield body
        token = body.get("nextPageToken")
        if not token:
            return


def floor(url: str, token: str, groups: list[str], workers: int) -> tuple[float, int]:
    headers = {"Authorization": f"Bearer {token}"}
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, headers=headers, timeout=60)
        return local.client  # type: ignore[no-any-return]

    def users() -> int:
        params = {"customer": "my_customer", "maxResults": 500, "fields": USER_FIELDS, "projection": "basic"}
        return sum(len(page.get("users", [])) for page in pages(client(), f"{API}/users", params))

    def members(group: str) -> int:
        params = {"maxResults": 200, "fields": MEMBER_FIELDS}
        return sum(
            len(p.get("members", [])) for p in pages(client(), f"{API}/groups/{group}/members", params)
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        read_users = pool.submit(users)
        list(pool.map(members, groups))
        count = read_users.result()
    return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=100.0, help="per Google request")
    parser.add_argument("--rate-limit", type=float, default=0.0, help="Google requests/s (0: none)")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()

    flags = ["--users", str(args.users), "--groups", str(args.groups), "--latency-ms", str(args.latency_ms)]
    flags += ["--rate-limit", str(args.rate_limit)]
    with Emulator("google", *flags) as emulator:
        groups: dict[str, int] = emulator.info["groups"]
        reader = GoogleDirectory.from_service_account_key(
            emulator.info["key"],
            admin_email=emulator.info["admin"],
            api_endpoint=emulator.url,
            max_workers=args.workers,
        )
        reader.check_connection()
        token = str(reader._credentials.token)
        floor_seconds, floor_users = floor(emulator.url, token, list(groups), args.workers)

        emulator.reset()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        directory = reader.read(list(groups))
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        stats = emulator.stats()
        made = stats["requests"].get("users", 0) + stats["requests"].get("members", 0)

    assert len(directory.people) == floor_users == args.users, (len(directory.people), floor_users)
    cpu_seconds = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    bound = bound_seconds(args.users, groups, args.workers, args.latency_ms / 1000, args.rate_limit)
    result = {
        "name": "read_google",
        "users": args.users,
        "groups": args.groups,
        "latency_ms": args.latency_ms,
        "rate_limit": args.rate_limit,
        "seconds": round(seconds, 3),
        "floor_seconds": round(floor_seconds, 3),
        "ratio_to_floor": round(seconds / floor_seconds, 3),
        "bound_seconds": round(bound, 3),
        "ratio": round(seconds / bound, 3) if bound else None,
        "users_per_second": round(args.users / seconds),
        "requests": made,
        "min_requests": minimum_requests(args.users, groups),
        "customer_requests": stats["requests"].get("customer", 0),
        "throttled": stats["throttled"],
        "max_in_flight": stats["max_in_flight"],
        "cpu_seconds": round(cpu_seconds, 3),
        "cpu_ms_per_1000_users": round(cpu_seconds * 1000 / (args.users / 1000), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=2)
    if result["requests"] != result["min_requests"]:
        print("requests differ from the minimum", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
