"""Knowledge Response as an Atom feed (HL7 Infobutton SOA IG R1, §4.3; KnowledgeResponse.xsd).

Element order follows the schema's xs:sequence; every request parameter the schema has a
category scheme for is echoed, unsuffixed, once per instance (§4.3.2). Each entry says, in
categories of the schema's own schemes (as the IG's example payload does), what it answers: the
code (mainSearchCriteria.v.c/.cs/.dn) or words, the audience its rule or topic is for
(informationRecipient), the subtopics whose links it carries (subTopic.v.c/.cs/.dn), its
relevanceScore and why it is there (strengthOfRecommedation, the schema's spelling).

``feed`` describes the feed once, as a tree of ``Node``s; ``element``/``serialise`` turn it into
XML and ``json_feed`` into the JSON mirror, so both carry the same elements by construction and a
JSON answer never pays for an XML tree it does not send.
"""

from __future__ import annotations

import uuid
from html import escape

from lxml import etree

from .. import sites, subtopics, terminology
from ..hosts import on_medlineplus
from ..models import CodeSystem, KnowledgeRequest, Recipient, Site, Topic, TopicMatch
from . import attribution

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ALSO_CALLED = {"en": "Also called", "es": "También llamado"}
TITLE = {"en": "Health topics", "es": "Temas de salud"}
RESULTS_FOR = {"en": "Health topic results for {}", "es": "Resultados de temas de salud para {}"}


class Node:
    """One Atom element: local ``tag``, ``attrs`` (``lang`` is ``xml:lang``), ``text``, ``children``."""

    __slots__ = ("tag", "attrs", "text", "children")

    def __init__(self, tag: str, text: str | None = None, attrs: dict[str, str] | None = None):
        self.tag = tag
        self.attrs = attrs or {}
        self.text = text
        self.children: list[Node] = []

    def __repr__(self) -> str:
        return f"Node({self.tag!r}, {self.text!r}, {self.attrs!r}, {self.children!r})"


def _el(parent: Node, tag: str, text: str | None = None, **attrs: str) -> Node:
    node = Node(tag, text, attrs)
    parent.children.append(node)
    return node


# The feed's ``updated`` when no answered topic carries a date: nothing in the data dates the
# answer (an empty feed; a topic from another responder that gave no date), and a render time
# would give every worker its own body and ETag (docs/decisions.md, "Stable ETags").
UNDATED = "1970-01-01T00:00:00Z"


def topic_date(topic: Topic) -> str:
    """The date a topic is known by, as its catalogue gives it: its last update, else the date
    it was last reviewed, else the date of the catalogue it came from (a link-only topic's only
    date); "" when nothing dates it. Never its creation date, never a date of our making."""
    return topic.date_updated or topic.date_reviewed or topic.catalogue_date


def feed_updated(matches: list[TopicMatch]) -> str:
    """When the answer's content last changed, as the data tells it (Atom ``updated``, HL7
    Knowledge Response ``updated``): the newest ``topic_date`` of the answered topics, else
    ``UNDATED``. A function of the answer alone, so every worker and instance renders the same
    bytes for the same answer and so the same ETag."""
    dates = [date for m in matches if (date := topic_date(m.topic))]
    return f"{max(dates)}T00:00:00Z" if dates else UNDATED


def describe_criteria(request: KnowledgeRequest) -> str:
    """ "ICD-10-CM C91.00, SNOMED CT 91857003" or the free text, for the subtitle."""
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
    """Stable across renders: for a MedlinePlus page the RFC 4151 tag URI
    tag:medlineplus.gov,<created>:<topic id>; for a page elsewhere a urn:uuid named by its URL,
    so no entry claims medlineplus.gov's naming authority for another site's page."""
    if not on_medlineplus(topic.url):
        return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, topic.url))
    date = topic.date_created or "2001-10-22"
    return f"tag:medlineplus.gov,{date}:/{topic.id}"


