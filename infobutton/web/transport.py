"""What the connection says about a request: which client sent it, and whether it came over TLS.

``INFOBUTTON_TRUSTED_PROXIES`` is the number of reverse proxies in front of the service. At 0
(the default) the client is the socket peer and ``X-Forwarded-*`` headers are ignored: anyone can
send them. At N, werkzeug's ProxyFix believes the last N hops of ``X-Forwarded-For``,
``-Proto`` and ``-Host``, so the client address (rate limits, sign-in throttling, usage
counting) and ``request.is_secure`` are the ones the proxy saw.

Over TLS (``request.is_secure``, or a configured https ``INFOBUTTON_BASE_URL``) every answer
carries Strict-Transport-Security; plain http answers never do.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import Settings
from .hooks import plain_answer_safe


def client_address() -> str:
    """The current request's client (after ProxyFix when proxies are trusted)."""
    return request.remote_addr or "unknown"


def init_app(app: Flask, settings: Settings) -> None:
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        # Flask types wsgi_app as a method; replacing it with middleware is Flask's documented way
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    if settings.hsts_max_age:
        hsts = f"max-age={settings.hsts_max_age}"
        https_base = settings.base_url.startswith("https://")

        @app.after_request
        @plain_answer_safe  # the fast path answers only plain http, without an https base
        def _strict_transport_security(response: Response) -> Response:
            if request.is_secure or https_base:
                response.headers.setdefault("Strict-Transport-Security", hsts)
            return response
