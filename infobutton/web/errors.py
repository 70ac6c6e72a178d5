"""The one error policy: every failure becomes a problem body (``render.problem.problem``),
serialised in the caller's format (``render.problem.render``, JSON through safe JSON).

``error_response`` is the only way a view or handler answers an error; the admin API's own
handlers add their extra members (``errors``, ``current``) through it. A unique-constraint
violation from the database is a 409 that names the conflict, never the SQL.
"""

from __future__ import annotations

import logging
import re

import sqlalchemy.exc
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..models import InvalidRequest
from ..render import negotiate_leniently, problem

log = logging.getLogger(__name__)


_API_PATHS = ("/admin/api", "/cds-services", "/openapi.json")


def error_response(status: int, detail: str, parameter: str | None = None, **extra) -> Response:
    """A problem in the format the caller asked for (negotiated as answers are); ``extra``
    members (JSON only) ride along, e.g. the 422 ``errors`` list."""
    params = request.args
    if request.method == "POST":
        try:
            params = request.values
        except HTTPException:  # the body itself was the problem (too large, malformed)
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


def _unexpected(exc: Exception):
    # Path only: the query string carries patient context and never reaches the logs.
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal error; it has been logged")


def register(app: Flask) -> None:
    app.register_error_handler(InvalidRequest, _invalid)
    # The store runs on SQLAlchemy, which wraps every driver's integrity error in this one.
    app.register_error_handler(sqlalchemy.exc.IntegrityError, _integrity)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
