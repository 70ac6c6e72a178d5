"""The public infobutton endpoints: /infobutton, the MedlinePlus Connect path /service and
NLM's legacy path for it, /medlineplus/services/mpconnect_service.cfm.

URL-IG R4 §2 (HTTP GET, and POST form-encoded with the same parameters); answers are cached,
carry an ETag computed from their bytes (which depend only on the request and the data, never
on the render time or the worker), and a GET or HEAD whose If-None-Match matches gets 304
(werkzeug's ``make_conditional``). /service answers JSONP without the ``/**/`` guard that
/infobutton keeps (docs/decisions.md). CORS: ``web.cors``.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from ..answering import parse_query, response_format
from ..models import InvalidRequest, KnowledgeRequest
from ..request import parse
from ..services import current_services
from . import cors
from .hooks import plain_answer_safe

bp = Blueprint("infobutton", __name__)
# NLM's own path for the MedlinePlus Connect web service, hard-coded in clients in the field.
LEGACY_SERVICE_PATH = "/medlineplus/services/mpconnect_service.cfm"


def _query_string() -> bytes:
    query = request.query_string
    if len(query) > current_services().settings.max_url_bytes:
        raise InvalidRequest("request", "query string too long", 414)
    return query


def request_params() -> MultiDict:
    """The knowledge request parameters: the query string, or the form for POST."""
    _query_string()
    return request.values if request.method == "POST" else request.args


def parsed_request() -> KnowledgeRequest:
    """The knowledge request of the current HTTP request (GET query strings parsed once)."""
    if request.method == "POST":
        return parse(request_params().items(multi=True))
    return parse_query(_query_string())


def knowledge_response(
    params: MultiDict | None = None, default_type: str | None = None, *, jsonp_guard: bool = True
) -> Response:
    """parse → negotiate → the answering service → response. ``params`` (a MultiDict) defaults
    to the current request's own parameters; ``jsonp_guard``: JSONP starts with ``/**/``."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # once, not per attribute
    knowledge_request = parsed_request() if params is None else parse(params.items(multi=True))
    fmt = response_format(knowledge_request.response_type or default_type, req.environ.get("HTTP_ACCEPT"))
    answer = current_services().answers.answer(
        knowledge_request,
        fmt,
        scheme=req.scheme,
        host=req.host,
        root=req.root_path,
        path=req.path,
        query=req.query_string,
        client=req.remote_addr or "",
        jsonp_guard=jsonp_guard,
    )
    response = Response(answer.body, content_type=answer.content_type, headers=answer.headers)
    # only a conditional request pays for the check (a 304 or not); reading the header's absence
    # from the environ spares building an empty ETags for every other request
    if "HTTP_IF_NONE_MATCH" in req.environ and req.if_none_match:
        response.make_conditional(req)
    return response


@bp.route("/infobutton", methods=["GET", "POST"])
def infobutton() -> Response:
    return knowledge_response()


@bp.route("/service", methods=["GET", "POST"])
@bp.route(LEGACY_SERVICE_PATH, methods=["GET", "POST"])
def service() -> Response:
    """MedlinePlus Connect's web service, as its clients call it: JSONP without ``/**/``."""
    return knowledge_response(jsonp_guard=False)


@bp.after_request
@plain_answer_safe  # only with Origin or a policy that varies, which the fast path leaves to Flask
def _cors(response: Response) -> Response:
    """CORS on the knowledge answers (errors and preflights too), never on /healthz."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.endpoint != "infobutton.healthz":
        rule = cors.policy(current_services().settings.cors_origins)
        if rule.varies or "HTTP_ORIGIN" in req.environ:  # else there is nothing to add
            cors.add_headers(response, rule)
    return response


@bp.get("/healthz")
def healthz() -> dict:
    """Liveness: this worker answers. No query: it is public (through the proxy) and outside the
    rate limit, so it must cost nothing; whether the database answers is ``/readyz``'s question."""
    return {"status": "ok"}
