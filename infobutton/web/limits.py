"""Per-client request rate limits on everything public (``rate_limits``: the ``limits``
library's fixed windows, in Redis when configured).

One budget per client address (``web.transport.client_address``) across all public endpoints:
INFOBUTTON_RATE_LIMIT (default ``200/second;6000/minute``: an EHR gateway at 50 requests a second
never meets it; ``0``/``off`` for none), shared by every worker and instance through
INFOBUTTON_REDIS_URL (under the keys flask-limiter used), else counted by each process. Over the
limit: 429 with Retry-After and the usual problem body, logged at most once a minute per client
(``rate_limits.RefusalLog``). Addresses in INFOBUTTON_RATE_LIMIT_EXEMPT (an EHR's gateways) are
never limited. Health, readiness and metrics are exempt (monitors must always get through), and so
are /admin, whose token checks have their own throttle (``admin_auth``), static files and unrouted
requests (404, 405).

A ``before_request`` hook of ours rather than flask-limiter's: its per-request resolution of
decorated, blueprint and meta limits cost ~200 µs a cached answer, more than the answer itself,
for a single application-wide limit (docs/decisions.md, "Rate limits through the `limits` library").
"""

from __future__ import annotations

import logging

from flask import Flask, Request, Response, request
from limits import RateLimitItem

from ..rate_limits import RateLimits, RefusalLog
from ..services import Services
from .errors import error_response
from .hooks import plain_answer_safe
from .transport import client_address

log = logging.getLogger(__name__)

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/livez", "/metrics"})
EXEMPT_PREFIXES = ("/admin/", "/static/")


def _exempt(req: Request) -> bool:
    if req.url_rule is None:  # no route (404, 405): nothing to protect
        return True
    path = req.path
    return path in EXEMPT_PATHS or path == "/admin" or path.startswith(EXEMPT_PREFIXES)


def too_many(item: RateLimitItem, retry_after: int) -> Response:
    """The 429: the problem body in the caller's format, and when to come back."""
    response = error_response(429, f"rate limit exceeded ({item}); slow down", "request")
    response.headers["Retry-After"] = str(retry_after)
    return response


class PublicBudget:
    """The public budget per client: ``hit`` counts one request (None: within the limit); an
    exceeded one is ``refused``. Both adapters of the knowledge routes count through it, once a
    request: this module's hook, and the fast path (``web.cached_answers``)."""

    def __init__(self, limits: RateLimits):
        self.limits = limits
        self._refusals = RefusalLog(log, "rate limit exceeded")

    def hit(self, client: str) -> tuple[RateLimitItem, float] | None:
        return self.limits.hit(client)

    def refused(self, client: str, breached: tuple[RateLimitItem, float]) -> Response:
        """The 429 for a ``hit`` over the limit (in a request context), logged at most once a
        minute per client."""
        item, reset_at = breached
        self._refusals.refused(client, str(item))
        return too_many(item, self.limits.retry_after(reset_at))


def init_app(app: Flask, services: Services) -> PublicBudget | None:
    """Rate-limit the app per client with ``services.rate_limits``; None when it is off."""
    if services.rate_limits is None:
        return None
    budget = PublicBudget(services.rate_limits)

    @plain_answer_safe  # the fast path counts its answers through the same budget
    def check() -> Response | None:
        req = request._get_current_object()  # type: ignore[attr-defined]  # once, not per attribute
        if _exempt(req):
            return None
        client = client_address()
        breached = budget.hit(client)
        return None if breached is None else budget.refused(client, breached)

    # the first before_request hook (create_app calls this before any other registers one)
    app.before_request(check)
    return budget
