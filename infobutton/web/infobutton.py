"""The public infobutton endpoints: /infobutton, the MedlinePlus Connect path /service and
NLM's legacy path for it, /medlineplus/services/mpconnect_service.cfm.

URL-IG R4 §2 (HTTP GET, and POST form-encoded with the same parameters); answers are cached,
carry an ETag computed from their bytes (which depend only on the request and the data, never
on the render time or the worker), and a GET or HEAD whose If-None-Match matches gets 304
(werkzeug's ``make_conditional``). /service answers JSONP without the ``/**/`` guard that
/infobutton keeps (docs/decisions.md). CORS: ``web.cors``.
"""

from __future__ import annotations

import functools
from urllib.parse import parse_qsl

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict
from werkzeug.http import generate_etag, quote_etag

from ..metrics import answer_layers
from ..models import InvalidRequest, KnowledgeRequest, RenderedResponse
from ..render import Format, RenderContext, negotiate
from ..request import parse
from ..services import Services, current_services
from . import cors

bp = Blueprint("infobutton", __name__)
# NLM's own path for the MedlinePlus Connect web service, hard-coded in clients in the field.
LEGACY_SERVICE_PATH = "/medlineplus/services/mpconnect_service.cfm"


@functools.lru_cache(maxsize=8192)
def parse_query(query_string: bytes) -> KnowledgeRequest:
    """A GET query string → KnowledgeRequest. Parsing is pure, so repeated identical requests
    (the common case for an infobutton) are parsed once; bad ones raise every time."""
    text = query_string.decode("utf-8", "replace")
    return parse(parse_qsl(text, keep_blank_values=True, errors="replace"))


def _query_string() -> bytes:
    if len(request.query_string) > current_services().settings.max_url_bytes:
        raise InvalidRequest("request", "query string too long", 414)
    return request.query_string


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
    """parse → negotiate → knowledge (cached) → response. ``params`` (a MultiDict) defaults to
    the current request's own parameters; ``jsonp_guard``: JSONP starts with ``/**/``."""
    services = current_services()
    knowledge_request = parsed_request() if params is None else parse(params.items(multi=True))
    fmt = negotiate(knowledge_request.response_type or default_type, request.accept_mimetypes)
    key = (fmt.name, knowledge_request.cache_key, knowledge_request.callback, request.host, request.path)
    rendered = services.knowledge.cached_response(key, lambda: render(services, knowledge_request, fmt, jsonp_guard))
    for hook in services.on_answer:
        hook(knowledge_request, rendered.answered)
    for observe in services.on_rendered:
        observe(rendered)
    response = Response(rendered.body, content_type=rendered.content_type, headers=_headers(services, rendered))
    if request.if_none_match:  # only a conditional request pays for the check (a 304 or not)
        response.make_conditional(request)
    return response


def _headers(services: Services, rendered: RenderedResponse) -> list[tuple[str, str]]:
    """The answer's caching headers: its strong ETag, private caching for ``http_max_age``, and
    Vary: Accept (the format is negotiated). Written out once here rather than through the
    response's header descriptors, which the cached hot path would pay for on every request."""
    return [
        ("ETag", rendered.etag),
        ("Cache-Control", f"private, max-age={services.settings.http_max_age}"),
        ("Vary", "Accept"),
        ("X-Content-Type-Options", "nosniff"),
    ]


def render(
    services: Services, knowledge_request: KnowledgeRequest, fmt: Format, jsonp_guard: bool = True
) -> RenderedResponse:
    """Resolve and render one knowledge request (what the response cache keeps)."""
    matches = services.knowledge.resolve(knowledge_request)
    ctx = RenderContext(
        self_url=request.url,
        base_url=services.settings.base_url or request.host_url,
        jsonp_guard=jsonp_guard,
    )
    body = fmt.render(knowledge_request, matches, ctx)
    answered = frozenset(m.criterion.code for m in matches if m.rule is not None and m.criterion.code is not None)
    layers = answer_layers(knowledge_request.criteria, matches)
    return RenderedResponse(body, fmt.content_type, quote_etag(generate_etag(body)), answered, layers)


@bp.route("/infobutton", methods=["GET", "POST"])
def infobutton() -> Response:
    return knowledge_response()


@bp.route("/service", methods=["GET", "POST"])
@bp.route(LEGACY_SERVICE_PATH, methods=["GET", "POST"])
def service() -> Response:
    """MedlinePlus Connect's web service, as its clients call it: JSONP without ``/**/``."""
    return knowledge_response(jsonp_guard=False)


@bp.after_request
def _cors(response: Response) -> Response:
    """CORS on the knowledge answers (errors and preflights too), never on /healthz."""
    if request.endpoint != "infobutton.healthz":
        cors.add_headers(response, cors.policy(current_services().settings.cors_origins))
    return response


@bp.get("/healthz")
def healthz() -> dict:
    services = current_services()
    services.db.scalar("SELECT 1")
    return {"status": "ok", "topics": services.topics.count(), "mappings": services.mappings.count()}
