"""A knowledge request as it arrives: its query string parsed (URL-IG R4 §2, HTTP GET) and its
response format negotiated (knowledgeResponseType, else Accept), each kept for the same inputs
coming again, as an EHR's do."""

from __future__ import annotations

import functools
from urllib.parse import parse_qsl

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from ..models import KnowledgeRequest
from ..render import Format, negotiate
from ..request import parse

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


def response_format(response_type: str | None, accept: str | None) -> Format:
    """``negotiate``: knowledgeResponseType when given, else the Accept header (its value),
    whose parse and best match are kept per value (EHRs send the same few again and again)."""
    if response_type:
        return negotiate(response_type)
    return _format_for_accept(accept)


@functools.lru_cache(maxsize=256)
def _format_for_accept(accept: str | None) -> Format:
    return negotiate(None, parse_accept_header(accept, MIMEAccept))  # as Request.accept_mimetypes
