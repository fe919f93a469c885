"""Benchmark: members.from Groups reads only what it needs (issue 24, point 8).

    python bench/read_chosen_groups.py --users 20000 --team 20 --most 18000 --latency-ms 100

The Google emulator (bench/serve.py, its own process, each request answered `--latency-ms`
after it arrived) serves a generated org of `--users` with two more groups: `chosen-<team>@`
(a small team) and `chosen-<most>@` (most of the org). For each shape the reader reads the
group as a sync of `members: {from: Groups}` does (a Selection), then as before this point
(every user listed, the `before` rows). The small team is read as its member pages and one
users.get per member (requests: member pages + members), a group of most of the org as the
listing (user pages + member pages), started as soon as its members pass the limit.
`min_requests` is the fewer of the two plans; the bound is the critical path of that plan:
the member chain, then the gets `--workers` at a time, or the user page chain.
"""

import argparse
import json
import math
import time
from typing import Any

from common import GOOGLE_PAGE, Emulator, rounds

from gwsync.directory import Selection
from gwsync.sources.google import GoogleDirectory


def run(emulator: Emulator, args: argparse.Namespace, group: str, selected: bool) -> dict[str, Any]:
    reader = GoogleDirectory.from_service_account_key(
        emulator.info["key"],
        admin_email=emulator.info["admin"],
        api_endpoint=emulator.url,
        max_workers=args.workers,
    )
    reader.check_connection()
    emulator.reset()
    started = time.perf_counter()
    directory = reader.read([group], (), None, Selection((group,)) if selected else None)
    seconds = time.perf_counter() - started
    made: dict[str, int] = emulator.stats()["requests"]
    members = len(directory.groups[group])
    member_pages = max(1, math.ceil(members / 200))
    user_pages = math.ceil(args.users / GOOGLE_PAGE)
    gets = member_pages + members
    latency = args.latency_ms / 1000
    if selected and not directory.complete:
        bound = latency * (member_pages + rounds(members, args.workers))
    else:
        bound = latency * max(user_pages, member_pages)
    return {
        "shape": f"{members} of {args.users}",
        "plan": ("users.get each" if not directory.complete else "listing") if selected else "before",
        "seconds": round(seconds, 3),
        "bound_seconds": round(bound, 3),
        "requests": made.get("users", 0) + made.get("members", 0),
        "min_requests": min(gets, user_pages + member_pages),
        "users_read": len(directory.people),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--team", type=int, default=20)
    parser.add_argument("--most", type=int, default=18000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=100.0, help="per Google request")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()

    flags = ["--users", str(args.users), "--latency-ms", str(args.latency_ms)]
    flags += ["--chosen", str(args.team), "--chosen", str(args.most)]
    rows = []
    with Emulator("google", *flags) as emulator:
        domain = next(iter(emulator.info["groups"])).split("@")[1]
        for size in (args.team, args.most):
            group = f"chosen-{size}@{domain}"
            rows += [run(emulator, args, group, True), run(emulator, args, group, False)]
    result = {
        "name": "read_chosen_groups",
        "users": args.users,
        "latency_ms": args.latency_ms,
        "seconds": rows[0]["seconds"],
        "floor_seconds": rows[1]["seconds"],  # the small team read as before: the listing
        "ratio": round(rows[0]["seconds"] / rows[1]["seconds"], 3),
        "requests": rows[0]["requests"],
        "min_requests": rows[0]["min_requests"],
        "shapes": rows,
    }
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(str(row[key]) for key in keys))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
