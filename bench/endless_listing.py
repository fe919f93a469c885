"""Memory and requests of a SCIM listing that never ends, stopped by spec.target.scim.listLimits.

    python bench/endless_listing.py [--users 200000] [--page-size 500] [--padding 0] [--json OUT.json]

The target (`bench/serve.py scim --server endless`, in a process of its own) answers /Users
with pages of `--page-size` users never seen before, for ever, as the hostile target of issue
23 did (515 MB in 30 s before listings were bounded). gwsync lists it with the default limits,
or with `--users` as maxResources, and must stop with the maxResources failure; with
`--padding N` each user carries N characters more, and the text budget stops it sooner. What this
process holds is gwsync's listing alone: `peak_rss_mb` is what a listing stopped at the limit
costs, against the Deployment's 512Mi. The floor is a bare httpx client asking the same pages
one after the other, without reading the users.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from typing import Any

import httpx
from common import Emulator

from gwsync.api.provisioning import ListLimits
from gwsync.sync.ports import TargetError
from gwsync.targets.scim import ScimTarget


async def listing(url: str, token: str, limits: ListLimits) -> tuple[str, float, int]:
    """The failure gwsync gives, the seconds it took, and the requests it sent."""
    async with ScimTarget(url, token, list_limits=limits) as target:
        await target.check()
        before = target.counters.requests
        started = time.perf_counter()
        try:
            users = await target.list_users()
        except TargetError as exc:
            return str(exc), time.perf_counter() - started, target.counters.requests - before
        raise SystemExit(f"the endless listing ended with {len(users)} users: not bounded")


async def floor(url: str, token: str, pages: int, size: int) -> float:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
        started = time.perf_counter()
        for page in range(pages):
            answer = await client.get(f"{url}/Users", params={"startIndex": 1 + page * size, "count": size})
            answer.raise_for_status()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=ListLimits().max_resources, help="maxResources")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--padding", type=int, default=0, help="characters added to each user")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args()
    limits = ListLimits(max_resources=args.users)
    serving = ["--server", "endless", "--page-size", str(args.page_size), "--padding", str(args.padding)]
    with Emulator("scim", *serving) as scim:
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        message, seconds, requests = asyncio.run(listing(scim.url, scim.info["token"], limits))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        pages = requests
        floor_seconds = asyncio.run(floor(scim.url, scim.info["token"], pages, args.page_size))
    result: dict[str, Any] = {
        "name": "endless_listing",
        "users": args.users,
        "page_size": args.page_size,
        "padding": args.padding,
        "seconds": round(seconds, 2),
        "floor_seconds": round(floor_seconds, 2),
        "ratio": round(seconds / floor_seconds, 2) if floor_seconds else None,
        "requests": requests,
        "min_requests": pages,  # one request a page, as the floor: nothing asked twice
        "peak_rss_mb": round(peak),
        "rss_before_listing_mb": round(base_rss),
        "message": message,
    }
    print(
        f"{args.users} users in pages of {args.page_size}: stopped after {requests} requests "
        f"(the floor asks as many) in {seconds:.1f} s (floor {floor_seconds:.1f} s); peak RSS {peak:.0f} MB "
        f"({base_rss:.0f} MB before the listing)\n{message}"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
