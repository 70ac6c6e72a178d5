"""A bounded map whose entries expire: the answer cache, the rate limiter's windows and the usage
recorder's per-client minutes are each one.

cachetools' ``TTLCache`` is close but does not fit: its reads reorder entries (so they need a
lock, and the answer cache is read without one), it has one bound where the answer cache has two
(entries and bytes), and when full it drops the least recently used entry where a window must
drop the one that started first.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ExpiringMap(Generic[K, V]):
    """key → value until the value's expiry time, in the order entries were put: at most
    ``maxsize`` entries and ``max_bytes`` of their sizes (as the caller measures them).

    ``get`` takes no lock and changes nothing (one dict lookup, atomic under the GIL); ``put``
    and ``clear`` run under the owner's lock. A put drops entries from the front (the oldest
    put) while they have expired or there is no room: with one lifetime for every entry the
    oldest is also the first to expire, and with a lifetime per entry an expired entry behind a
    live one stays until its turn (it is never returned and it counts against the bounds).
    Times are the caller's clock: whatever it passes as ``now``."""

    def __init__(self, maxsize: int, max_bytes: float = math.inf):
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self._entries: dict[K, tuple[float, V, int]] = {}  # key → (expires at, value, size)
        self.bytes = 0  # the sizes of the entries held

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[K]:
        """The keys held (expired or not), oldest first."""
        return iter(list(self._entries))

    def get(self, key: K, now: float) -> V | None:
        """The value of ``key``, or None when there is none or it expired at or before ``now``."""
        entry = self._entries.get(key)
        if entry is not None and now < entry[0]:
            return entry[1]
        return None

    def put(self, key: K, value: V, expires: float, now: float, size: int = 0) -> None:
        """Hold ``value`` until ``expires``, as the newest entry (replacing any for ``key``)."""
        entries = self._entries
        previous = entries.pop(key, None)
        if previous is not None:
            self.bytes -= previous[2]
        while entries:
            oldest = next(iter(entries))
            ends, _, held = entries[oldest]
            if ends > now and len(entries) < self.maxsize and self.bytes + size <= self.max_bytes:
                break
            del entries[oldest]
            self.bytes -= held
        entries[key] = (expires, value, size)
        self.bytes += size

    def clear(self) -> None:
        self._entries = {}  # a reader holding the old dict finds only what was there before
        self.bytes = 0
