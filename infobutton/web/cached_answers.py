"""Plain knowledge answers served without Flask's request machinery: a cached answer
was ~100 µs of Flask's request context, routing and hooks (docs/decisions.md).

A plain GET or HEAD of /infobutton, /service or NLM's legacy path is answered here, in a WSGI
layer just outside the Flask app (inside ProxyFix, request ids and request metrics), by the same
steps as the view (``web.infobutton``: parse, negotiate, the response cache, ``render``), with the
same status, headers and body the view and its hooks give it. The rate limit counts it, usage and
metrics see it, the access log gets its route. Flask's request context, routing, hooks and
response object cost ~100 µs of every answer: more than half of a cached one.

Anything else goes to Flask: a bad request, a conditional request (If-None-Match), a CORS request
(Origin) or a CORS policy that varies, HTML answers (their page headers), requests over TLS or
behind an https base URL (HSTS), a client over its rate limit (its count passed along, so it is
counted once), and an answer whose build fails (the database unreachable …): Flask builds it again
and answers the error its way. The layer is used only while the app's hooks for these paths are
among those listed in ``KNOWN_HOOKS``, whose effect on such an answer it reproduces: a hook added
later turns it off until it is listed here (logged once). ``tests/web/test_cached_answers.py``
compares both paths answer for answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus

from flask import Flask
from werkzeug.wsgi import get_host

from .. import logs
from ..models import InvalidRequest
from ..render.json_feed import check_callback
from ..usage import current_client
from . import cors
from .infobutton import (
    LEGACY_SERVICE_PATH,
    _headers,
    answer_key,
    current_url,
    host_url,
    observe_answer,
    parse_query,
    render,
    response_format,
)
from .limits import RATE_COUNTED

log = logging.getLogger(__name__)

# Path → (URL rule, JSONP guard) as the views have them (``/service`` answers JSONP unguarded).
PATHS = {
    "/infobutton": ("/infobutton", True),
    "/service": ("/service", False),
    LEGACY_SERVICE_PATH: (LEGACY_SERVICE_PATH, False),
}
# The hooks (module.qualname) a knowledge answer passes through, each of which adds nothing to a
# plain cached answer served here: CORS only with Origin or a varying policy, page headers only on
# HTML, CDS Hooks CORS only on /cds-services, HSTS only over TLS, the route (set here too).
KNOWN_HOOKS = {
    "before": {"infobutton.web.limits.init_app.<locals>.check"},
    "after": {
        "infobutton.web.infobutton._cors",
        "infobutton.web.pages.page_headers",
        "infobutton.web.cds_hooks._cors",
        "infobutton.web.ops._remember_route",
        "infobutton.web.transport.init_app.<locals>._strict_transport_security",
    },
}
OK = f"200 {HTTPStatus.OK.phrase}"


def _hook_names(app: Flask, registry: dict) -> set[str]:
    return {f"{f.__module__}.{f.__qualname__}" for key in (None, "infobutton") for f in registry.get(key, ())}


class CachedAnswers:
    """WSGI: plain answers here, everything else to ``wsgi_app`` (the Flask app)."""

    def __init__(self, app: Flask, wsgi_app: Callable):
        self.app = app
        self.wsgi_app = wsgi_app
        self._usable: bool | None = None  # decided at the first request, when every hook is in

    def usable(self) -> bool:
        if self._usable is None:
            app = self.app
            found = {
                "before": _hook_names(app, app.before_request_funcs),
                "after": _hook_names(app, app.after_request_funcs),
            }
            others = (app.url_value_preprocessors, app.teardown_request_funcs)
            extra = any(r.get(None) or r.get("infobutton") for r in others)
            # a known hook may be absent (no rate limit, no HSTS): then it has nothing to add
            self._usable = all(found[k] <= KNOWN_HOOKS[k] for k in KNOWN_HOOKS) and not extra
            if not self._usable:
                log.warning("cached answers go through Flask: the app's hooks are not the known ones (%s)", found)
        return self._usable

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        served = self._serve(environ, start_response)
        return served if served is not None else self.wsgi_app(environ, start_response)

    def _serve(self, environ: dict, start_response: Callable) -> Iterable[bytes] | None:
        method = environ.get("REQUEST_METHOD")
        route = PATHS.get(environ.get("PATH_INFO", ""))
        if route is None or method not in ("GET", "HEAD") or environ.get("SCRIPT_NAME"):
            return None
        rule, jsonp_guard = route
        if "HTTP_IF_NONE_MATCH" in environ or "HTTP_ORIGIN" in environ or not self.usable():
            return None
        services = self.app.extensions["infobutton"]
        settings = services.settings
        scheme = environ.get("wsgi.url_scheme")
        if scheme != "http" or (settings.hsts_max_age and settings.base_url.startswith("https://")):
            return None  # HSTS may apply: Flask's hook decides
        if cors.policy(settings.cors_origins).varies:
            return None
        query = environ.get("QUERY_STRING", "").encode("latin-1")
        if len(query) > settings.max_url_bytes:
            return None
        try:
            knowledge_request = parse_query(query)
            fmt = response_format(knowledge_request.response_type, environ.get("HTTP_ACCEPT"))
        except InvalidRequest:
            return None
        if fmt.name == "html":
            return None  # page headers (CSP …) are added by pages.page_headers
        host = get_host(environ)
        key = answer_key(fmt, knowledge_request, scheme, host, rule)
        knowledge = services.knowledge
        rendered = knowledge.cached_only(key)
        if rendered is None and fmt.name == "jsonp":
            try:
                check_callback(knowledge_request.callback)
            except InvalidRequest:
                return None  # the 400 is Flask's
        client = environ.get("REMOTE_ADDR") or ""
        limits = self.app.extensions.get("infobutton.rate_limits")
        if limits is not None:
            breached = limits.hit(client or "unknown")  # as web.transport.client_address
            if breached is not None:
                environ[RATE_COUNTED] = breached  # Flask answers the 429 without counting again
                return None
        if rendered is None:
            try:
                rendered = knowledge.cached_response(
                    key,
                    lambda: render(
                        services,
                        knowledge_request,
                        fmt,
                        jsonp_guard,
                        self_url=current_url(scheme, host, "", rule, query),
                        base_url=settings.base_url or host_url(scheme, host),
                    ),
                )
            except Exception:
                if limits is not None:
                    environ[RATE_COUNTED] = None  # counted, within the limit
                return None  # Flask tries again and answers the error (400, 503 …) its way
        else:
            knowledge.count_hit()
        token = current_client.set(client)
        try:
            observe_answer(services, knowledge_request, rendered)
        finally:
            current_client.reset(token)
        environ[logs.ROUTE] = rule
        headers = _headers(services, rendered)
        headers += [("Content-Type", rendered.content_type), ("Content-Length", str(len(rendered.body)))]
        start_response(OK, headers)
        return [] if method == "HEAD" else [rendered.body]


def init_app(app: Flask) -> None:
    """Put the cached-answer layer right outside the Flask app (before ProxyFix and the request
    id and metrics wrapper are put around it)."""
    app.wsgi_app = CachedAnswers(app, app.wsgi_app)  # type: ignore[method-assign]
