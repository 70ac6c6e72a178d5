"""Infobutton: an HL7 Infobutton knowledge responder for MedlinePlus health topics."""

from __future__ import annotations

import logging
import re

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from .config import Settings
from .services import Services, build_services
from .web import cached_answers, limits, ops, register_blueprints, transport

_QUERY = re.compile(r"\?[^ \"]*")


class _Utf8JSONProvider(DefaultJSONProvider):
    ensure_ascii = False  # UTF-8 in JSON bodies, not \u escapes


class _DropQueryStrings(logging.Filter):
    """The development server logs request lines; query strings carry patient context."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_QUERY.sub("", a) if isinstance(a, str) else a for a in record.args)
        return True


def create_app(config: dict | Settings | None = None, *, services: Services | None = None, warm: bool = True) -> Flask:
    """The one place things are wired: settings, services, blueprints and error handlers.

    ``config`` is a Settings or a dict of Settings fields overriding the environment;
    ``services`` lets tests inject prepared services; ``warm=False`` (commands) leaves the code
    tables and the topic-name index to load on first use.
    """
    if isinstance(config, Settings):
        settings = config
    else:
        settings = Settings.from_env(**(config or {}))
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json = _Utf8JSONProvider(app)
    services = services or build_services(settings, warm=warm)
    app.extensions["infobutton"] = services
    budget = limits.init_app(app, services)  # the first before_request hook
    cached_answers.init_app(app, services, budget)  # innermost WSGI layer: inside ProxyFix, request ids, metrics
    transport.init_app(app, settings)  # ProxyFix: the client the budget keys on
    register_blueprints(app)
    ops.init_app(app)  # /readyz, /metrics, request ids and request metrics
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, _DropQueryStrings) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(_DropQueryStrings())
    return app
