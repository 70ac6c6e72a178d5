"""Per-client request rate limits (flask-limiter) on everything public.

One budget per client address (``web.transport.client_address``) across all public endpoints:
INFOBUTTON_RATE_LIMIT (default ``600/minute``; ``0``/``off`` for none), in Redis when
INFOBUTTON_REDIS_URL is set, so every worker and instance shares the count, else in each
process's memory. Over the limit: 429 with Retry-After and the usual problem body. Health,
readiness and metrics are exempt (monitors must always get through), and so is /admin, whose
token checks have their own throttle (``admin_auth``). If Redis fails, each process falls back
to counting in memory and answers keep flowing.
"""

from __future__ import annotations

import math
import time
from typing import Any, cast

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit

from ..config import Settings
from .errors import error_response
from .transport import client_address

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/livez", "/metrics"})
EXEMPT_PREFIXES = ("/admin/", "/static/")
KEY_PREFIX = "infobutton-rate"


def storage_uri(redis_url: str) -> str:
    """The limits storage URI for INFOBUTTON_REDIS_URL (``unix://`` is ``redis+unix://`` there)."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def _exempt() -> bool:
    path = request.path
    return path in EXEMPT_PATHS or path == "/admin" or path.startswith(EXEMPT_PREFIXES)


def _breached(limit: RequestLimit) -> Response:
    response = error_response(429, f"rate limit exceeded ({limit.limit}); slow down", "request")
    reset_at = limit.window[0]  # when the client's window ends (epoch seconds)
    response.headers["Retry-After"] = str(max(1, math.ceil(reset_at - time.time())))
    return response


def _too_many(exc: RateLimitExceeded) -> Response:
    """The answer ``_breached`` built (flask-limiter raises it inside this exception)."""
    if exc.response is not None:
        return cast(Response, exc.response)
    return error_response(429, "rate limit exceeded; slow down", "request")


def init_app(app: Flask, settings: Settings) -> Limiter | None:
    """Rate-limit the app per client; None when INFOBUTTON_RATE_LIMIT is off."""
    if not settings.rate_limit:
        return None
    redis = bool(settings.redis_url)
    # a Redis that hangs must not hold answers: short timeouts, then counting in memory
    options: dict[str, Any] = {"socket_timeout": 0.2, "socket_connect_timeout": 0.2} if redis else {}
    limiter = Limiter(
        client_address,
        application_limits=[settings.rate_limit],
        application_limits_exempt_when=_exempt,
        storage_uri=storage_uri(settings.redis_url),
        storage_options=options,
        in_memory_fallback_enabled=redis,
        swallow_errors=True,
        on_breach=_breached,
        key_prefix=KEY_PREFIX,
        strategy="fixed-window",
    )
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many)
    return limiter
