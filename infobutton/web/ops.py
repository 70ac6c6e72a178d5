"""For operators: ``/readyz``, ``/metrics``, and the per-request bookkeeping behind them and the
logs (request id, route, latency). ``/healthz`` (liveness) stays with the public endpoints.

``init_app`` wraps the WSGI app once: every request gets an ``X-Request-ID`` (the client's when
sane, else a new one), echoed on the response, and is counted with its URL rule, format, status
and latency, whatever answered it (a view, an error handler, a hook that stopped it early).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import sqlalchemy.exc
from flask import Blueprint, Flask, Response, abort, request

from .. import logs
from ..services import current_services
from ..store import migrate
from .hooks import plain_answer_safe

bp = Blueprint("ops", __name__)

RETRY_AFTER_SECONDS = 5


@bp.get("/readyz")
def readyz() -> tuple[dict, int, dict] | dict:
    """200 when the database answers and its schema is this version's head; else 503 naming the
    check that failed (never the database's own error text: hosts and ports stay private)."""
    services = current_services()
    head = services.schema_head
    checks = {"database": "ok", "schema": "ok"}
    failed = []
    try:
        with services.db.connection() as conn:
            revision = migrate.current(conn)
    except sqlalchemy.exc.SQLAlchemyError:
        checks = {"database": "unreachable", "schema": "unknown"}
        failed.append("database")
    else:
        if revision != head:
            checks["schema"] = f"at {revision or 'no revision'}, expected {head}"
            failed.append("schema")
    if not failed:
        return {"status": "ready", "checks": checks}
    body = {"status": "unavailable", "failed": failed, "checks": checks}
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition; 404 when INFOBUTTON_METRICS is off."""
    services = current_services()
    if not services.settings.metrics:
        abort(404)  # as any unknown path: the problem in the caller's format
    body = services.metrics.exposition()
    response = Response(body, content_type="text/plain; version=0.0.4; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


@plain_answer_safe  # the fast path leaves its route too
def _remember_route(response: Response) -> Response:
    """Leave the URL rule where the WSGI wrapper and gunicorn's access log find it."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # once, not per attribute
    if req.url_rule is not None:
        req.environ[logs.ROUTE] = req.url_rule.rule
    return response


class Observed:
    """WSGI wrapper: request id in and out, one metrics observation per response."""

    def __init__(self, app: Flask, wsgi_app: Callable):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        rid = logs.request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[logs.REQUEST_ID] = rid

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            kept, content_type = [], None
            for name, value in headers:  # one pass: drop any X-Request-ID, find the Content-Type
                lower = name.lower()
                if lower == "x-request-id":
                    continue
                if content_type is None and lower == "content-type":
                    content_type = value
                kept.append((name, value))
            kept.append((logs.REQUEST_ID_HEADER, rid))
            headers = kept
            services = self.app.extensions["infobutton"]
            services.metrics.request(
                environ.get(logs.ROUTE),
                environ.get("REQUEST_METHOD", ""),
                content_type,
                int(status.split(None, 1)[0]),
                time.perf_counter() - started,
            )
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def init_app(app: Flask) -> None:
    """Register /readyz and /metrics, and wrap the app for request ids and metrics."""
    app.register_blueprint(bp)
    app.after_request(_remember_route)
    app.wsgi_app = Observed(app, app.wsgi_app)  # type: ignore[method-assign]
