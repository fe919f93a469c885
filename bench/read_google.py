"""Benchmark: reading a large organization through the Directory API reader.

    python bench/read_google.py --users 100000 --groups 200 --json out.json

The Google emulator serves a generated org (deterministic seed). gwsync's reader reads every
user and the transitive members of every group. The floor is a bare httpx client fetching
exactly the same pages (users at 500 per page on one thread, members at 200 per page on as
many threads as the reader uses) with the same token, from the same emulator, in the same run.
Peak RSS is the whole process: it includes the emulator's copy of the org.
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

from gwsync.sources.google import MEMBER_FIELDS, USER_FIELDS, GoogleDirectory
from gwsync.testing.google import GoogleEmulator, google_emulator_in_thread
from gwsync.testing.org import Org
from gwsync.testing.orggen import generate_org

API = "/admin/directory/v1"


def reachable(org: Org) -> dict[str, int]:
    """Every group reachable from all groups (here: all of them) and its direct member count."""
    return {group.email.lower(): len(group.members) for group in org.groups}


def minimum_requests(org: Org) -> int:
    users = math.ceil(len(org.users) / 500)
    members = sum(max(1, math.ceil(count / 200)) for count in reachable(org).values())
    return users + members


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


def floor(emulator: GoogleEmulator, token: str, groups: list[str], workers: int) -> tuple[float, int]:
    headers = {"Authorization": f"Bearer {token}"}
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=emulator.url, headers=headers, timeout=60)
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
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()

    org = generate_org(args.users, groups=args.groups, seed=7)
    groups = [group.email.lower() for group in org.groups]
    with google_emulator_in_thread(org) as emulator:
        reader = GoogleDirectory.from_service_account_key(
            emulator.service_account_key(),
            admin_email=org.admins[0],
            api_endpoint=emulator.url,
            max_workers=args.workers,
        )
        reader.check_connection()
        token = str(reader._credentials.token)
        floor_seconds, floor_users = floor(emulator, token, groups, args.workers)

        emulator.log.clear()
        started = time.perf_counter()
        directory = reader.read(groups)
        seconds = time.perf_counter() - started
        made = len(emulator.requests("users")) + len(emulator.requests("members"))
        customer_requests = len(emulator.requests("customer"))

    assert len(directory.people) == floor_users == args.users, (len(directory.people), floor_users)
    result = {
        "name": "read_google",
        "users": args.users,
        "groups": args.groups,
        "seconds": round(seconds, 3),
        "floor_seconds": round(floor_seconds, 3),
        "ratio": round(seconds / floor_seconds, 3),
        "users_per_second": round(args.users / seconds),
        "requests": made,
        "min_requests": minimum_requests(org),
        "customer_requests": customer_requests,
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
