"""What every test server of gwsync.testing records about a request, and how a fault picks one.

The Google emulator, the scim2-server middleware, the AWS and light SCIM servers and the fault
proxy all let a test count what gwsync sent ("the second sync writes nothing", "one request
per 100 members", "three attempts, backing off"), and most let a test script a failure for
chosen requests. One record (`LoggedRequest`) and one matcher (`RequestMatch`) serve them all,
so a count or a fault means the same thing whichever server a test runs against.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class LoggedRequest:
    """One request a test server answered, or the fault proxy handled.

    Servers log a request once answered. The proxy logs it when it arrives and completes it
    when it ends (`outcome`, `status`, `ended`, `applied`), so a hung request is visible
    while it hangs.
    """

    method: str
    path: str
    query: str = ""  # the raw query string
    status: int | None = None  # what the client got; None while in flight or when it got no answer
    api: str = ""  # the Google emulator: users, groups, members, customer, token or signJwt
    body: bytes = b""  # the request's body (kept by the fault proxy)
    started: float = field(default_factory=time.monotonic)  # when the request arrived
    ended: float | None = None  # the proxy: None while in flight
    outcome: str = (
        "served"  # the proxy: pending, forwarded, answered, reset, hung, delayed, trickled, rewritten
    )
    applied: bool = False  # the proxy: the upstream received the request

    @property
    def write(self) -> bool:
        return self.method in WRITE_METHODS

    @property
    def injected(self) -> bool:
        """The fault proxy did something else than forward it."""
        return self.outcome not in ("served", "forwarded", "pending")

    @property
    def params(self) -> Mapping[str, str]:
        """The query parameters (the last value of a repeated one)."""
        return dict(urllib.parse.parse_qsl(self.query, keep_blank_values=True))


class RequestLog(list[LoggedRequest]):
    """The requests a server logged, oldest first."""

    @property
    def writes(self) -> list[LoggedRequest]:
        return [r for r in self if r.write]


@dataclass(kw_only=True)
class RequestMatch:
    """Which requests a scripted fault applies to, and how many more it takes.

    A request matches when its method equals `method` (if set) and its path, query string
    and body contain `path`, `query` and `body` (each if set). `times` is how many matching
    requests it takes (None: all of them); `hits` counts those it took.
    """

    method: str | None = None
    path: str | None = None
    query: str | None = None
    body: str | None = None
    times: int | None = 1
    hits: int = 0

    def matches(self, method: str, path: str, query: str = "", body: bytes = b"") -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method != method:
            return False
        if self.path is not None and self.path not in path:
            return False
        if self.query is not None and self.query not in query:
            return False
        return self.body is None or self.body.encode() in body


Match = TypeVar("Match", bound=RequestMatch)


def take(rules: Iterable[Match], method: str, path: str, query: str = "", body: bytes = b"") -> Match | None:
    """The first rule matching the request, its hit counted; None when none does."""
    rule = next((r for r in rules if r.matches(method, path, query, body)), None)
    if rule is not None:
        rule.hits += 1
    return rule
