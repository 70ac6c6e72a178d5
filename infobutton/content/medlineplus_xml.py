"""MedlinePlus health-topics XML (``mplus_topics_YYYY-MM-DD.xml``, or its ``.zip``) → Topic values.

The file is untrusted: parsed with defusedxml with DTDs forbidden (so no entity expansion, no
billion laughs, no external entities), read through a byte cap (the zip member too, whatever
its header claims), streamed with ``iterparse`` so memory stays flat, and checked against its
own ``total`` and ``date-generated`` attributes so a truncated or foreign file is refused.
Summaries are sanitised with the one allow-list in ``sanitise``.

Every topic read here says where its text came from (``Topic.source``): "medlineplus" for the
export itself. The project's own shipped files (``topics/*.xml``, made by ``content.starter``) use
the same format and declare it per topic with a ``source`` attribute, e.g. ``source="index"`` for
a link-only topic (title, URL and MedlinePlus's own also-called names from a topic list, no text:
refused if it carries any), and may carry the topic image a topic page shows (``image-url``,
``image-alt``). Every topic read carries its file's ``date-generated`` as ``catalogue_date``.
``write_catalogue`` is the inverse of ``read_catalogue`` for the fields a Topic holds.

Two attributes are the project's, for topics that are not MedlinePlus pages (the export carries
neither): ``audience="professional"`` marks a resource written for health professionals (e.g. an
NCI PDQ Health Professional summary; absent = written for everyone, as every MedlinePlus page is),
and ``topic-id`` names the topic where its URL's last segment is no unique name (on cancer.gov the
patient and the health professional version of a summary share it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit
from xml.etree.ElementTree import Comment, Element, ParseError, SubElement, indent, tostring

from defusedxml import DefusedXmlException, ElementTree

from ..html_safety import sanitise
from ..models import LANGUAGE_NAMES, Site, Topic, TopicRef

LANGUAGES = {"english": "en", "spanish": "es", "en": "en", "es": "es"}
MAX_BYTES = 512 * 1024 * 1024  # the real daily file is ~30 MB uncompressed
MAX_TOPICS = 20_000  # MedlinePlus publishes ~2,000 (English and Spanish)
ROOT = "health-topics"
SOURCES = ("medlineplus", "index", "local")  # what a file may declare; the export says nothing
LINK_ONLY = "index"
AUDIENCES = ("", "professional")  # Topic.audience: everyone, or health professionals
_TOPIC_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")


class InvalidCatalogue(ValueError):
    """A file that is not a MedlinePlus health-topics document."""


@dataclass(frozen=True)
class Catalogue:
    """A parsed health-topics file: its topics and the root's ``date-generated`` and ``total``."""

    topics: list[Topic]
    date_generated: str  # ISO 8601, e.g. 2026-11-23T00:00:00
    total: int


def language_of(url: str) -> str:
    """A MedlinePlus page's language from its URL: "es" under ``/spanish/``, else "en"."""
    return "es" if "/spanish/" in urlsplit(url).path else "en"


def topic_id(url: str) -> str:
    """Topic identity from its canonical URL: ``/leukemia.html`` → leukemia,
    ``/spanish/leukemia.html`` → leukemia-es. Stable across upstream re-numbering."""
    path = urlsplit(url).path.rstrip("/")
    stem = re.sub(r"\.html?$", "", path.rsplit("/", 1)[-1]).lower()
    return f"{stem}-es" if "/spanish/" in path else stem


