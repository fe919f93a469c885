"""Benchmark: initial sync and a daily sync with churn, gwsync against scim2-server.

    python bench/sync_scim.py --users 10000 --daily-users 100000 --json out.json

Phase 1 (initial): N users into an empty scim2-server. Phase 2 (daily): M users already
provisioned (seeded in the server's store directly), then a sync with 1% churn (half renames
or title updates, a quarter hires, a quarter departures). The floor is a bare httpx client
issuing the minimum requests (list pages + one write per changed item) against the same server.
"""

import argparse
import asyncio
import json
import resource
import sys
import time
from dataclasses import replace
from typing import Any

import httpx

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.directory import Directory, Person
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.sync.plan import desired_attributes
from gwsync.targets.scim import ScimTarget, user_resource
from gwsync.testing.memory import StaticSource
from gwsync.testing.scim import ScimServer, run_scim_server

PAGE = 500


def spec(concurrency: int) -> GoogleProvisioningSpec:
    return GoogleProvisioningSpec.model_validate(
        {
            "google": {"adminEmail": "admin@acme.com", "credentialsSecretRef": {"name": "g", "key": "k"}},
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


def people(n: int, start: int = 0) -> list[Person]:
    return [
        Person(
            id=f"{i:021d}",
            primary_email=f"user{i}@acme.com",
            given_name=f"G{i}",
            family_name=f"F{i}",
            title="Engineer",
            department="R&D",
            photo_url=f"https://p/{i}.jpg",
            photo_etag="e1",
        )
        for i in range(start, start + n)
    ]


def org(persons: list[Person]) -> Directory:
    return Directory("C1", "acme.com", {p.id: p for p in persons})


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed_store(scim: ScimServer, persons: list[Person]) -> Ledger:
    """Put users straight into scim2-server's store (the daily phase starts from a synced org)."""
    from scim2_server.utils import load_default_provider

    provider = load_default_provider()
    user_type = next(rt for rt in provider.resource_types if rt.id == "User")
    model: Any = provider.model_for(user_type)
    ledger = Ledger.empty()
    for person in persons:
        created = scim.storage.create(
            user_type, model.model_validate(user_resource(desired_attributes(person)))
        )
        ledger.users[person.id] = str(created.id)
    return ledger


async def floor(scim: ScimServer, concurrency: int, total: int, writes: list[dict[str, Any]]) -> float:
    """Minimum requests with a bare client: list pages, then one request per write."""
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=scim.url, headers={"Authorization": f"Bearer {scim.token}"}, limits=limits
    ) as client:
        for start in range(1, total + 1, PAGE):
            (await client.get("/Users", params={"startIndex": start, "count": PAGE})).raise_for_status()
        await client.get("/Groups", params={"startIndex": 1, "count": PAGE})
        slots = asyncio.Semaphore(concurrency)

        async def one(payload: dict[str, Any]) -> None:
            async with slots:
                await client.post("/Users", json=payload)

        await asyncio.gather(*(one(p) for p in writes))
    return time.perf_counter() - started


async def run_phase(
    name: str, scim: ScimServer, before: list[Person], after: list[Person], ledger: Ledger, concurrency: int
) -> dict[str, Any]:
    scim.reset_log()
    started = time.perf_counter()
    async with ScimTarget(scim.url, scim.token, max_concurrency=concurrency) as target:
        outcome = await run_sync(StaticSource(org(after)), target, spec(concurrency), ledger)
        seconds = time.perf_counter() - started
        counters = target.counters
    changed = sum(1 for i in outcome.items if i.data_changed)
    listed = len(before)
    min_requests = 1 + (max(listed, 1) + PAGE - 1) // PAGE + 1 + changed  # config, user pages, groups, writes
    # Floor against a fresh server holding the same users, issuing `changed` creates.
    with run_scim_server(token=scim.token) as fresh:
        if before:
            seed_store(fresh, before)
        payloads = [
            user_resource(desired_attributes(p)) | {"userName": f"floor{i}@acme.com"}
            for i, p in enumerate(after[:changed])
        ]
        floor_seconds = await floor(fresh, concurrency, listed, payloads)
    return {
        "phase": name,
        "phase_result": outcome.phase,
        "users": len(after),
        "seconds": round(seconds, 3),
        "floor_seconds": round(floor_seconds, 3),
        "ratio": round(seconds / floor_seconds, 2) if floor_seconds else None,
        "requests": counters.requests,
        "min_requests": min_requests,
        "writes": counters.writes,
        "changed_items": changed,
        "users_per_second": round(len(after) / seconds, 1),
        "peak_rss_mb": round(rss_mb(), 1),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results = []
    with run_scim_server() as scim:
        initial = people(args.users)
        results.append(await run_phase("initial", scim, [], initial, Ledger.empty(), args.concurrency))
    with run_scim_server() as scim:
        base = people(args.daily_users)
        ledger = seed_store(scim, base)
        churn = max(4, args.daily_users // 100)
        after = list(base)
        for i in range(churn // 4):
            after[i] = replace(after[i], primary_email=f"renamed{i}@acme.com")
            after[churn // 4 + i] = replace(after[churn // 4 + i], title="Staff Engineer")
        after = after[: len(after) - churn // 4] + people(churn // 4, start=10**8)
        results.append(await run_phase("daily-1%-churn", scim, base, after, ledger, args.concurrency))
    head = results[0]
    return {
        "name": "sync_scim",
        "users": head["users"],
        "seconds": head["seconds"],
        "floor_seconds": head["floor_seconds"],
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
        "floor_seconds",
        "ratio",
        "requests",
        "min_requests",
        "writes",
        "changed_items",
        "users_per_second",
        "peak_rss_mb",
        "phase_result",
    ]
    lines = [" | ".join(cols)]
    lines += [" | ".join(str(p[c]) for c in cols) for p in report["phases"]]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000, help="initial sync size (full: 10000)")
    parser.add_argument("--daily-users", type=int, default=5000, help="daily sync size (full: 100000)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", help="write the JSON result here")
    arguments = parser.parse_args()
    report = asyncio.run(main(arguments))
    print(table(report))
    if arguments.json:
        with open(arguments.json, "w") as out:
            json.dump(report, out, indent=2)
    sys.exit(0)
