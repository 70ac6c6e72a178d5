"""Knowledge Response as an Atom feed (HL7 Infobutton SOA IG R1, §4.3; KnowledgeResponse.xsd).

Element order follows the schema's xs:sequence; every request parameter the schema has a
category scheme for is echoed, unsuffixed, once per instance (§4.3.2).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from html import escape

from lxml import etree

from ..models import KnowledgeRequest, Topic, TopicMatch

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
AUTHOR = ("National Library of Medicine", "https://medlineplus.gov")
ATTRIBUTION = {
    "en": "From MedlinePlus.gov, U.S. National Library of Medicine",
    "es": "De MedlinePlus.gov, Biblioteca Nacional de Medicina de los Estados Unidos",
}
ALSO_CALLED = {"en": "Also called", "es": "También llamado"}
TITLE = {"en": "Health topics", "es": "Temas de salud"}
RESULTS_FOR = {"en": "Health topic results for {}", "es": "Resultados de temas de salud para {}"}


def _el(parent, tag: str, text: str | None = None, **attrs):
    node = etree.SubElement(parent, f"{{{ATOM}}}{tag}")
    for key, value in attrs.items():
        node.set(XML_LANG if key == "lang" else key, value)
    if text is not None:
        node.text = text
    return node


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_criteria(request: KnowledgeRequest) -> str:
    """"ICD-10-CM C91.00, SNOMED CT 91857003" or the free text, for the subtitle."""
    parts = []
    for c in request.criteria:
        if c.code is not None:
            parts.append(f"{c.code.system.label} {c.code.value}")
        else:
            parts.append(f"\u201c{c.original_text or c.display_name}\u201d")
    return ", ".join(parts)


def feed_id(request: KnowledgeRequest) -> str:
    """A urn:uuid stable for the same normalised request, so cached answers keep their id."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, repr(request.cache_key)))


def entry_id(topic: Topic) -> str:
    """RFC 4151 tag URI, stable across renders: tag:medlineplus.gov,<created>:<topic id>."""
    date = topic.date_created or "2001-10-22"
    return f"tag:medlineplus.gov,{date}:/{topic.id}"


def summary_html(topic: Topic) -> str:
    """The topic summary plus MedlinePlus's NLMalsoCalled and NLMattribution paragraphs."""
    parts = [topic.summary_html]
    if topic.also_called:
        label = ALSO_CALLED.get(topic.language, ALSO_CALLED["en"])
        parts.append(f'<p class="NLMalsoCalled">{label}: {escape(", ".join(topic.also_called))}</p>')
    parts.append(f'<p class="NLMattribution">{ATTRIBUTION.get(topic.language, ATTRIBUTION["en"])}</p>')
    return "".join(parts)


def _updated(topic: Topic, fallback: str) -> str:
    date = topic.date_updated or topic.date_reviewed or topic.date_created
    return f"{date}T00:00:00Z" if date else fallback


def build(request: KnowledgeRequest, matches: list[TopicMatch], now: datetime) -> etree._Element:
    """The feed element for a request and its ranked matches."""
    lang = request.language
    stamp = _timestamp(now)
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    feed.set(XML_LANG, lang)
    _el(feed, "title", TITLE.get(lang, TITLE["en"]), type="text")
    _el(feed, "subtitle", RESULTS_FOR.get(lang, RESULTS_FOR["en"]).format(describe_criteria(request)),
        type="text")
    author = _el(feed, "author")
    _el(author, "name", AUTHOR[0])
    _el(author, "uri", AUTHOR[1])
    _el(feed, "updated", stamp)
    for scheme, term in request.echo:
        _el(feed, "category", scheme=scheme, term=term)
    _el(feed, "id", feed_id(request))
    for match in matches:
        topic = match.topic
        entry = _el(feed, "entry", lang=topic.language)
        _el(entry, "title", topic.title, type="text")
        _el(entry, "link", href=topic.url, rel="alternate", type="text/html",
            hreflang=topic.language, title=topic.title)
        if topic.twin is not None and topic.twin.url:
            _el(entry, "link", href=topic.twin.url, rel="alternate", type="text/html",
                hreflang="es" if topic.language == "en" else "en", title=topic.twin.title)
        _el(entry, "id", entry_id(topic))
        _el(entry, "updated", _updated(topic, stamp))
        _el(entry, "summary", summary_html(topic), type="html")
        criterion = match.criterion
        if criterion.code is not None:
            _el(entry, "category", scheme="mainSearchCriteria.v.c", term=criterion.code.value)
            _el(entry, "category", scheme="mainSearchCriteria.v.cs", term=criterion.code.system.oid)
        _el(entry, "category", scheme="relevanceScore", term=f"{match.relevance:.2f}")
    return feed


def serialise(feed: etree._Element) -> bytes:
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8")