def summary_html(topic: Topic, credit: attribution.Credit) -> str:
    """What a client shows as the entry's text: the topic's own content and nothing else. A topic
    with text gets its (sanitised) summary, its also-called names and who the text is from
    (MedlinePlus's NLMalsoCalled and NLMattribution paragraphs, for MedlinePlus text only;
    otherwise infobuttonAlsoCalled and an infobuttonAttribution paragraph naming the real
    source); a link-only topic only says it links to its page (its names are MedlinePlus's,
    but no text of its own to show them with). Why the service chose the topic is not content:
    it is in the entry's categories (``entry_categories``) and ``source``."""
    lang = topic.language if topic.language in attribution.WHY else "en"
    also_called, attributed = (
        ("NLMalsoCalled", "NLMattribution")
        if credit.nlm  # MedlinePlus's own
        else ("infobuttonAlsoCalled", "infobuttonAttribution")
    )
    parts = [topic.summary_html]
    if topic.also_called and attribution.has_text(topic):
        parts.append(f'<p class="{also_called}">{ALSO_CALLED[lang]}: {escape(", ".join(topic.also_called))}</p>')
    parts.append(f'<p class="{attributed}">{escape(credit.sentence)}</p>')
    return "".join(parts)


def updated(topic: Topic, fallback: str) -> str:
    """The topic's ``topic_date`` as an Atom instant. Atom requires ``updated``, so a topic that
    nothing dates carries the feed's own (``fallback``)."""
    date = topic_date(topic)
    return f"{date}T00:00:00Z" if date else fallback


def audiences(match: TopicMatch) -> tuple[str, ...]:
    """Who the entry is for, as informationRecipient codes: the audiences its curated rule is
    limited to, and PROV for a health-professional topic; () when it is for anyone."""
    found = {r.value for r in match.rule.audiences} if match.rule is not None else set()
    if match.topic.audience == "professional":
        found.add(Recipient.PROVIDER.value)
    return tuple(sorted(found))


def entry_categories(match: TopicMatch, answered: tuple[subtopics.Qualifier, ...] = ()) -> list[tuple[str, str]]:
    """(scheme, term) for an entry, every scheme one KnowledgeResponse.xsd enumerates: what the
    entry answers (the code, its system and its name where we know one or the caller sent one;
    or the words), whom it is for, the subtopics ``answered`` by its links, its relevance and
    why it is there (``attribution.reason``, never empty)."""
    criterion = match.criterion
    found: list[tuple[str, str]] = []
    if criterion.code is not None:
        found.append(("mainSearchCriteria.v.c", criterion.code.value))
        found.append(("mainSearchCriteria.v.cs", criterion.code.system.oid))
        name = terminology.describe(criterion.code) or criterion.display_name
        if name:
            found.append(("mainSearchCriteria.v.dn", name))
    else:
        if criterion.display_name:
            found.append(("mainSearchCriteria.v.dn", criterion.display_name))
        if criterion.original_text:
            found.append(("mainSearchCriteria.v.ot", criterion.original_text))
    found += [("informationRecipient", code) for code in audiences(match)]
    for qualifier in answered:
        found.append(("subTopic.v.c", qualifier.id))
        found.append(("subTopic.v.cs", CodeSystem.MESH.oid))
        found.append(("subTopic.v.dn", qualifier.name))
    found.append(("relevanceScore", f"{match.relevance:.2f}"))
    found.append(("strengthOfRecommedation", attribution.reason(match)))
    return found


def link_type(url: str) -> str:
    """The media type a section link announces: a PDF by its path, otherwise a web page."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    return "application/pdf" if path.lower().endswith(".pdf") else "text/html"


def section_links(topic: Topic, chosen: subtopics.Selection, child: bool | None) -> tuple[Site, ...]:
    """The topic's links in the sections a request's subtopics select, in the order that suits
    the patient's age (``sites.order``); () when the request selects no section."""
    return sites.order(chosen.sites(topic.sites), child) if chosen else ()


