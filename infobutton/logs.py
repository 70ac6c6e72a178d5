"""Structured logs for app logs, access logs and gunicorn's own log, in one of two formats with
the same fields: JSON lines (``JsonFormatter``) for log pipelines, and ``time level logger
message key=value…`` (``TextFormatter``) for a person at a terminal. INFOBUTTON_LOG_FORMAT picks
one; ``auto`` (the default) writes text to a terminal and JSON lines anywhere else.

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
from typing import IO, Any

from flask import has_request_context, request
from gunicorn.glogging import Logger as GunicornBaseLogger

from .config import LogFormat

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


class _Fields(logging.Formatter):
    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        """What a line says, in order (see the module docstring), without empty fields."""
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
        return {k: v for k, v in line.items() if v is not None}


class JsonFormatter(_Fields):
    """A log record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.fields(record), ensure_ascii=False)


_BARE = re.compile(r"[^\s\"=\\\x00-\x1f\x7f]+")


class TextFormatter(_Fields):
    """A log record as ``time level logger message key=value…``, for reading: a value with
    spaces, quotes or control characters is quoted as JSON quotes it; the lines of a message
    after its first, and an exception's traceback, are indented, so no text can pass for a line
    of its own."""

    def format(self, record: logging.LogRecord) -> str:
        line = self.fields(record)
        exception = line.pop("exception", None)
        head = [line.pop("time"), f"{line.pop('level'):<5}", line.pop("logger"), line.pop("message")]
        text = " ".join(head + [f"{k}={_value(v)}" for k, v in line.items()])
        if exception:
            text += "\n" + exception
        return text.replace("\n", "\n    ")


def _value(value: Any) -> str:
    text = str(value)
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def writes_text(log_format: LogFormat, stream: IO[str]) -> bool:
    """Whether lines written to ``stream`` are text: configured so, or ``auto`` on a terminal."""
    return log_format == "text" or (log_format == "auto" and stream.isatty())


def formatter(log_format: LogFormat, stream: IO[str]) -> logging.Formatter:
    return TextFormatter() if writes_text(log_format, stream) else JsonFormatter()


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
    """gunicorn's logger class for ``serve``: its error and access logs in ``log_format``, the
    error log redacted, and one access line per request with the fields the app left in the
    environ."""

    log_format: LogFormat = "auto"

    @classmethod
    def writing(cls, log_format: LogFormat) -> type[GunicornLogger]:
        """This class writing ``log_format`` (gunicorn takes a logger class, and makes it)."""
        return type(cls.__name__, (cls,), {"log_format": log_format})

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if not any(isinstance(f, RedactRequestLines) for f in self.error_log.filters):
            self.error_log.addFilter(RedactRequestLines())
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                stream = getattr(handler, "stream", None)
                handler.setFormatter(formatter(self.log_format, stream if stream is not None else sys.stderr))

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


def configure(log_format: LogFormat = "auto", level: str = "info") -> None:
    """Lines in ``log_format`` on stderr, from ``level`` up, for every logger that reaches the
    root (the app's, alembic's …). A program that set up logging already (one that runs the
    commands in-process, as the tests do) keeps its own handlers."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format, sys.stderr))
    root.addHandler(handler)
    root.setLevel(level.upper())
