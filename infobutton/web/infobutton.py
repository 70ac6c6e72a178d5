"""The public infobutton endpoints: /infobutton and the MedlinePlus Connect path /service.

URL-IG R4 §2 (HTTP GET, and POST form-encoded with the same parameters); answers are cached,
carry an ETag, and a matching If-None-Match gets 304.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime, timezone
from urllib.parse import parse_qsl

from flask import Blueprint, Response, request

from ..models import InvalidRequest, RenderedResponse
from ..render import RenderContext, negotiate
from ..request import parse
from ..services import current_services

bp = Blueprint("infobutton", __name__)


@functools.lru_cache(maxsize=8192)
def parse_query(query_string: bytes):
    """A GET query string → KnowledgeRequest. Parsing is pure, so repeated identical requests
    (the common case for an infobutton) are parsed once; bad ones raise every time."""
    text = query_string.decode("utf-8", "replace")
    return parse(parse_qsl(text, keep_blank_values=True, errors="replace"))


def request_params():
    """The knowledge request parameters: the query string, or the form for POST."""
    if len(request.query_string) > current_services().settings.max_url_bytes:
        raise InvalidRequest("request", "query string too long", 414)
    return request.values if request.method == "POST" else request.args


def parsed_request():
    """The knowledge request of the current HTTP request (GET query strings parsed once)."""
    if request.method == "POST":
        return parse(request_params().items(multi=True))
    if len(request.query_string) > current_services().settings.max_url_bytes:
        raise InvalidRequest("request", "query string too long", 414)
    return parse_query(request.query_string)


def knowledge_response(params=None, default_type: str | None = None) -> Response:
    """parse → negotiate → resolve → render, through the response cache. ``params`` (a MultiDict)
    defaults to the current request's own parameters."""
    services = current_services()
    knowledge_request = parsed_request() if params is None else parse(params.items(multi=True))
    fmt = negotiate(knowledge_request.response_type or default_type, request.accept_mimetypes)
    knowledge = services.knowledge

    def build():
        matches = knowledge.resolve(knowledge_request)
        ctx = RenderContext(
            now=datetime.now(timezone.utc),
            self_url=request.url,
            base_url=services.settings.base_url or request.host_url,
        )
        body = fmt.render(knowledge_request, matches, ctx)
        answered = frozenset(m.criterion.code for m in matches if m.rule is not None)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return RenderedResponse(body, fmt.content_type, etag, answered)

    key = (fmt.name, knowledge_request.cache_key, knowledge_request.callback, request.host, request.path)
    rendered = knowledge.cached_response(key, build)
    for hook in services.on_answer:
        hook(knowledge_request, rendered.answered)
    headers = {
        "ETag": rendered.etag,
        "Cache-Control": f"private, max-age={services.settings.http_max_age}",
        "Vary": "Accept",
        "X-Content-Type-Options": "nosniff",
    }
    if "If-None-Match" in request.headers and request.if_none_match.contains_weak(rendered.etag.strip('"')):
        return Response(status=304, headers=headers)
    return Response(rendered.body, content_type=rendered.content_type, headers=headers)


@bp.route("/infobutton", methods=["GET", "POST"])
@bp.route("/service", methods=["GET", "POST"])
def infobutton():
    return knowledge_response()


@bp.get("/healthz")
def healthz():
    services = current_services()
    services.db.scalar("SELECT 1")
    return {"status": "ok", "topics": services.topics.count(), "mappings": services.mappings.count()}
