"""Structured logs: one JSON object per line for app logs, access logs and gunicorn's own log.

Every line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``; lines written for
a request add ``request_id``, ``route`` (the URL rule, never the path), ``method``, and the access
log adds ``status``, ``duration_ms`` and ``user_agent`` (truncated). Query strings, form bodies
and patient context are never written: the access log has no path or query at all, and
gunicorn's warnings about malformed requests lose the request line they quote
(``RedactRequestLines``), as patient context is exactly what such a line carries.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
from datetime import datetime, timezone
from typing import Any

from flask import has_request_context, request
from gunicorn.glogging import Logger as GunicornBaseLogger

# WSGI environ keys the app fills for the access log (the app's response is gone by then).
REQUEST_ID = "infobutton.request_id"
ROUTE = "infobutton.route"
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
USER_AGENT_CHARS = 120
# Attributes a record may carry (``extra=``) that become fields of the line.
FIELDS = ("request_id", "route", "method", "status", "duration_ms", "user_agent")


def request_id(offered: str | None) -> str:
    """The client's X-Request-ID when it is a sane token (≤ 64 of ``[A-Za-z0-9._-]``), else a
    new one: 32 hex digits from ``random`` (which CPython reseeds in every forked worker). A
    request id correlates log lines; it is no secret, and os.urandom (uuid4) cost ~30 µs a
    request here, a tenth of a cached answer."""
    if offered and _SANE_ID.fullmatch(offered):
        return offered
    return f"{random.getrandbits(128):032x}"


def user_agent(value: str | None) -> str | None:
    return value[:USER_AGENT_CHARS] if value else None


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON (see the module docstring for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            line["request_id"] = request.environ.get(REQUEST_ID)
            line["route"] = request.url_rule.rule if request.url_rule is not None else None
            line["method"] = request.method
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps({k: v for k, v in line.items() if v is not None}, ensure_ascii=False)


# gunicorn's "Invalid request from ip=…: <what> '<the request line>'" and its kin.
_INVALID_REQUEST = re.compile(r"Invalid request from ip=(?P<ip>\S*): (?P<what>.*)", re.DOTALL)
_PHRASE = re.compile(r"[A-Za-z][A-Za-z /-]*")
# A quoted repr (str or bytes) as gunicorn's messages quote request content, and query strings.
_QUOTED = re.compile(r"""b?'(?:[^'\\]|\\.)*'|b?"(?:[^"\\]|\\.)*\"""", re.DOTALL)
_QUERY = re.compile(r"\?\S*")


def leading_phrase(text: str) -> str:
    """The words gunicorn starts an error with ("Invalid HTTP request line"), up to the first
    quote, colon, bracket or digit: what went wrong, without the request it quotes."""
    found = _PHRASE.match(text)
    return found.group().strip() if found else ""


def redact(message: str) -> str:
    """A gunicorn message without the request content it quotes: the request line, header or
    method of a malformed request, and any query string."""
    found = _INVALID_REQUEST.match(message)
    if found:
        what = leading_phrase(found["what"]) or "malformed request"
        return f"Invalid request from ip={found['ip']}: {what} (request content not logged)"
    return _QUERY.sub("?…", _QUOTED.sub("'…'", message))


class RedactRequestLines(logging.Filter):
    """On gunicorn's error log: messages and tracebacks lose the request content they quote."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class GunicornLogger(GunicornBaseLogger):
    """gunicorn's logger class for ``serve``: its error and access logs as JSON lines, the error
    log redacted, and one access line per request with the fields the app left in the environ."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if not any(isinstance(f, RedactRequestLines) for f in self.error_log.filters):
            self.error_log.addFilter(RedactRequestLines())
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        if str(status) == "429":  # a flood's refusals: counted in metrics, logged by web.limits
            return
        route = environ.get(ROUTE)
        method = environ.get("REQUEST_METHOD") or "-"
        self.access_log.info(
            "%s %s %s",
            method,
            route or "(no route)",
            status,
            extra={
                "request_id": environ.get(REQUEST_ID),
                "route": route,
                "method": method,
                "status": int(status) if str(status).isdigit() else None,
                "duration_ms": round(request_time.total_seconds() * 1000, 3),
                "user_agent": user_agent(environ.get("HTTP_USER_AGENT")),
            },
        )


def configure(level: int = logging.INFO) -> None:
    """JSON lines on stderr for every logger that reaches the root (the app's, alembic's …)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
