"""Per-client rate limits counted with the ``limits`` library's fixed windows, in Redis when
INFOBUTTON_REDIS_URL is set (every worker and instance shares the count), else in this process's
memory. If Redis fails, each process counts in memory until Redis answers again (tried after 1 s,
then at doubling intervals up to a minute), and the answers keep flowing.

Used for the public budget (``web.limits``, INFOBUTTON_RATE_LIMIT) and for CDS Hooks feedback
per caller (``cds.gate``, INFOBUTTON_CDS_FEEDBACK_RATE), each under its own namespace.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable

from cachetools import TTLCache
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .expiring import ExpiringMap

log = logging.getLogger(__name__)

PUBLIC = "infobutton-rate"  # the public budget's namespace: the Redis keys flask-limiter used
SCOPE = "global"  # flask-limiter's scope for an application-wide limit: the same Redis keys
MAX_CLIENTS = 100_000  # clients counted in memory per limit; the oldest window goes first
REFUSAL_LOG_INTERVAL = 60.0  # seconds: one log line per refused client at most this often
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
RETRY_MAX_SECONDS = 60.0  # longest wait before asking a failed Redis again


def storage_uri(redis_url: str) -> str:
    """The limits storage URI for INFOBUTTON_REDIS_URL (``unix://`` is ``redis+unix://`` there)."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


class MemoryWindows:
    """Fixed windows counted in this process: for each limit, client → [window end, hits] in an
    ``ExpiringMap``, so ended windows are dropped oldest first as hits come in and, past
    ``max_clients``, the window that started first is forgotten. A window starts at a client's
    first hit, as in the ``limits`` library's storages."""

    def __init__(self, items: list[RateLimitItem], timer: Callable[[], float], max_clients: int = MAX_CLIENTS):
        self.items = items
        self._timer = timer
        self._windows: list[ExpiringMap[str, list]] = [ExpiringMap(max_clients) for _ in items]
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(len(w) for w in self._windows)

    def hit(self, client: str) -> tuple[RateLimitItem, float] | None:
        """Count one request of ``client`` against each limit, in order, up to the first one it
        exceeds: that limit and when its window ends (timer seconds), or None."""
        now = self._timer()
        with self._lock:
            for item, windows in zip(self.items, self._windows, strict=True):
                window = windows.get(client, now)
                if window is None:
                    window = [now + item.get_expiry(), 0]
                    windows.put(client, window, window[0], now)
                window[1] += 1
                if window[1] > item.amount:
                    return item, window[0]
        return None


class RateLimits:
    """The configured limits for every client: in Redis when ``redis_url`` is set (falling back to
    ``MemoryWindows`` while Redis fails), else in this process's memory. ``namespace``: the
    budget's own keys in Redis (one budget per namespace)."""

    def __init__(
        self,
        rate: str,
        redis_url: str = "",
        *,
        namespace: str = PUBLIC,
        exempt: Iterable[Network] = (),
        timer: Callable[[], float] = time.time,
    ):
        self.items = sorted(parse_many(rate))  # shortest period first, as flask-limiter checked them
        self.namespace = namespace
        self.exempt = tuple(exempt)
        self._timer = timer
        self.memory = MemoryWindows(self.items, timer)
        self._shared: FixedWindowRateLimiter | None = None
        if redis_url:
            # a Redis that hangs must not hold answers: short timeouts, then counting in memory
            storage = storage_from_string(storage_uri(redis_url), socket_timeout=0.2, socket_connect_timeout=0.2)
            self._shared = FixedWindowRateLimiter(storage)
        self._down_since: float | None = None  # Redis failed; counting in memory meanwhile
        self._retry_at = 0.0
        self._retry_wait = 1.0

    def hit(self, client: str) -> tuple[RateLimitItem, float] | None:
        """Count one request of ``client``: the first limit it exceeds and when that limit's
        window ends (epoch seconds), or None. A client in an ``exempt`` network is never counted."""
        if self.exempt and self.is_exempt(client):
            return None
        if self._shared is not None and self._shared_up():
            try:
                return self._hit_shared(self._shared, client)
            except Exception as exc:  # any storage failure: count in memory, never fail the answer
                self._went_down(exc)
        return self.memory.hit(client)

    def is_exempt(self, client: str) -> bool:
        try:
            address = ipaddress.ip_address(client)
        except ValueError:  # "unknown" or a unix socket peer: not an address an operator can name
            return False
        return any(address in network for network in self.exempt)

    def retry_after(self, reset_at: float) -> int:
        """Whole seconds until a window that ends at ``reset_at`` (``hit``'s), at least 1: the
        Retry-After of a 429."""
        return max(1, math.ceil(reset_at - self._timer()))

    def _hit_shared(self, limiter: FixedWindowRateLimiter, client: str) -> tuple[RateLimitItem, float] | None:
        for item in self.items:
            if not limiter.hit(item, self.namespace, client, SCOPE):
                return item, limiter.get_window_stats(item, self.namespace, client, SCOPE).reset_time
        return None

    def _shared_up(self) -> bool:
        """Whether to ask Redis: yes while it works; while down, once per retry interval."""
        if self._down_since is None:
            return True
        now = self._timer()
        if now < self._retry_at:
            return False
        assert self._shared is not None
        self._retry_at, self._retry_wait = now + self._retry_wait, min(self._retry_wait * 2, RETRY_MAX_SECONDS)
        if self._shared.storage.check():
            log.warning("rate limit storage answers again; counting in Redis")
            self._down_since, self._retry_wait = None, 1.0
            return True
        return False

    def _went_down(self, exc: Exception) -> None:
        if self._down_since is None:
            log.warning("rate limit storage unreachable (%s); counting in memory", type(exc).__name__)
            self._down_since = self._timer()
            self._retry_at, self._retry_wait = self._down_since + 1.0, 2.0


class RefusalLog:
    """Log lines about refused clients, bounded: a client's first refusal is logged, then at most
    one line per ``interval`` saying how many were refused since, so a flood adds kilobytes to the
    logs, not megabytes (every refusal is still counted in the request metrics, by status). At
    most ``max_clients`` clients are remembered, each for two intervals. The address is not
    logged."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        interval: float = REFUSAL_LOG_INTERVAL,
        max_clients: int = 10_000,
        timer: Callable[[], float] = time.monotonic,
    ):
        self._log = logger
        self._what = what
        self._interval = interval
        self._timer = timer
        # client → [when its last line was logged, refusals since]
        self._clients: TTLCache = TTLCache(maxsize=max_clients, ttl=2 * interval, timer=timer)
        self._lock = threading.Lock()

    def refused(self, client: str, detail: str) -> None:
        """Count one refusal of ``client`` (``detail``: which limit) and log it when due."""
        now = self._timer()
        with self._lock:
            seen = self._clients.get(client)
            if seen is not None and now - seen[0] < self._interval:
                seen[1] += 1
                return
            since = seen[1] if seen is not None else 0
            self._clients[client] = [now, 0]
        if since:
            self._log.info("%s (%s): %d more refused in the last %d s", self._what, detail, since, self._interval)
        else:
            self._log.info("%s (%s)", self._what, detail)
