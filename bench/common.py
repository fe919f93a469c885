"""What the benchmarks share: the synthetic people, the daily churn, and emulators in processes.

Each emulator runs in a process of its own (`bench/serve.py`), so the benchmark's process
holds only gwsync (its peak RSS is gwsync's), and the emulators' CPU time does not compete
with gwsync's for the same interpreter lock. A process prints one JSON line (its URL and
what the benchmark needs to know), then serves until it is terminated; `/_bench/stats` and
`/_bench/reset` read and clear its request counters.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from gwsync.directory import Person
from gwsync.testing.org import Org, OrgCustomer, OrgUser

SERVE = Path(__file__).with_name("serve.py")
DOMAIN = "acme.com"
GOOGLE_PAGE = 500  # users.list maxResults cap: the reader's page


def people(n: int, start: int = 0) -> list[Person]:
    return [
        Person(
            id=f"{i:021d}",
            primary_email=f"user{i}@{DOMAIN}",
            given_name=f"G{i}",
            family_name=f"F{i}",
            full_name=f"G{i} F{i}",
            title="Engineer",
            department="R&D",
            photo_url=f"https://p/{i}.jpg",
            photo_etag="e1",
        )
        for i in range(start, start + n)
    ]


def daily(n: int) -> tuple[list[Person], list[Person]]:
    """`n` people before, and after 1% churn: a quarter renamed, a quarter new titles,
    a quarter hired, a quarter gone (at least one of each)."""
    base = people(n)
    churn = max(4, n // 100)
    after = list(base)
    for i in range(churn // 4):
        after[i] = replace(after[i], primary_email=f"renamed{i}@{DOMAIN}")
        after[churn // 4 + i] = replace(after[churn // 4 + i], title="Staff Engineer")
    after = after[: len(after) - churn // 4] + people(churn // 4, start=10**8)
    return base, after


def org_of(persons: list[Person]) -> Org:
    """The Google org serving these people; the first one is the delegation admin."""
    users = [
        OrgUser(
            id=p.id,
            primary_email=p.primary_email,
            given_name=p.given_name,
            family_name=p.family_name,
            title=p.title,
            department=p.department,
            photo_url=p.photo_url,
            photo_etag=p.photo_etag,
        )
        for p in persons
    ]
    return Org(customer=OrgCustomer(primary_domain=DOMAIN), admins=[users[0].primary_email], users=users)


def rounds(requests: int, lanes: int) -> int:
    """Round trips for `requests` independent requests with `lanes` in flight."""
    return math.ceil(requests / lanes) if requests > 0 else 0


class Emulator:
    """`bench/serve.py KIND ARGS...` in a child process: its JSON line, counters, shutdown."""

    def __init__(self, kind: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVE), kind, *args], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise RuntimeError(f"bench/serve.py {kind} exited with {self.process.returncode}")
        self.info: dict[str, Any] = json.loads(line)
        self.url: str = self.info["url"]
        self.control = self.info["control"]

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.control}/_bench/stats", timeout=60).json()  # type: ignore[no-any-return]

    def reset(self) -> None:
        httpx.post(f"{self.control}/_bench/reset", timeout=60).raise_for_status()

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
