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
import re
from urllib.parse import parse_qsl

from flask import Blueprint, Request, Response, request
from werkzeug.datastructures import MIMEAccept, MultiDict
from werkzeug.http import generate_etag, parse_accept_header, quote_etag
from werkzeug.sansio.utils import get_current_url

from ..metrics import answer_layers
from ..models import InvalidRequest, KnowledgeRequest, RenderedResponse
from ..render import Format, RenderContext, negotiate
from ..request import parse
from ..services import Services, current_services
from . import cors

bp = Blueprint("infobutton", __name__)
# NLM's own path for the MedlinePlus Connect web service, hard-coded in clients in the field.
LEGACY_SERVICE_PATH = "/medlineplus/services/mpconnect_service.cfm"


# Parsed query strings kept. Each costs ~1.5 KB (a KnowledgeRequest and its strings): at 8,192 it
# was the largest thing a worker grew by under load, twice the response cache (docs/decisions.md).
# Only query strings up to PARSED_QUERY_BYTES are kept (an infobutton's are a few hundred bytes),
# so the kept ones hold a few MB whatever queries arrive (a query string may be 8 KB).
PARSED_QUERIES_KEPT = 1024
PARSED_QUERY_BYTES = 2048


def parse_query(query_string: bytes) -> KnowledgeRequest:
    """A GET query string → KnowledgeRequest. Parsing is pure, so repeated identical requests
    (the common case for an infobutton) are parsed once; bad ones raise every time."""
    if len(query_string) > PARSED_QUERY_BYTES:
        return _parse_query(query_string)
    return _parse_query_kept(query_string)


def _parse_query(query_string: bytes) -> KnowledgeRequest:
    text = query_string.decode("utf-8", "replace")
    return parse(parse_qsl(text, keep_blank_values=True, errors="replace"))


_parse_query_kept = functools.lru_cache(maxsize=PARSED_QUERIES_KEPT)(_parse_query)


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
    """parse → negotiate → knowledge (cached) → response. ``params`` (a MultiDict) defaults to
    the current request's own parameters; ``jsonp_guard``: JSONP starts with ``/**/``."""
    services = current_services()
    req = request._get_current_object()  # type: ignore[attr-defined]  # once, not per attribute
    knowledge_request = parsed_request() if params is None else parse(params.items(multi=True))
    fmt = response_format(knowledge_request.response_type or default_type, req.environ.get("HTTP_ACCEPT"))
    key = answer_key(fmt, knowledge_request, req.scheme, req.host, req.root_path + req.path)
    rendered = services.knowledge.cached_response(
        key,
        lambda: render(
            services,
            knowledge_request,
            fmt,
            jsonp_guard,
            self_url=request_url(req),
            base_url=services.settings.base_url or host_url(req.scheme, req.host),
        ),
    )
    observe_answer(services, knowledge_request, rendered)
    response = Response(rendered.body, content_type=rendered.content_type, headers=_headers(services, rendered))
    # only a conditional request pays for the check (a 304 or not); reading the header's absence
    # from the environ spares building an empty ETags for every other request
    if "HTTP_IF_NONE_MATCH" in req.environ and req.if_none_match:
        response.make_conditional(req)
    return response


def answer_key(fmt: Format, knowledge_request: KnowledgeRequest, scheme: str, host: str, path: str) -> tuple:
    """The response cache's key for an answer: everything its body depends on. Its links are
    absolute (FHIR ``link.self``, the Atom feed's, the page's), so the scheme, host and path the
    caller used are part of it: behind a TLS proxy an http and an https caller of the same query
    each get their own links, in this worker and through the shared cache alike."""
    return (fmt.name, knowledge_request.cache_key, knowledge_request.callback, scheme, host, path)


def observe_answer(services: Services, knowledge_request: KnowledgeRequest, rendered: RenderedResponse) -> None:
    """What every answer served is shown to: usage counting and the gap report (``on_answer``),
    metrics (``on_rendered``)."""
    for hook in services.on_answer:
        hook(knowledge_request, rendered.answered)
    for observe in services.on_rendered:
        observe(rendered)


def response_format(response_type: str | None, accept: str | None) -> Format:
    """``negotiate``: knowledgeResponseType when given, else the Accept header (its value),
    whose parse and best match are kept per value (EHRs send the same few again and again)."""
    if response_type:
        return negotiate(response_type)
    return _format_for_accept(accept)


@functools.lru_cache(maxsize=256)
def _format_for_accept(accept: str | None) -> Format:
    return negotiate(None, parse_accept_header(accept, MIMEAccept))  # as Request.accept_mimetypes


# URL parts that werkzeug's quote and uri_to_iri (``Request.url``) leave as they are: no percent
# sign, nothing to escape; a lower-case host name (no IDNA label) with an explicit port or none.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._~!$&'()*+,/:;=@-]*")
_PLAIN_QUERY = re.compile(rb"[A-Za-z0-9._~!$&'()*+,/:;=@?-]*")
_PLAIN_HOST = re.compile(r"(?!.*xn--)[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::(?P<port>[1-9][0-9]{0,4}))?")


def request_url(req: Request) -> str:
    """``req.url``, built cheaply (``current_url``)."""
    return current_url(req.scheme, req.host, req.root_path, req.path, req.query_string)


def current_url(scheme: str, host: str, root: str, path: str, query: bytes) -> str:
    """werkzeug's ``get_current_url`` (what ``Request.url`` is), built directly when no part of
    the URL has anything for its quote and IRI round trip to change (~10 µs of every answer
    rendered); otherwise werkzeug's own."""
    plain_host = _PLAIN_HOST.fullmatch(host)
    if (
        scheme in ("http", "https")
        and plain_host is not None
        and int(plain_host["port"] or 0) <= 65535
        and _PLAIN_PATH.fullmatch(root)
        and _PLAIN_PATH.fullmatch(path)
        and _PLAIN_QUERY.fullmatch(query)
    ):
        url = f"{scheme}://{host}{root.rstrip('/')}/{path.lstrip('/')}"
        return f"{url}?{query.decode('ascii')}" if query else url
    return get_current_url(scheme, host, root, path, query)


@functools.lru_cache(maxsize=64)
def host_url(scheme: str, host: str) -> str:
    """``Request.host_url`` for a scheme and host."""
    return get_current_url(scheme, host)


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
    services: Services,
    knowledge_request: KnowledgeRequest,
    fmt: Format,
    jsonp_guard: bool = True,
    *,
    self_url: str,
    base_url: str,
) -> RenderedResponse:
    """Resolve and render one knowledge request (what the response cache keeps); ``self_url``
    is the request's URL, ``base_url`` the service's public base."""
    matches = services.knowledge.resolve(knowledge_request)
    ctx = RenderContext(self_url=self_url, base_url=base_url, jsonp_guard=jsonp_guard)
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
