"""MedlinePlus health-topics XML (``mplus_topics_YYYY-MM-DD.xml``) → Topic values.

The file is untrusted: parsed with defusedxml (no DTDs, no entity expansion), summaries
sanitised with the one allow-list in ``sanitise``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import IO
from urllib.parse import urlsplit

from defusedxml import ElementTree

from ..models import Site, Topic, TopicRef
from .sanitise import sanitise

LANGUAGES = {"english": "en", "spanish": "es", "en": "en", "es": "es"}


class InvalidCatalogue(ValueError):
    """A file that is not a MedlinePlus health-topics document."""


def topic_id(url: str) -> str:
    """Topic identity from its canonical URL: ``/leukemia.html`` → leukemia,
    ``/spanish/leukemia.html`` → leukemia-es. Stable across upstream re-numbering."""
    path = urlsplit(url).path.rstrip("/")
    stem = re.sub(r"\.html?$", "", path.rsplit("/", 1)[-1]).lower()
    return f"{stem}-es" if "/spanish/" in path else stem


def _date(text: str | None) -> str:
    text = (text or "").strip()
    for fmt in ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return ""


def _text(element) -> str:
    return (element.text or "").strip() if element is not None else ""


def _ref(element) -> TopicRef:
    url = element.get("url", "")
    return TopicRef(id=topic_id(url) if url else element.get("id", ""), title=_text(element), url=url)


def topic_from_element(el) -> Topic:
    url = el.get("url", "")
    language = LANGUAGES.get(el.get("language", "English").strip().lower(), "en")
    sites, encyclopedia = [], []
    for s in el.findall("site"):
        categories = [_text(c) for c in s.findall("information-category")]
        site = Site(
            title=s.get("title", ""),
            url=s.get("url", ""),
            category=categories[0] if categories else "",
            organization=", ".join(_text(o) for o in s.findall("organization")),
            language_mapped_url=s.get("language-mapped-url", ""),
            description=", ".join(_text(d) for d in s.findall("standard-description")),
        )
        sites.append(site)
        if "encyclop" in (site.description + site.organization).lower():
            encyclopedia.append(site)
    twin_el = el.find("language-mapped-topic")
    institute = el.find("primary-institute")
    return Topic(
        id=topic_id(url),
        title=el.get("title", "").strip(),
        url=url,
        language=language,
        summary_html=sanitise(_text(el.find("full-summary"))),
        meta_desc=el.get("meta-desc", ""),
        also_called=tuple(_text(a) for a in el.findall("also-called")),
        groups=tuple(_ref(g) for g in el.findall("group")),
        mesh_headings=tuple(
            (d.get("id", ""), _text(d)) for m in el.findall("mesh-heading") for d in m.findall("descriptor")
        ),
        primary_institute=_ref(institute) if institute is not None else None,
        related=tuple(_ref(r) for r in el.findall("related-topic")),
        see_references=tuple(_text(r) for r in el.findall("see-reference")),
        sites=tuple(sites),
        encyclopedia=tuple(encyclopedia),
        twin=_ref(twin_el) if twin_el is not None else None,
        date_created=_date(el.get("date-created")),
    )


def parse(source: IO[bytes] | str) -> list[Topic]:
    """All topics of a health-topics document (a path or a binary file)."""
    root = ElementTree.parse(source).getroot()
    if root.tag != "health-topics":
        raise InvalidCatalogue(f"root element is <{root.tag}>, expected <health-topics>")
    return [topic_from_element(el) for el in root.findall("health-topic")]