def _person(parent, tag: str, person: tuple[str, str]) -> None:
    node = _el(parent, tag)
    _el(node, "name", person[0])
    if person[1]:
        _el(node, "uri", person[1])


def feed(request: KnowledgeRequest, matches: list[TopicMatch], base_url: str = "") -> Node:
    """The feed for a request and its ranked matches.

    The feed's author is this service (at ``base_url``): it chose the topics. An entry whose
    text came from elsewhere names that source as its author, with this service as contributor
    (it added the reason); a link-only entry inherits the feed's author. ``source`` (type text,
    the last element the schema allows in an entry) holds the resolution layer (docs/decisions.md).
    When the request names known subtopics (subTopic.v.c), an entry also links (rel "related")
    the topic's links in the sections they select, after its page and its twin.
    Nothing in it depends on when it is rendered (``feed_updated``, ``feed_id``, ``entry_id``).
    """
    lang = request.language
    stamp = feed_updated(matches)
    chosen = subtopics.selection(request)
    child = sites.patient_is_child(request)
    root = Node("feed", attrs={"lang": lang})
    _el(root, "title", TITLE.get(lang, TITLE["en"]), type="text")
    _el(root, "subtitle", RESULTS_FOR.get(lang, RESULTS_FOR["en"]).format(describe_criteria(request)), type="text")
    service = (attribution.SERVICE_NAME, base_url)
    _person(root, "author", service)
    _el(root, "updated", stamp)
    for scheme, term in request.echo:
        _el(root, "category", scheme=scheme, term=term)
    _el(root, "id", feed_id(request))
    for match in matches:
        topic = match.topic
        entry = _el(root, "entry", lang=topic.language)
        _el(entry, "title", topic.title, type="text")
        _el(
            entry, "link", href=topic.url, rel="alternate", type="text/html", hreflang=topic.language, title=topic.title
        )
        if topic.twin is not None and topic.twin.url:
            _el(
                entry,
                "link",
                href=topic.twin.url,
                rel="alternate",
                type="text/html",
                hreflang="es" if topic.language == "en" else "en",
                title=topic.twin.title,
            )
        selected = section_links(topic, chosen, child)
        for site in selected:
            _el(
                entry,
                "link",
                href=site.url,
                rel="related",
                type=link_type(site.url),
                hreflang=topic.language,  # the language of the page that lists the link
                title=site.title,
            )
        _el(entry, "id", entry_id(topic))
        _el(entry, "updated", updated(topic, stamp))
        credit = attribution.credit(topic)
        if credit.author is not None and credit.author[0] != attribution.SERVICE_NAME:
            _person(entry, "author", credit.author)
            _person(entry, "contributor", service)
        _el(entry, "summary", summary_html(topic, credit), type="html")
        for scheme, term in entry_categories(match, chosen.answered(selected)):
            _el(entry, "category", scheme=scheme, term=term)
        _el(entry, "source", match.provenance.value, type="text")
    return root


def element(node: Node, parent: etree._Element | None = None) -> etree._Element:
    """``node`` as an lxml element in the Atom namespace (the default one), under ``parent``."""
    tag = f"{{{ATOM}}}{node.tag}"
    # lxml-stubs type nsmap keys as str, but None is lxml's key for the default namespace
    el = etree.Element(tag, nsmap={None: ATOM}) if parent is None else etree.SubElement(parent, tag)  # type: ignore[dict-item]
    for key, value in node.attrs.items():
        el.set(XML_LANG if key == "lang" else key, value)
    el.text = node.text
    for child in node.children:
        element(child, el)
    return el


def build(request: KnowledgeRequest, matches: list[TopicMatch], base_url: str = "") -> etree._Element:
    """The feed element (``feed`` as XML)."""
    return element(feed(request, matches, base_url))


def serialise(root: Node) -> bytes:
    return etree.tostring(element(root), xml_declaration=True, encoding="UTF-8")
