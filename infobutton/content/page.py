"""A MedlinePlus health topic page → Topic: the HTML page, or its plain-text rendering (the kind
``../shared/seeds/`` holds, headings as ``#``/``##`` and links as ``* item`` lines).

Both are first read into the same outline (title, URL, sections of paragraphs and list items),
then one interpreter maps the outline onto the Topic model: the summary, one Site per link in
every information-category section (Start Here … Patient Handouts), Medical Encyclopedia
entries, related health topics, the primary NIH institute, the topic image, the Spanish/English
twin and the "last updated" / "last reviewed" dates; ``source`` is "medlineplus" for a page on
medlineplus.gov. Pure: text in, Topic out. The HTML is
untrusted: parsed without network access, summaries sanitised with the one allow-list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from ..hosts import on_medlineplus
from ..html_safety import sanitise
from ..models import Site, Topic, TopicRef
from ..text import fold
from .medlineplus_xml import language_of, topic_id

MAX_PAGE_BYTES = 5 * 1024 * 1024

# MedlinePlus information categories (the sections of links on a topic page), English and Spanish.
CATEGORIES = (
    "Start Here",
    "Symptoms",
    "Causes",
    "Diagnosis and Tests",
    "Prevention and Risk Factors",
    "Treatments and Therapies",
    "Living With",
    "Related Issues",
    "Specifics",
    "Genetics",
    "Videos and Tutorials",
    "Test Your Knowledge",
    "Statistics and Research",
    "Clinical Trials",
    "Journal Articles",
    "Reference Desk",
    "Find an Expert",
    "Patient Handouts",
    "Children",
    "Teenagers",
    "Men",
    "Women",
    "Seniors",
    "Learn More",
    "Health Check Tools",
    "Puntos de inicio",
    "Síntomas",
    "Causas",
    "Diagnóstico y pruebas",
    "Prevención y factores de riesgo",
    "Tratamientos y terapias",
    "Viviendo con",
    "Temas relacionados",
    "Aspectos específicos",
    "Genética",
    "Videos y tutoriales",
    "Estadísticas e investigación",
    "Ensayos clínicos",
    "Artículos de revistas",
    "Encuentre un especialista",
    "Folletos para pacientes",
    "Información para pacientes",
    "Niños",
    "Adolescentes",
    "Hombres",
    "Mujeres",
    "Personas mayores",
)
ENCYCLOPEDIA = ("medical encyclopedia", "enciclopedia medica")
RELATED = ("related health topics", "temas de salud relacionados")
INSTITUTE = ("national institutes of health", "institutos nacionales de la salud")
SUMMARY = ("summary", "resumen")
IMAGE = ("topic image", "imagen del tema")
MONTHS = {
    **{
        m: i
        for i, m in enumerate(
            (
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ),
            1,
        )
    },
    **{
        m: i
        for i, m in enumerate(
            (
                "enero",
                "febrero",
                "marzo",
                "abril",
                "mayo",
                "junio",
                "julio",
                "agosto",
                "septiembre",
                "octubre",
                "noviembre",
                "diciembre",
            ),
            1,
        )
    },
}
_IMAGE_MD = re.compile(r"!\[([^\]]*)\]\(([^)\s]*)\)", re.S)
_TRAILING_ORG = re.compile(r"\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*$")
_UPDATED = re.compile(
    r"(?:page last updated on|p[aá]gina actualizada(?: el)?)\s*:?\s*"
    r"(\d{1,2})(?: de)? (\w+)(?: de)? (\d{4})",
    re.I,
)
_REVIEWED = re.compile(
    r"(?:topic last reviewed|fecha de la [uú]ltima revisi[oó]n del tema)\s*:?\s*"
    r"(\d{1,2})(?: de)? (\w+)(?: de)? (\d{4})",
    re.I,
)


class InvalidPage(ValueError):
    """Not a MedlinePlus health topic page (no title or no URL found)."""


@dataclass
class Block:
    kind: str  # "para" | "item"
    text: str
    href: str = ""
    html: str = ""  # the block's own HTML (HTML pages) for the summary
    organization: str = ""  # HTML pages mark it up; in text it trails in parentheses


@dataclass
class Section:
    heading: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Outline:
    url: str = ""
    title: str = ""
    description: str = ""
    also_called: tuple[str, ...] = ()
    twin_url: str = ""
    sections: list[Section] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (alt, src) under "Topic Image"
    text: str = ""  # the whole page as text, for the dates


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _is(heading: str, names: tuple[str, ...]) -> bool:
    return fold(_squash(heading)).startswith(names)


def category(heading: str) -> str:
    """The information category a section heading names, or ''."""
    folded = fold(_squash(heading))
    for name in sorted(CATEGORIES, key=len, reverse=True):
        key = fold(name)
        if folded == key or (folded.startswith(key) and not folded[len(key)].isalnum()):
            return name
    return ""


# -- plain-text rendering ------------------------------------------------------------------------


def outline_from_text(text: str) -> Outline:
    """Read the plain-text rendering: ``Link:``/``URL of this page:``, ``#`` title, ``##`` sections,
    ``* `` list items, blank-line separated paragraphs."""
    out = Outline(text=text)
    section: Section | None = None
    para: list[str] = []

    def flush():
        if para and section is not None:
            section.blocks.append(Block("para", _squash(" ".join(para))))
        para.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if m := re.match(r"^(?:Link|URL of this page):\s*(\S+)", line):
            out.url = out.url or m.group(1)
            continue
        if m := re.match(r"^Description:\s*(.*)$", line):
            out.description = out.description or m.group(1).strip()
            continue
        if m := re.match(r"^Also called:\s*(.*)$", line, re.I):
            out.also_called = tuple(_squash(a) for a in m.group(1).split(",") if a.strip())
            continue
        if m := re.match(r"^#\s+(.+)$", line):
            flush()
            out.title = out.title or _squash(m.group(1))
            section = None
            continue
        if m := re.match(r"^##\s+(.+)$", line):
            flush()
            section = Section(_squash(m.group(1)))
            out.sections.append(section)
            continue
        if line.startswith("###"):
            flush()
            continue
        if m := re.match(r"^[*\-]\s+(.*)$", line) if raw[:1].isspace() else None:
            flush()
            if section is not None:
                section.blocks.append(Block("item", _squash(m.group(1))))
            continue
        if not line:
            flush()
            continue
        if re.fullmatch(r"espa(ñ|Ã±)ol", line, re.I):
            out.twin_url = out.twin_url or "spanish"
        elif line.lower() == "english":
            out.twin_url = out.twin_url or "english"
        para.append(line)
    flush()
    for s in out.sections:
        if _is(s.heading, IMAGE):
            out.images = [(_squash(alt), src) for alt, src in _IMAGE_MD.findall(" ".join(b.text for b in s.blocks))]
    return out


# -- HTML ------------------------------------------------------------------------------------------


def outline_from_html(html: str | bytes, base_url: str = "") -> Outline:
    """Read an HTML topic page: canonical link, h1 title, h2/h3 sections, ``li`` items (first
    link, ``.orgs``), paragraphs; script, style, nav and forms ignored."""
    parser = lxml.html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, huge_tree=False)
    if isinstance(html, str):
        html = html.encode("utf-8")
    # lxml-stubs declare _Element, but the HTML parser builds HtmlElement (with text_content)
    doc = cast(lxml.html.HtmlElement, lxml.html.document_fromstring(html, parser=parser))
    etree.strip_elements(doc, "script", "style", "noscript", "form", "template", with_tail=False)
    out = Outline()
    canonical = _strings(doc, "//link[@rel='canonical']/@href")
    og_url = _strings(doc, "//meta[@property='og:url']/@content")
    out.url = (canonical or og_url or [base_url])[0].strip()
    base = out.url or base_url
    description = _strings(doc, "//meta[@name='description']/@content")
    out.description = _squash(description[0]) if description else ""
    h1 = _elements(doc, "//h1")
    out.title = _squash(h1[0].text_content()) if h1 else ""
    also = _elements(doc, "//*[contains(concat(' ', normalize-space(@class), ' '), ' alsocalled ')]")
    if also:
        text = re.sub(r"^\s*(also called|otros nombres)\s*:\s*", "", _squash(also[0].text_content()), flags=re.I)
        out.also_called = tuple(_squash(a) for a in text.split(",") if a.strip())
    for a in _elements(doc, "//a[@href]"):
        label = fold(_squash(a.text_content()))
        if label in ("espanol", "english") and (a.get("hreflang") or a.get("lang") or label):
            out.twin_url = urljoin(base, a.get("href"))
            break
    section: Section | None = None
    for el in doc.iter():
        if (
            not isinstance(el, lxml.html.HtmlElement)
            or not isinstance(el.tag, str)
            or el.tag in ("nav", "header", "footer")
        ):
            continue
        if _inside(el, ("nav", "header", "footer")):
            continue
        if el.tag == "img" and section is not None and _is(section.heading, IMAGE):
            out.images.append((_squash(el.get("alt", "")), urljoin(base, el.get("src", ""))))
            continue
        if _inside(el, ("li", "p")):
            continue
        if el.tag in ("h2", "h3"):
            section = Section(_squash(el.text_content()))
            out.sections.append(section)
        elif section is None:
            continue
        elif el.tag == "li":
            links = _elements(el, ".//a[@href]")
            orgs = _elements(el, ".//*[contains(concat(' ', normalize-space(@class), ' '), ' orgs ')]")
            section.blocks.append(
                Block(
                    "item",
                    _squash(el.text_content()),
                    href=urljoin(base, links[0].get("href")) if links else "",
                    html=lxml.html.tostring(el, encoding="unicode"),
                    organization=_squash(orgs[0].text_content()).strip("()") if orgs else "",
                )
            )
        elif el.tag == "p":
            section.blocks.append(
                Block(
                    "para", _squash(el.text_content()), html=lxml.html.tostring(el, encoding="unicode", with_tail=False)
                )
            )
    out.text = _squash(doc.text_content())
    return out


def _strings(node: lxml.html.HtmlElement, path: str) -> list[str]:
    """The text results of an XPath query that selects attribute values."""
    return [value for value in node.xpath(path) if isinstance(value, str)]


def _elements(node: lxml.html.HtmlElement, path: str) -> list[lxml.html.HtmlElement]:
    """The elements an XPath query selects."""
    return [el for el in node.xpath(path) if isinstance(el, lxml.html.HtmlElement)]


def _inside(el: lxml.html.HtmlElement, tags: tuple[str, ...]) -> bool:
    parent = el.getparent()
    while parent is not None:
        if parent.tag in tags:
            return True
        parent = parent.getparent()
    return False


# -- outline → Topic -------------------------------------------------------------------------------


def _date(match: re.Match | None) -> str:
    if match is None:
        return ""
    day, month, year = match.groups()
    number = MONTHS.get(fold(month))
    if number is None:
        return ""
    try:
        return datetime(int(year), number, int(day)).date().isoformat()
    except ValueError:
        return ""


def _site(block: Block, heading: str, spanish: bool) -> Site:
    text = _squash(_IMAGE_MD.sub(" ", block.text))
    mapped = bool(re.search(r"\b(also in spanish|tambi[eé]n en ingl[eé]s)\s*$", text, re.I))
    text = re.sub(r"\s*\b(also in spanish|tambi[eé]n en ingl[eé]s)\s*$", "", text, flags=re.I)
    pdf = bool(re.search(r"\\?-\s*PDF\s*$", text))
    text = re.sub(r"\s*\\?-\s*PDF\s*$", "", text)
    organization = block.organization
    if m := _TRAILING_ORG.search(text):
        organization = organization or m.group(1).strip()
        text = text[: m.start()]
    elif organization:
        text = text.replace(f"({organization})", "")
    notes = [n for n, on in (("PDF", pdf), ("Also in Spanish" if not spanish else "También en inglés", mapped)) if on]
    return Site(
        title=_squash(text), url=block.href, category=heading, organization=organization, description="; ".join(notes)
    )


def _ref(title: str, href: str, spanish: bool) -> TopicRef:
    if href:
        return TopicRef(topic_id(href), title, href)
    stem = re.sub(r"[^a-z0-9]", "", fold(title))
    url = f"https://medlineplus.gov/{'spanish/' if spanish else ''}{stem}.html"
    return TopicRef(topic_id(url), title, url)


def _summary_html(blocks: list[Block]) -> str:
    parts: list[str] = []
    items: list[str] = []
    for block in blocks:
        if block.kind == "item":
            items.append(block.html or f"<li>{_escape(block.text)}</li>")
            continue
        if items:
            parts.append("<ul>" + "".join(items) + "</ul>")
            items = []
        parts.append(block.html or f"<p>{_escape(block.text)}</p>")
    if items:
        parts.append("<ul>" + "".join(items) + "</ul>")
    return sanitise("".join(parts))


def _escape(text: str) -> str:
    from html import escape

    return escape(text, quote=False)


def topic_from_outline(out: Outline) -> Topic:
    """Map an outline onto the Topic model (see the module docstring)."""
    if not out.title or not out.url:
        raise InvalidPage(
            "no topic title (# heading / <h1>) or page URL found; is this a MedlinePlus health topic page?"
        )
    spanish = language_of(out.url) == "es"
    sites: list[Site] = []
    encyclopedia: dict[str, Site] = {}
    related: list[TopicRef] = []
    summary_blocks: list[Block] = []
    institute = ""
    for section in out.sections:
        heading = section.heading
        if _is(heading, SUMMARY):
            for block in section.blocks:
                if m := re.match(r"^NIH:\s*(.+)$", block.text):
                    institute = institute or m.group(1).strip()
                else:
                    summary_blocks.append(block)
        elif name := category(heading):
            for block in section.blocks:
                if block.kind != "item":
                    continue
                site = _site(block, name, spanish)
                sites.append(site)
                if "encyclop" in fold(site.organization) or "/ency/" in site.url:
                    encyclopedia.setdefault(fold(site.title), site)
        elif _is(heading, ENCYCLOPEDIA):
            for block in section.blocks:
                if block.kind == "item":
                    site = Site(
                        title=block.text,
                        url=block.href,
                        category="Medical Encyclopedia",
                        organization="Medical Encyclopedia",
                    )
                    encyclopedia[fold(site.title)] = site
        elif _is(heading, RELATED):
            related += [_ref(b.text, b.href, spanish) for b in section.blocks if b.kind == "item"]
        elif _is(heading, INSTITUTE):
            for block in section.blocks:
                if m := re.search(r"\bis (?:the |el |la )?(.+?)\.?$", block.text):
                    institute = m.group(1).strip()
    twin = None
    if out.twin_url:
        path = urlsplit(out.url).path
        if out.twin_url in ("spanish", "english"):
            twin_path = path.replace("/spanish/", "/") if spanish else "/spanish" + path
            twin_url = f"https://medlineplus.gov{twin_path}"
        else:
            twin_url = out.twin_url
        twin = TopicRef(topic_id(twin_url), "", twin_url)
    image_alt, image_url = out.images[0] if out.images else ("", "")
    return Topic(
        id=topic_id(out.url),
        title=out.title,
        url=out.url,
        language="es" if spanish else "en",
        summary_html=_summary_html(summary_blocks),
        meta_desc=out.description,
        also_called=out.also_called,
        primary_institute=TopicRef("", institute, "") if institute else None,
        related=tuple(related),
        sites=tuple(sites),
        encyclopedia=tuple(encyclopedia.values()),
        twin=twin,
        date_updated=_date(_UPDATED.search(out.text)),
        date_reviewed=_date(_REVIEWED.search(out.text)),
        image_url=image_url,
        image_alt=image_alt,
        source=source_of(out.url),
    )


def source_of(url: str) -> str:
    """ "medlineplus" for a page on medlineplus.gov; "" (unknown, attributed to no one) for a page
    from anywhere else, whatever it looks like."""
    return "medlineplus" if on_medlineplus(url) else ""


def parse_page(data: str | bytes, base_url: str = "") -> Topic:
    """A topic page, HTML or its plain-text rendering (sniffed), as a Topic."""
    if len(data) > MAX_PAGE_BYTES:
        raise InvalidPage(f"the page is larger than the {MAX_PAGE_BYTES:,}-byte limit")
    head = data[:2048].decode("utf-8", "replace") if isinstance(data, bytes) else data[:2048]
    if re.search(r"<(!doctype html|html|head|body)\b", head, re.I):
        return topic_from_outline(outline_from_html(data, base_url))
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return topic_from_outline(outline_from_text(text))
