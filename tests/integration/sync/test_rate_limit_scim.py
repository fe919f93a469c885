"""A target with a rate limit is synced as a steady stream, not a storm (issue 12, point 4).

The servers' own logs are the witnesses: how many requests they refused, and when requests
came. The rate limit is measured on gwsync.testing.lightscim (a token bucket holding one
second's worth, 429 with Retry-After at once, as bench/serve.py's and many SaaS gateways):
scim2-server, shared with the test's own process, serves 15-25 requests/s on this busy
machine, too slow to ever reach a limit a test of a few seconds can measure. The Retry-After
pause is shown on scim2-server, where speed does not matter.
"""

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gwsync.api.report import Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.lightscim import run_light_scim
from gwsync.testing.memory import StaticSource
from gwsync.testing.scim import run_scim_server

from .conftest import org, person, spec

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

TOO_MANY = b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "429"}'


async def test_a_sync_under_a_rate_limit_fails_no_item_and_few_requests_are_refused() -> None:
    # 150 creates to an API answering each request after 50 ms, at most 30 requests/s (a
    # second's worth at once, then 429 with Retry-After: 1, as bench/serve.py's limiter and
    # many SaaS gateways do). Eight in flight would go at 160/s; retries alone, at full
    # concurrency, ran items out of attempts (bench/README.md, before issue 12's point 4).
    with run_light_scim(latency=0.05, rate_limit=30, retry_after="1") as scim:
        async with ScimTarget(scim.url, scim.token, max_concurrency=8) as target:
            outcome = await run_sync(
                StaticSource(org([person(i) for i in range(150)])), target, spec(), Ledger.empty()
            )
            lowest = target._scim.pacer.lowest

    assert outcome.phase == "Succeeded", outcome.message
    assert [i.result for i in outcome.items].count(Result.SUCCEEDED) == 150
    assert len(scim.users.resources) == 150
    assert scim.throttled >= 1 and lowest < 8  # the limit was reached, and gwsync slowed down
    # Few refused: at most 5% of the requests (issue 12's line, measured over 2,000 creates in
    # bench/README.md) plus the first storm. The requests already in flight when the first 429
    # comes back (up to the 8 the sync started with) cannot be called back, and in a sync of
    # 150 creates they alone are about 5% (9 of 164 in a CI run). A client that does not slow
    # down has most of its requests refused here (160/s asked of a 30/s limit).
    first_storm = 8
    assert scim.throttled <= first_storm + 0.05 * len(scim.log), (scim.throttled, len(scim.log))


@dataclass
class OneRefusal:
    """Refuse the `nth` POST with 429 and Retry-After: `retry_after`; log every arrival time."""

    nth: int
    retry_after: str
    posts: int = 0
    arrivals: list[float] = field(default_factory=list)
    refused_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, app: "WSGIApplication") -> "WSGIApplication":
        def refusing(environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
            with self.lock:
                now = time.monotonic()
                self.arrivals.append(now)
                if environ["REQUEST_METHOD"] == "POST":
                    self.posts += 1
                    if self.posts == self.nth:
                        self.refused_at = now
            if self.refused_at != now:
                return app(environ, start_response)
            start_response(
                "429 Too Many Requests",
                [("Content-Type", "application/scim+json"), ("Retry-After", self.retry_after)],
            )
            return [TOO_MANY]

        return refusing


async def test_a_429_holds_every_request_for_its_retry_after_and_fails_nothing() -> None:
    # The 20th POST is refused with Retry-After: 1. Only the requests already in flight may
    # reach the server in that second; retrying the refused one alone would have let the
    # other seven slots go on at full speed (about a hundred requests in that second).
    refusal = OneRefusal(nth=20, retry_after="1")
    with run_scim_server(delay=0.01, wrap=refusal.wrap) as scim:
        async with ScimTarget(scim.url, scim.token, max_concurrency=8) as target:
            started = time.monotonic()
            outcome = await run_sync(
                StaticSource(org([person(i) for i in range(40)])), target, spec(), Ledger.empty()
            )
            seconds = time.monotonic() - started

    assert outcome.phase == "Succeeded", outcome.message
    assert outcome.summary.users.created == 40 and outcome.summary.users.failed == 0
    assert refusal.refused_at is not None and seconds >= 1.0  # slowed by the Retry-After
    held = [at for at in refusal.arrivals if refusal.refused_at < at < refusal.refused_at + 0.95]
    # The other seven requests in flight, and those sent while the 429 was on its way back (on
    # a loaded machine a few more): far from the hundred a second a retry-only hold lets through.
    assert len(held) <= 16, len(held)
