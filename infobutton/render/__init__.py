"""Response formats and their negotiation, decided in one place for answers and errors alike.

``knowledgeResponseType`` wins (URL-IG §2.1.6), then the Accept header, then Atom (text/xml),
which is what MedlinePlus Connect answers by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..models import InvalidRequest, KnowledgeRequest, TopicMatch
from . import atom, fhir, html, json_feed


@dataclass(frozen=True)
class RenderContext:
    """Everything a renderer may need beyond the request and matches; built by the view. No
    clock: the same answer renders to the same bytes in every worker (stable ETags)."""

    self_url: str = ""
    base_url: str = ""
    jsonp_guard: bool = True  # JSONP starts with /**/ (json_feed.serialise_jsonp)


Renderer = Callable[[KnowledgeRequest, list[TopicMatch], RenderContext], bytes]


@dataclass(frozen=True)
class Format:
    name: str
    content_type: str
    media_types: tuple[str, ...]
    render: Renderer
    error_kind: str  # "xml" | "json" | "html": how errors are shown to this caller


def _atom(request, matches, ctx):
    return atom.serialise(atom.feed(request, matches, ctx.base_url))


def _json(request, matches, ctx):
    return json_feed.serialise(atom.feed(request, matches, ctx.base_url))


def _jsonp(request, matches, ctx):
    callback = json_feed.check_callback(request.callback)
    return json_feed.serialise_jsonp(atom.feed(request, matches, ctx.base_url), callback, ctx.jsonp_guard)


# Every response format by name, in negotiation order: a */* tie goes to Atom, listed first, and
# browsers' text/html gets the page. Fixed at import; nothing adds to it.
FORMATS: Mapping[str, Format] = MappingProxyType(
    {
        fmt.name: fmt
        for fmt in (
            Format(
                "atom", "text/xml; charset=utf-8", ("text/xml", "application/atom+xml", "application/xml"), _atom, "xml"
            ),
            Format("json", "application/json", ("application/json",), _json, "json"),
            Format(
                "jsonp",
                "application/javascript; charset=utf-8",
                ("application/javascript", "text/javascript"),
                _jsonp,
                "json",
            ),
            Format("fhir", fhir.CONTENT_TYPE, ("application/fhir+json", "application/json+fhir"), fhir.render, "fhir"),
            Format("html", html.CONTENT_TYPE, ("text/html", "application/xhtml+xml"), html.render, "html"),
        )
    }
)
_BY_MEDIA_TYPE: Mapping[str, Format] = MappingProxyType(
    {media_type: fmt for fmt in FORMATS.values() for media_type in fmt.media_types}
)


def negotiate(response_type: str | None, accept=None) -> Format:
    """The format for ``knowledgeResponseType`` (case-insensitive), else the best Accept match
    (a werkzeug MIMEAccept), else Atom. An unknown knowledgeResponseType is an error."""
    table = _BY_MEDIA_TYPE
    if response_type:
        fmt = table.get(response_type.strip().lower().split(";")[0].strip())
        if fmt is None:
            raise InvalidRequest(
                "knowledgeResponseType",
                f"unsupported response type; use one of {', '.join(sorted(table))}",
            )
        return fmt
    if accept is not None:
        best = accept.best_match(list(table), default=None)  # ties go to Atom, listed first
        if best:
            return table[best]
    return FORMATS["atom"]


def negotiate_leniently(response_type: str | None, accept=None) -> Format:
    """Like negotiate, but never fails: for choosing how to show an error."""
    try:
        return negotiate(response_type, accept)
    except InvalidRequest:
        return negotiate(None, accept)
