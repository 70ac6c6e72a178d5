"""The answering service: one knowledge request → its answer (URL-IG R4 §2, HTTP GET or POST).

The one place an answer is keyed, built (resolved and rendered) or taken from the response
cache, and observed (usage counting, the gap report and metrics, once per answer served). Both
web adapters call it: the WSGI fast path (``web.cached_answers``) and the Flask views
(``web.infobutton``, ``web.pages``); neither keys, renders or observes on its own. The answer's
ETag is computed from its bytes, which depend only on the request and the data, never on the
render time or the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.http import generate_etag, quote_etag

from ..knowledge import KnowledgeService
from ..metrics import answer_layers
from ..models import Code, KnowledgeRequest, RenderedResponse
from ..render import Format, RenderContext
from .links import current_url, host_url

# Called as hook(knowledge_request, answered_codes, client) for every answer served, cached or
# not: answered_codes is the frozenset of the request's Codes a mapping rule answered, client the
# caller's address ('' when unknown). Cheap by design; hooks must not store patient context.
AnswerHook = Callable[[KnowledgeRequest, frozenset[Code], str], None]
# Called with every answer as served (cached or not); sees no request, so no patient context.
RenderedHook = Callable[[RenderedResponse], None]


@dataclass(frozen=True, slots=True)
class Answer:
    """What an adapter sends for 200: the body, its content type, and the caching headers."""

    body: bytes
    content_type: str
    headers: list[tuple[str, str]]


def answer_key(fmt: Format, knowledge_request: KnowledgeRequest, scheme: str, host: str, path: str) -> tuple:
    """The response cache's key for an answer: everything its body depends on. Its links are
    absolute (FHIR ``link.self``, the Atom feed's, the page's), so the scheme, host and path the
    caller used are part of it: behind a TLS proxy an http and an https caller of the same query
    each get their own links, in this worker and through the shared cache alike."""
    return (fmt.name, knowledge_request.cache_key, knowledge_request.callback, scheme, host, path)


class AnswerService:
    """Answers knowledge requests from ``knowledge`` (its response cache, else resolved), with
    links under ``base_url`` (else the caller's host) and private caching for ``http_max_age``
    seconds; each answer served is shown to ``on_answer`` and ``on_rendered``."""

    def __init__(
        self,
        knowledge: KnowledgeService,
        *,
        base_url: str = "",
        http_max_age: int = 0,
        on_answer: list[AnswerHook] | None = None,
        on_rendered: list[RenderedHook] | None = None,
    ):
        self.knowledge = knowledge
        self.base_url = base_url
        self.cache_control = f"private, max-age={http_max_age}"
        self.on_answer = on_answer if on_answer is not None else []
        self.on_rendered = on_rendered if on_rendered is not None else []

    def answer(
        self,
        knowledge_request: KnowledgeRequest,
        fmt: Format,
        *,
        scheme: str,
        host: str,
        root: str,
        path: str,
        query: bytes,
        client: str,
        jsonp_guard: bool = True,
    ) -> Answer:
        """The answer to ``knowledge_request`` in ``fmt`` for a caller who sent it to
        ``scheme://host/root/path?query``: from the response cache, else built once (an error
        in the build is raised, for the adapter's error handling); observed once either way.
        ``jsonp_guard``: JSONP starts with ``/**/``."""
        key = answer_key(fmt, knowledge_request, scheme, host, root + path)
        rendered = self.knowledge.cached_response(
            key,
            lambda: self.build(
                knowledge_request,
                fmt,
                jsonp_guard,
                self_url=current_url(scheme, host, root, path, query),
                base_url=self.base_url or host_url(scheme, host),
            ),
        )
        for hook in self.on_answer:
            hook(knowledge_request, rendered.answered, client)
        for observe in self.on_rendered:
            observe(rendered)
        return Answer(rendered.body, rendered.content_type, self.headers(rendered))

    def build(
        self,
        knowledge_request: KnowledgeRequest,
        fmt: Format,
        jsonp_guard: bool = True,
        *,
        self_url: str,
        base_url: str,
    ) -> RenderedResponse:
        """Resolve and render one knowledge request (what the response cache keeps); ``self_url``
        is the request's URL, ``base_url`` the service's public base."""
        matches = self.knowledge.resolve(knowledge_request)
        ctx = RenderContext(self_url=self_url, base_url=base_url, jsonp_guard=jsonp_guard)
        body = fmt.render(knowledge_request, matches, ctx)
        answered = frozenset(m.criterion.code for m in matches if m.rule is not None and m.criterion.code is not None)
        layers = answer_layers(knowledge_request.criteria, matches)
        return RenderedResponse(body, fmt.content_type, quote_etag(generate_etag(body)), answered, layers)

    def headers(self, rendered: RenderedResponse) -> list[tuple[str, str]]:
        """The answer's caching headers: its strong ETag, private caching for ``http_max_age``,
        and Vary: Accept (the format is negotiated). Written out once here rather than through a
        response's header descriptors, which the cached hot path would pay for on every answer."""
        return [
            ("ETag", rendered.etag),
            ("Cache-Control", self.cache_control),
            ("Vary", "Accept"),
            ("X-Content-Type-Options", "nosniff"),
        ]
