"""The one HTML allow-list for summaries, applied before content is stored or served (nh3)."""

from __future__ import annotations

import nh3

TAGS = {"p", "ul", "ol", "li", "a", "em", "strong", "b", "i", "br", "span", "h3", "h4"}
ATTRIBUTES = {"a": {"href", "title"}, "span": {"class"}, "p": {"class"}}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitise(html: str) -> str:
    """Summary HTML reduced to safe formatting and http(s) links; scripts and handlers dropped."""
    return nh3.clean(
        html or "",
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()
