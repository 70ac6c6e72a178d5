"""The fast path: plain knowledge answers served without Flask's request machinery.

A plain GET or HEAD of /infobutton, /service or NLM's legacy path is answered here, in a WSGI
layer just outside the Flask app (inside ProxyFix, request ids and request metrics), by the
answering service the views call too (``answering.AnswerService``, URL-IG R4 §2), with the
status, headers and body Flask gives it. Flask's request context, routing, hooks and response
object cost ~100 µs of every answer: more than half of a cached one.

Handed to Flask untouched (nothing counted, nothing built): a bad request, a conditional request
(If-None-Match), a CORS request (Origin) or a CORS policy that varies, HTML answers (their page
headers), requests over TLS or behind an https base URL (HSTS), and every request while the app
has a hook not declared ``web.hooks.plain_answer_safe``. A request counted against its client's
rate limit here is answered here: over the limit, or when its build fails (the database
unreachable …), through the app's own error handlers and after-request hooks
(``Flask.finalize_request``, as Flask finishes a request), so it is never counted or built twice.
``tests/web/test_cached_answers.py`` compares both paths answer for answer.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus

from flask import Flask
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import get_host

from .. import logs
from ..answering import parse_query, response_format
from ..models import InvalidRequest
from ..render.json_feed import check_callback
from ..services import Services
from . import cors
from .hooks import all_safe
from .infobutton import LEGACY_SERVICE_PATH, bp
from .limits import PublicBudget

log = logging.getLogger(__name__)

# Path → whether JSONP keeps its guard, as the views have it (``/service`` answers unguarded).
PATHS = {"/infobutton": True, "/service": False, LEGACY_SERVICE_PATH: False}
OK = f"200 {HTTPStatus.OK.phrase}"


class CachedAnswers:
    """WSGI: plain answers here, everything else to ``wsgi_app`` (the Flask app)."""

    def __init__(self, app: Flask, wsgi_app: Callable, services: Services, budget: PublicBudget | None):
        self.app = app
        self.wsgi_app = wsgi_app
        self.answers = services.answers
        self.budget = budget
        settings = services.settings
        self._max_url_bytes = settings.max_url_bytes
        # HSTS may apply to every answer (Flask's hook decides), or CORS varies with Origin
        self._plain = not (settings.hsts_max_age and settings.base_url.startswith("https://"))
        self._plain = self._plain and not cors.policy(settings.cors_origins).varies
        self._usable: bool | None = None  # decided at the first request, when every hook is in

    def usable(self) -> bool:
        """Whether every hook a knowledge answer passes through may be gone without."""
        if self._usable is None:
            app = self.app
            hooks = [
                hook
                for registry in (app.before_request_funcs, app.after_request_funcs)
                for name in (None, bp.name)
                for hook in registry.get(name, ())
            ]
            others = (app.url_value_preprocessors, app.teardown_request_funcs)
            extra = any(r.get(None) or r.get(bp.name) for r in others)
            self._usable = all_safe(hooks) and not extra
            if not self._usable:
                log.warning("knowledge answers go through Flask: a request hook is not declared plain_answer_safe")
        return self._usable

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        jsonp_guard = PATHS.get(path)
        if (
            jsonp_guard is None
            or method not in ("GET", "HEAD")
            or environ.get("SCRIPT_NAME")
            or "HTTP_IF_NONE_MATCH" in environ
            or "HTTP_ORIGIN" in environ
            or environ.get("wsgi.url_scheme") != "http"
            or not self._plain
            or not self.usable()
        ):
            return self.wsgi_app(environ, start_response)
        query = environ.get("QUERY_STRING", "").encode("latin-1")
        if len(query) > self._max_url_bytes:
            return self.wsgi_app(environ, start_response)  # the 414 is Flask's
        try:
            knowledge_request = parse_query(query)
            fmt = response_format(knowledge_request.response_type, environ.get("HTTP_ACCEPT"))
            if fmt.name == "jsonp":
                check_callback(knowledge_request.callback)
        except InvalidRequest:
            return self.wsgi_app(environ, start_response)  # the 4xx is Flask's
        if fmt.name == "html":
            return self.wsgi_app(environ, start_response)  # page headers (CSP …): web.pages
        client = environ.get("REMOTE_ADDR") or ""
        if self.budget is not None:
            breached = self.budget.hit(client or "unknown")  # as web.transport.client_address
            if breached is not None:
                refused = functools.partial(self.budget.refused, client or "unknown", breached)
                return self._finish_in_flask(environ, start_response, refused)
        try:
            answer = self.answers.answer(
                knowledge_request,
                fmt,
                scheme="http",
                host=get_host(environ),
                root="",
                path=path,
                query=query,
                client=client,
                jsonp_guard=jsonp_guard,
            )
        except Exception as exc:  # handled as the view's own exception, with its traceback
            failed = functools.partial(self.app.handle_user_exception, exc)
            return self._finish_in_flask(environ, start_response, failed)
        environ[logs.ROUTE] = path
        headers = [*answer.headers, ("Content-Type", answer.content_type), ("Content-Length", str(len(answer.body)))]
        start_response(OK, headers)
        return [] if method == "HEAD" else [answer.body]

    def _finish_in_flask(
        self, environ: dict, start_response: Callable, respond: Callable[[], ResponseReturnValue | HTTPException]
    ) -> Iterable[bytes]:
        """Finish the request as Flask finishes one: ``respond`` (the rate limit's refusal, an
        error handler's answer) in its request context, through the app's after-request hooks."""
        with self.app.request_context(environ):
            return self.app.finalize_request(respond())(environ, start_response)


def init_app(app: Flask, services: Services, budget: PublicBudget | None) -> None:
    """Put the fast path right outside the Flask app (before ProxyFix and the request id and
    metrics wrapper are put around it)."""
    app.wsgi_app = CachedAnswers(app, app.wsgi_app, services, budget)  # type: ignore[method-assign]