def _date(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        return ""
    for fmt in ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return ""


def _timestamp(text: str | None) -> str:
    text = (text or "").strip()
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return ""


def _text(element) -> str:
    return (element.text or "").strip() if element is not None else ""


def _ref(element) -> TopicRef:
    url = element.get("url", "")
    return TopicRef(id=topic_id(url) if url else element.get("id", ""), title=_text(element), url=url)


def _source(el) -> str:
    source = el.get("source", "medlineplus").strip()
    if source not in SOURCES:
        raise InvalidCatalogue(
            f"health-topic {el.get('url', '')!r} declares source={source!r}; expected one of {', '.join(SOURCES)}"
        )
    return source


def _audience(el) -> str:
    audience = el.get("audience", "").strip()
    if audience not in AUDIENCES:
        raise InvalidCatalogue(
            f'health-topic {el.get("url", "")!r} declares audience={audience!r}; expected "professional" or none'
        )
    return audience


def _id(el, url: str) -> str:
    """The topic's id: its ``topic-id`` when the file names one, else the URL stem (``topic_id``)."""
    named = el.get("topic-id")
    if named is None:
        return topic_id(url)
    if not _TOPIC_ID.match(named):
        raise InvalidCatalogue(
            f"health-topic {url!r} declares topic-id={named!r}; expected lower-case letters, digits and "
            "hyphens (at most 64)"
        )
    return named


def _https(url: str | None) -> str:
    url = (url or "").strip()
    return url if url.startswith("https://") else ""


def topic_from_element(el) -> Topic:
    url = el.get("url", "")
    source = _source(el)
    audience = _audience(el)
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
        if "encyclop" in (site.description + site.organization).lower() or "/ency/" in site.url:
            encyclopedia.append(site)
    twin_el = el.find("language-mapped-topic")
    if twin_el is None:
        twin_el = el.find("other-language")
    institute = el.find("primary-institute")
    topic = Topic(
        id=_id(el, url),
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
        twin=_ref(twin_el) if twin_el is not None and twin_el.get("url") else None,
        date_created=_date(el.get("date-created")),
        date_updated=_date(el.get("date-updated") or el.get("date-modified")),
        date_reviewed=_date(el.get("date-reviewed")),
        image_url=_https(el.get("image-url")),
        image_alt=el.get("image-alt", "").strip(),
        source=source,
        audience=audience,
    )
    if source == LINK_ONLY and has_content(topic):
        raise InvalidCatalogue(f"health-topic {url!r} is link-only (source={LINK_ONLY!r}) but carries text or links")
    return topic


def has_content(topic: Topic) -> bool:
    """Whether a topic carries anything beyond its title, URL and names that someone wrote (text
    or links): what a link-only topic must not. Its also-called names may be there: they are
    MedlinePlus's own names for the topic, as its catalogue lists them, and are shown nowhere as
    its text. Compare render.attribution.has_text, which asks only whether there is text to credit."""
    return bool(topic.summary_html or topic.meta_desc or topic.sites or topic.encyclopedia or topic.see_references)


class _Capped(io.RawIOBase):
    """A read-only stream that refuses to yield more than ``limit`` bytes."""

    def __init__(self, raw: IO[bytes], limit: int, name: str):
        self._raw, self._limit, self._name, self._read = raw, limit, name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        self._read += len(data)
        if self._read > self._limit:
            raise InvalidCatalogue(f"{self._name} is larger than the {self._limit:,}-byte limit")
        buffer[: len(data)] = data
        return len(data)


def _open_xml(stack: contextlib.ExitStack, source: str | Path, max_bytes: int) -> _Capped:
    """The XML byte stream of a path: the file itself, or the one .xml member of a zip."""
    path = Path(source)
    try:
        raw = stack.enter_context(open(path, "rb"))  # noqa: SIM115 (closed by the stack)
    except OSError as exc:
        raise InvalidCatalogue(f"cannot read {path}: {exc.strerror or exc}") from None
    if raw.read(4) != b"PK\x03\x04":
        raw.seek(0)
        return _Capped(raw, max_bytes, path.name)
    try:
        archive = stack.enter_context(zipfile.ZipFile(raw))
    except zipfile.BadZipFile as exc:
        raise InvalidCatalogue(f"{path.name} is not a readable zip file: {exc}") from None
    members = [m for m in archive.infolist() if m.filename.lower().endswith(".xml") and not m.is_dir()]
    if len(members) != 1:
        raise InvalidCatalogue(f"{path.name} must hold exactly one .xml file, found {len(members)}")
    member = members[0]
    if member.file_size > max_bytes:
        raise InvalidCatalogue(f"{member.filename} is larger than the {max_bytes:,}-byte limit")
    return _Capped(stack.enter_context(archive.open(member)), max_bytes, member.filename)


def read_catalogue(
    source: str | Path | IO[bytes], *, max_bytes: int = MAX_BYTES, max_topics: int = MAX_TOPICS
) -> Catalogue:
    """Parse and check a health-topics file (``.xml`` or ``.zip``; a path or a binary stream).

    Raises InvalidCatalogue, with a message saying what is wrong, for anything that is not a
    complete health-topics document: a DTD or entity declaration, malformed or truncated XML,
    another root element, a topic count that disagrees with ``total``, duplicate topic URLs.
    """
    with contextlib.ExitStack() as stack:
        if isinstance(source, (str, Path)):
            stream = _open_xml(stack, source, max_bytes)
            name = Path(source).name
        else:
            stream, name = _Capped(source, max_bytes, "input"), "input"
        try:
            return _parse_stream(stream, max_topics)
        except InvalidCatalogue as exc:
            raise InvalidCatalogue(f"{name}: {exc}") from None
        except DefusedXmlException as exc:
            raise InvalidCatalogue(
                f"{name}: refused: the document declares a DTD or entities ({type(exc).__name__}); "
                "a health-topics file never does"
            ) from None
        except ParseError as exc:
            line, column = getattr(exc, "position", (0, 0))
            reason = str(exc).split(":")[0]
            raise InvalidCatalogue(
                f"{name}: not well-formed XML ({reason}) at line {line}, column {column}; the file may be truncated"
            ) from None
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise InvalidCatalogue(f"{name}: cannot read the archive: {exc}") from None


def _parse_stream(stream: _Capped, max_topics: int) -> Catalogue:
    topics: list[Topic] = []
    seen: set[str] = set()
    root = None
    depth = 0
    dated = ""  # the root's date-generated as a date (checked at the end)
    for event, el in ElementTree.iterparse(stream, events=("start", "end"), forbid_dtd=True):
        if event == "start":
            depth += 1
            if root is None:
                root = el
                if el.tag != ROOT:
                    raise InvalidCatalogue(f"root element is <{el.tag}>, expected <{ROOT}>")
                dated = _timestamp(el.get("date-generated"))[:10]
            continue
        depth -= 1
        if depth == 1 and root is not None and el.tag == "health-topic":
            topic = dataclasses.replace(topic_from_element(el), catalogue_date=dated)
            if not topic.url or not topic.title:
                raise InvalidCatalogue(f"health-topic #{len(topics) + 1} has no url or title")
            if topic.id in seen:
                raise InvalidCatalogue(f"topic {topic.url} appears twice")
            seen.add(topic.id)
            topics.append(topic)
            if len(topics) > max_topics:
                raise InvalidCatalogue(f"more than {max_topics:,} topics")
            root.remove(el)  # keep memory flat on the 30 MB daily file
    assert root is not None  # iterparse raises on an empty document
    generated = _timestamp(root.get("date-generated"))
    if not generated:
        raise InvalidCatalogue(f"<{ROOT}> has no valid date-generated attribute ({root.get('date-generated')!r})")
    total_text = root.get("total", "")
    if not total_text.strip().isdigit():
        raise InvalidCatalogue(f"<{ROOT}> has no valid total attribute ({total_text!r})")
    total = int(total_text)
    if total != len(topics):
        raise InvalidCatalogue(
            f"the file says total={total} but holds {len(topics)} health topics; it may be truncated or edited"
        )
    if not topics:
        raise InvalidCatalogue("the file holds no health topics")
    return Catalogue(topics=topics, date_generated=generated, total=total)


def parse(source: IO[bytes] | str) -> list[Topic]:
    """All topics of a health-topics document (a path or a binary file)."""
    return read_catalogue(source).topics


# -- writing ---------------------------------------------------------------------------------------


def _us_date(iso: str) -> str:
    return datetime.strptime(iso, "%Y-%m-%d").strftime("%m/%d/%Y") if iso else ""


def _element_for(topic: Topic, medlineplus_id: str = ""):
    def ref(tag: str, r: TopicRef, **extra: str) -> None:
        child = SubElement(el, tag, {k: v for k, v in (("url", r.url), *extra.items()) if v})
        child.text = r.title

    attrs = {
        "title": topic.title,
        "url": topic.url,
        "id": medlineplus_id,
        "language": LANGUAGE_NAMES[topic.language],
        "meta-desc": topic.meta_desc,
        "date-created": _us_date(topic.date_created),
        "date-updated": _us_date(topic.date_updated),
        "date-reviewed": _us_date(topic.date_reviewed),
        "source": topic.source,
        "image-url": topic.image_url,
        "image-alt": topic.image_alt,
        "audience": topic.audience,
        "topic-id": topic.id if topic.id != topic_id(topic.url) else "",
    }
    el = Element("health-topic", {k: v for k, v in attrs.items() if v})
    for name in topic.also_called:
        SubElement(el, "also-called").text = name
    if topic.summary_html:
        SubElement(el, "full-summary").text = topic.summary_html
    for group in topic.groups:
        ref("group", group)
    if topic.twin is not None:
        ref("language-mapped-topic", topic.twin, language=LANGUAGE_NAMES[language_of(topic.twin.url)])
    for descriptor_id, name in topic.mesh_headings:
        SubElement(SubElement(el, "mesh-heading"), "descriptor", {"id": descriptor_id}).text = name
    if topic.primary_institute is not None:
        ref("primary-institute", topic.primary_institute)
    for related in topic.related:
        ref("related-topic", related)
    for see in topic.see_references:
        SubElement(el, "see-reference").text = see
    for site in topic.sites:
        attrs = {"title": site.title, "url": site.url, "language-mapped-url": site.language_mapped_url}
        child = SubElement(el, "site", {k: v for k, v in attrs.items() if v})
        for tag, text in (
            ("information-category", site.category),
            ("organization", site.organization),
            ("standard-description", site.description),
        ):
            if text:
                SubElement(child, tag).text = text
    return el


def write_catalogue(
    topics: list[Topic],
    *,
    date_generated: str,
    comment: str = "",
    medlineplus_ids: dict[str, str] | None = None,
) -> str:
    """A health-topics document holding ``topics``, which ``read_catalogue`` reads back as the same
    topics (status aside, each dated ``date_generated``). ``date_generated`` is an ISO date;
    ``comment`` goes before the root element; ``medlineplus_ids`` (topic id → MedlinePlus's
    numeric id) fills the ``id`` attribute where it is known. Medical Encyclopedia entries must be
    among the sites (the format has no other place for them). Every topic must have a source a
    file can declare (``SOURCES``): one of unknown origin ("") would read back as the export's,
    MedlinePlus's, and an upstream's is not the project's to ship."""
    ids = medlineplus_ids or {}
    generated = datetime.strptime(date_generated, "%Y-%m-%d").strftime("%m/%d/%Y 00:00:00")
    root = Element(ROOT, {"total": str(len(topics)), "date-generated": generated})
    for topic in topics:
        if topic.source not in SOURCES:
            raise ValueError(
                f"{topic.id}: source {topic.source!r} cannot be written; expected one of {', '.join(SOURCES)}"
            )
        if not set(topic.encyclopedia) <= set(topic.sites):
            raise ValueError(f"{topic.id}: encyclopedia entries that are not sites cannot be written")
        if topic.audience not in AUDIENCES:
            raise ValueError(f"{topic.id}: audience {topic.audience!r} cannot be written; expected one of {AUDIENCES}")
        if topic.id != topic_id(topic.url) and not _TOPIC_ID.match(topic.id):
            raise ValueError(f"{topic.id!r}: not an id a file can name (lower-case letters, digits, hyphens)")
        root.append(_element_for(topic, ids.get(topic.id, "")))
    indent(root, space="  ")
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if comment:
        if "--" in comment:
            raise ValueError("an XML comment cannot hold '--'")
        head += tostring(Comment(f"\n{comment.rstrip()}\n"), encoding="unicode") + "\n"
    return head + tostring(root, encoding="unicode") + "\n"
