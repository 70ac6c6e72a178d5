"""A small per-key token bucket, per worker: ``rate`` requests per minute with bursts of up to
``rate``, for CDS feedback per issuer (or per client address in development mode). Bounded:
at most ``max_keys`` buckets, the longest idle dropped first (a full bucket is no loss)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rate: int, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.rate, self.max_keys, self.clock = rate, max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go ahead (a token is spent), else seconds until it may."""
        now = self.clock()
        per_second = self.rate / 60.0
        with self._lock:
            tokens, when = self._buckets.pop(key, (float(self.rate), now))
            tokens = min(float(self.rate), tokens + (now - when) * per_second)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / per_second
            self._buckets[key] = (tokens - 1 if tokens >= 1 else tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait
