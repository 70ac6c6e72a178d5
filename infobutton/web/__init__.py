"""Blueprints per audience, and the error handlers that give every failure the caller's format."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..models import InvalidRequest
from ..render import negotiate_leniently, problem
from . import admin_ui, cds_hooks, infobutton, pages

log = logging.getLogger(__name__)


def error_response(status: int, detail: str, parameter: str | None = None) -> Response:
    """A problem in the format the caller asked for (negotiated as answers are)."""
    params = request.args
    if request.method == "POST":
        try:
            params = request.values
        except HTTPException:  # the body itself was the problem (too large, malformed)
            pass
    fmt = negotiate_leniently(params.get("knowledgeResponseType"), request.accept_mimetypes)
    kind = "json" if request.path.startswith(("/admin/api", "/cds-services")) else fmt.error_kind
    if request.path in ("/", "/application"):  # pages for people: errors are pages too
        kind = "html"
    body, content_type = problem.render(kind, problem.problem(status, detail, parameter))
    response = Response(body, status=status, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def _invalid(exc: InvalidRequest):
    return error_response(exc.status, exc.message, exc.parameter)


def _http(exc: HTTPException):
    if exc.code == 413:
        return error_response(413, "request body too large", "request")
    response = error_response(exc.code or 500, exc.description or exc.name)
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _unexpected(exc: Exception):
    # Path only: the query string carries patient context and never reaches the logs.
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal error; it has been logged")


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(infobutton.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(cds_hooks.bp)
    admin_ui.init_app(app)  # /admin/ UI, /admin/api, /openapi.json, session cookie
    app.register_error_handler(InvalidRequest, _invalid)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
