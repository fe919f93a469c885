"""How long to wait before retrying a refused request: one rule for Google, the SCIM target and
SCIM Bulk (DESIGN §3.6: honour 429/503 and Retry-After with exponential back-off and jitter, on
both sides); imports nothing of ours.

The rule, for the retry that follows attempt n (1 for the first refusal):

- the back-off step is `base * 2**(n-1)`, at most `cap`;
- the wait is drawn uniformly between half the step and the step ("equal jitter"): never
  longer than the cap, never shorter than half of it, and clients refused at the same moment
  come back at different ones;
- a Retry-After header, when it asks for a pause (delta-seconds or an HTTP-date still to
  come), is a floor: the wait is what it asks plus a tenth of the jittered step, so clients
  told the same instant do not all come back at it. What it asks is capped at
  MAX_RETRY_AFTER; a Retry-After of 0, a date already past or a header that is neither form
  says nothing more than the status, and the back-off applies.

Each adapter keeps its own settings (base, cap, attempts): Google's quotas are per minute,
a SCIM target's per second.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MAX_RETRY_AFTER", "Backoff", "retry_after_seconds"]

MAX_RETRY_AFTER = 120.0
"""The longest pause a Retry-After may impose: a provider asking for a day (86400) would hold
the sync that long at each of its attempts; past two minutes the sync goes on and the request
is retried (or fails its item) as for any other refusal."""

RETRY_AFTER_JITTER = 0.1
"""The share of the jittered back-off step added to a Retry-After."""


def retry_after_seconds(value: str | None, default: float, *, now: Callable[[], float] = time.time) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP-date), within
    [0, MAX_RETRY_AFTER]; `default` when the header is missing or in neither form."""
    if not value:
        return default
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # neither form: nothing usable
        return default
    try:
        left = parsed.timestamp() - now()
    except (OverflowError, ValueError, OSError):  # a year no clock reaches
        return default
    return min(MAX_RETRY_AFTER, max(0.0, left))


@dataclass(frozen=True)
class Backoff:
    """The wait before each retry of one adapter's requests (the rule in this module's doc).

    `draw` (uniform in [0, 1)) is a parameter so the bounds can be tested; the jitter is no
    cryptography.
    """

    base: float
    cap: float
    draw: Callable[[], float] = random.random

    def step(self, attempt: int) -> float:
        """The un-jittered back-off after attempt `attempt` (1-based), at most `cap`."""
        if attempt < 1:
            raise ValueError("attempts are counted from 1")
        # 2 ** 1100 overflows a float: past the cap the exponent no longer matters.
        exponent = min(attempt - 1, 64)
        return min(self.cap, self.base * 2.0**exponent)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after attempt `attempt` was refused, given the answer's Retry-After
        header (None when it had none)."""
        step = self.step(attempt)
        jittered = step * (0.5 + 0.5 * self.draw())
        asked = retry_after_seconds(retry_after, 0.0)
        return asked + jittered * RETRY_AFTER_JITTER if asked else jittered
