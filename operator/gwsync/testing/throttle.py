"""The rate limit of the test SCIM servers: a token bucket, so 429s come under load and only then."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class Throttle:
    """`burst` requests at once (default: one second's worth), refilled at `rate` a second.

    `rate` None: no limit. Safe to call from the server's threads.
    """

    rate: float | None = None
    burst: float | None = None
    tokens: float = 0.0
    stamp: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def allow(self) -> bool:
        """Whether one more request may be served now (it takes a token)."""
        if self.rate is None:
            return True
        most = self.rate if self.burst is None else self.burst
        with self.lock:
            now = time.monotonic()
            if not self.stamp:
                self.tokens, self.stamp = most, now
            self.tokens = min(most, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True
