"""The one error policy: every failure becomes a problem body (``render.problem.problem``),
serialised in the caller's format (``render.problem.render``, JSON through safe JSON).

``error_response`` is the only way a view or handler answers an error; the admin API's own
handlers add their extra members (``errors``, ``current``) through it. A unique-constraint
violation from the database is a 409 that names the conflict, never the SQL; a database that
cannot be reached (or a pool with no connection to give) is a 503 with Retry-After, since the
same request may well succeed in a moment.
"""

from __future__ import annotations

import logging
import re
import sqlite3

import sqlalchemy.exc
from flask import Flask, Response, request
from gunicorn.http.errors import NoMoreData, ParseException
from werkzeug.exceptions import HTTPException

from ..models import InvalidRequest
from ..render import negotiate_leniently, problem

log = logging.getLogger(__name__)


_API_PATHS = ("/admin/api", "/cds-services", "/openapi.json")
RETRY_AFTER_SECONDS = 5  # what a 503 for an unreachable database asks the caller to wait


def error_response(status: int, detail: str, parameter: str | None = None, **extra) -> Response:
    """A problem in the format the caller asked for (negotiated as answers are); ``extra``
    members (JSON only) ride along, e.g. the 422 ``errors`` list."""
    params = request.args
    if request.method == "POST":
        try:
            params = request.values
        except (HTTPException, ParseException, NoMoreData):  # the body itself was the problem (too large, malformed)
            pass
    fmt = negotiate_leniently(params.get("knowledgeResponseType"), request.accept_mimetypes)
    kind = "json" if request.path.startswith(_API_PATHS) else fmt.error_kind
    if request.path in ("/", "/application", "/medlineplus/services/mpconnect.cfm"):  # pages: errors are pages too
        kind = "html"
    body = problem.problem(status, detail, parameter)
    if kind == "json":
        body |= extra
    content, content_type = problem.render(kind, body)
    response = Response(content, status=status, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def conflict_of(exc: Exception) -> tuple[str, str]:
    """(parameter, what conflicts) of an integrity error, from the driver's structured fields:
    the column(s) or constraint, never the statement or its values."""
    orig = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the DBAPI error
    diag = getattr(orig, "diag", None)  # psycopg
    if diag is not None and (diag.constraint_name or diag.column_name):
        name = diag.column_name or diag.constraint_name
        return name, f"constraint {name} on {diag.table_name or 'a table'}"
    found = re.search(r"constraint failed: (?:index '([\w]+)'|([\w.]+(?:, [\w.]+)*))", str(orig))  # sqlite
    if found and found.group(1):
        return found.group(1), f"unique index {found.group(1)}"
    if found:
        columns = [c.rsplit(".", 1)[-1] for c in found.group(2).split(", ")]
        return ", ".join(columns), f"the same {', '.join(columns)} exists"
    return "body", "a record like it exists"


def _invalid(exc: InvalidRequest):
    return error_response(exc.status, exc.message, exc.parameter)


def _integrity(exc: Exception):
    parameter, what = conflict_of(exc)
    log.warning("integrity error on %s %s: %s", request.method, request.path, what)
    return error_response(409, f"conflicts with what is stored ({what}); nothing was written", parameter)


def _http(exc: HTTPException):
    if exc.code == 413:
        return error_response(413, "request body too large", "request")
    response = error_response(exc.code or 500, exc.description or exc.name)
    valid_methods = getattr(exc, "valid_methods", None)  # MethodNotAllowed only
    if exc.code == 405 and valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


def _malformed_body(exc: Exception):
    """gunicorn reads a chunked body as the app does and raises its own parse errors from there
    (a chunk size that is not hex, a chunk longer than it said, the body cut short)."""
    what = "cut short" if isinstance(exc, NoMoreData) else "malformed (chunked encoding)"
    return error_response(400, f"request body {what}: {type(exc).__name__}", "body")


def unavailable(exc: Exception) -> bool:
    """Whether a database error means "cannot reach the database now" (connection refused or
    lost, server shutting down, no pooled connection free) rather than a fault in the request."""
    if isinstance(exc, sqlalchemy.exc.TimeoutError):  # the pool had no connection to give
        return True
    if not isinstance(exc, sqlalchemy.exc.DBAPIError):
        return False
    if isinstance(exc.orig, sqlite3.OperationalError):  # SQLite files it "no such table" there too
        return any(what in str(exc.orig) for what in ("locked", "unable to open", "disk I/O"))
    lost = sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError
    return exc.connection_invalidated or isinstance(exc, lost)


def _database(exc: Exception):
    if not unavailable(exc):
        return _unexpected(exc)
    # The exception's class only: its text may hold the statement's parameters.
    log.warning("database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__)
    response = error_response(503, "the database is unavailable; try again shortly")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _unexpected(exc: Exception):
    # Path only: the query string carries patient context and never reaches the logs.
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal error; it has been logged")


def register(app: Flask) -> None:
    app.register_error_handler(InvalidRequest, _invalid)
    # The store runs on SQLAlchemy, which wraps every driver's integrity error in this one.
    app.register_error_handler(sqlalchemy.exc.IntegrityError, _integrity)
    app.register_error_handler(sqlalchemy.exc.DBAPIError, _database)
    app.register_error_handler(sqlalchemy.exc.TimeoutError, _database)
    app.register_error_handler(ParseException, _malformed_body)
    app.register_error_handler(NoMoreData, _malformed_body)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
