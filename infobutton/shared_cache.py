"""Rendered responses shared across instances in Redis (optional; ``INFOBUTTON_REDIS_URL``).

The per-worker cache in ``knowledge`` stays the first level; this one spares other workers and
instances the work of building the same answer. Keys carry the mapping and topic versions, so
a committed change never serves an old answer: stale keys simply expire. Redis is never on the
critical path: short timeouts, and after a failure it is skipped for a while and answers are
built locally.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from .models import Code, CodeSystem, RenderedResponse

log = logging.getLogger(__name__)


def encode(value: RenderedResponse) -> dict[str, bytes]:
    answered = [[code.system.name, code.value] for code in value.answered]
    return {
        "body": value.body,
        "type": value.content_type.encode(),
        "etag": value.etag.encode(),
        "answered": json.dumps(answered).encode(),
        "layers": json.dumps(value.layers).encode(),
    }


def decode(fields: Mapping[Any, bytes | str]) -> RenderedResponse:  # Any: redis versions type hgetall's keys apart
    """The response ``encode`` stored; KeyError or ValueError for anything else."""

    def field(name: bytes) -> bytes:
        value = fields[name]
        if not isinstance(value, bytes):  # only a client that decodes responses gives str
            raise ValueError(f"{name!r} is not bytes")
        return value

    answered = frozenset(Code(CodeSystem[s], v) for s, v in json.loads(field(b"answered")))
    layers = tuple(str(layer) for layer in json.loads(field(b"layers")))
    return RenderedResponse(field(b"body"), field(b"type").decode(), field(b"etag").decode(), answered, layers)


class RedisResponseCache:
    """get/put of RenderedResponse by (versions, key); never raises to the caller."""

    def __init__(
        self,
        url: str,
        ttl: float,
        *,
        prefix: str = "infobutton:response:",
        timeout: float = 0.05,
        retry_after: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
    ):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.ttl = max(1, int(ttl))
        self.prefix = prefix
        self._retry_after = retry_after
        self._timer = timer
        self._down_until = float("-inf")

    def _key(self, versions: tuple[int, int], key) -> str:
        digest = hashlib.sha256(repr(key).encode()).hexdigest()
        return f"{self.prefix}{versions[0]}.{versions[1]}:{digest}"

    def _available(self) -> bool:
        return self._timer() >= self._down_until

    def _failed(self, action: str) -> None:
        self._down_until = self._timer() + self._retry_after
        log.warning("redis %s failed; building answers locally for %.0f s", action, self._retry_after)

    def get(self, versions: tuple[int, int], key) -> RenderedResponse | None:
        if not self._available():
            return None
        try:
            fields = self._redis.hgetall(self._key(versions, key))
        except Exception:  # noqa: BLE001 - any Redis trouble means: build it here
            self._failed("read")
            return None
        try:
            return decode(fields) if fields else None
        except (KeyError, ValueError):
            return None  # written by an incompatible version: rebuild and overwrite

    def put(self, versions: tuple[int, int], key, value: RenderedResponse) -> None:
        if not self._available() or not isinstance(value, RenderedResponse):
            return
        name = self._key(versions, key)
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                # redis types the mapping's keys invariantly as any encodable; str keys are valid
                pipe.hset(name, mapping=encode(value))  # type: ignore[arg-type]
                pipe.expire(name, self.ttl)
                pipe.execute()
        except Exception:  # noqa: BLE001
            self._failed("write")
