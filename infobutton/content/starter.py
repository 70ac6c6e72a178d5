"""The starter catalogue shipped in ``topics/``, built only from sources it can name.

A fresh install serves these topics until ``topics sync`` brings the real MedlinePlus export.
Nothing in them is written by this project:

- ``seed-leukemia.xml``: the MedlinePlus Leukemia page (the plain-text capture in
  ``../shared/seeds/``) read by the page importer (``content.page``), with its own summary, meta
  description, dates, related topics, primary institute and image. Links whose URL the capture
  does not give are left out. The topics that page names but does not describe (its Spanish
  version, related topics missing from the topic list) are link-only; a related topic's URL is
  the one the page importer gives its title (MedlinePlus's stem rule, as for every listed topic).
- ``topics-<year>.xml``: every row of a MedlinePlus topic list (``../shared/medlineplus/
  topics-2024.tsv``: MedlinePlus id, title, URL, also-called names, Spanish title and URL where
  known) as a link-only topic (``source="index"``: title, URL and MedlinePlus's own names, no
  text), each known Spanish version a link-only topic too, the two twinned. The file is dated
  the export the list comes from (``LIST_DATES``): the date each of its topics is known by.
- ``not-in-catalogue.xml``: real MedlinePlus topics the curated mappings need that the list does
  not hold, link-only; a sync confirms them or withdraws them.
- ``professional-nci-pdq.xml``: health-professional resources (``audience="professional"``),
  link-only: the NCI PDQ Health Professional Version treatment summaries of the leukemias the
  curated mappings cover, and NCI's Leukemia—Health Professional Version page that lists them,
  each title and URL as captures of those cancer.gov pages show them (``PROFESSIONAL``). A
  MedlinePlus sync leaves them alone (``catalogue``: a file withdraws only its own sites' topics).

Topic ids are the URL stems (``medlineplus_xml.topic_id``), the ids the real export gets, so a
sync upgrades each link-only topic in place. Pure: texts in, XML texts out; ``content.cli``
reads and writes the files.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import textwrap
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..models import Topic, TopicRef
from .medlineplus_xml import LINK_ONLY, language_of, topic_id, write_catalogue
from .page import parse_page

SEED_FILE = "seed-leukemia.xml"
NOT_LISTED_FILE = "not-in-catalogue.xml"
PROFESSIONAL_FILE = "professional-nci-pdq.xml"
LIST_COLUMNS = ["medlineplus_id", "title", "url", "also_called", "spanish_title", "spanish_url"]
# The export each known topic list was taken from, as the list's README dates it: topics-2024.tsv
# is "from a mid-2024 MedlinePlus health-topic XML export" and gives no day, so the middle of
# 2024, 2024-07-01, stands for it. Another list needs its date named (``build``'s list_date).
LIST_DATES = {"topics-2024.tsv": "2024-07-01"}

# Real MedlinePlus topics that the hematology mappings point at and that the topic list does not
# hold (title, URL as MedlinePlus published them).
NOT_LISTED = (("Myeloproliferative Disorders", "https://medlineplus.gov/myeloproliferativedisorders.html"),)
# Titles of the other-language pages a seed page links to (its "Español" link gives only the URL).
TWIN_TITLES = {"https://medlineplus.gov/spanish/leukemia.html": "Leucemia"}


@dataclass(frozen=True)
class ProfessionalPage:
    """A health-professional page known by its id, title and URL, and the capture that shows it."""

    id: str
    title: str
    url: str
    capture: str  # the file, in PROFESSIONAL_CAPTURES, that shows this title at this URL


# Where each title and URL below was confirmed: plain-text captures of the cancer.gov pages, dated
# 2025-12-30, in a public repository (each capture names its URL and shows the page's heading; the
# Leukemia—Health Professional Version page also links each summary by that URL).
PROFESSIONAL_CAPTURES = (
    "https://github.com/gautamgauri/suchi-cancer-bot/blob/3255a5824ca0690ff932dbbc4f2cc1c7ae59521a/"
    "suchi_phase1_pack/kb/en/02_nci_core/"
)
PROFESSIONAL_DATE = "2025-12-30"
_HP = "\u2013Health Professional Version"  # cancer.gov: "… (PDQ®)–Health Professional Version"
PROFESSIONAL = (
    ProfessionalPage(
        "nci-leukemia-hp",
        "Leukemia\u2014Health Professional Version",
        "https://www.cancer.gov/types/leukemia/hp",
        "cancer-types/types-leukemia-hp.md",
    ),
    ProfessionalPage(
        "nci-pdq-adult-all-hp",
        f"Acute Lymphoblastic Leukemia Treatment (PDQ\u00ae){_HP}",
        "https://www.cancer.gov/types/leukemia/hp/adult-all-treatment-pdq",
        "pdq/types-leukemia-hp-adult-all-treatment-pdq.md",
    ),
    ProfessionalPage(
        "nci-pdq-child-all-hp",
        f"Childhood Acute Lymphoblastic Leukemia Treatment (PDQ\u00ae){_HP}",
        "https://www.cancer.gov/types/leukemia/hp/child-all-treatment-pdq",
        "pdq/types-leukemia-hp-child-all-treatment-pdq.md",
    ),
    ProfessionalPage(
        "nci-pdq-adult-aml-hp",
        f"Acute Myeloid Leukemia Treatment (PDQ\u00ae){_HP}",
        "https://www.cancer.gov/types/leukemia/hp/adult-aml-treatment-pdq",
        "pdq/types-leukemia-hp-adult-aml-treatment-pdq.md",
    ),
    ProfessionalPage(
        "nci-pdq-child-aml-hp",
        f"Childhood Acute Myeloid Leukemia Treatment (PDQ\u00ae){_HP}",
        "https://www.cancer.gov/types/leukemia/hp/child-aml-treatment-pdq",
        "pdq/types-leukemia-hp-child-aml-treatment-pdq.md",
    ),
    ProfessionalPage(
        "nci-pdq-cll-hp",
        f"Chronic Lymphocytic Leukemia Treatment (PDQ\u00ae){_HP}",
        "https://www.cancer.gov/types/leukemia/hp/cll-treatment-pdq",
        "pdq/types-leukemia-hp-cll-treatment-pdq.md",
    ),
    ProfessionalPage(
        "nci-pdq-cml-hp",
        f"Chronic Myeloid Leukemia Treatment (PDQ\u00ae){_HP}",
        "https://www.cancer.gov/types/leukemia/hp/cml-treatment-pdq",
        "pdq/types-leukemia-hp-cml-treatment-pdq.md",
    ),
    ProfessionalPage(
        "nci-pdq-child-cml-hp",
        f"Childhood Chronic Myeloid Leukemia Treatment (PDQ\u00ae){_HP}",
        "https://www.cancer.gov/types/leukemia/hp/child-aml-treatment-pdq/childhood-cml-treatment-pdq",
        "pdq/types-leukemia-hp-child-aml-treatment-pdq-childhood-cml-treatment-pdq.md",
    ),
    ProfessionalPage(
        "nci-pdq-hairy-cell-hp",
        f"Hairy Cell Leukemia Treatment (PDQ\u00ae){_HP}",
        "https://www.cancer.gov/types/leukemia/hp/hairy-cell-treatment-pdq",
        "pdq/types-leukemia-hp-hairy-cell-treatment-pdq.md",
    ),
)


class InvalidTopicList(ValueError):
    """A topic list that is not the expected TSV of MedlinePlus topics."""


@dataclass(frozen=True)
class ListedTopic:
    """One row of a topic list: an English MedlinePlus topic, its names and, where known, its
    Spanish version."""

    medlineplus_id: str
    title: str
    url: str
    also_called: tuple[str, ...] = ()
    spanish: TopicRef | None = None


def _medlineplus_page(url: str, spanish: bool) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and parts.hostname == "medlineplus.gov"
        and parts.path.endswith(".html")
        and (language_of(url) == "es") == spanish
    )


def read_topic_list(text: str) -> list[ListedTopic]:
    """The rows of a topic list TSV (``LIST_COLUMNS``; also-called names separated by ``|``),
    checked: a numeric id, a title, an English https://medlineplus.gov page URL, a Spanish title
    and page URL both or neither, no topic twice."""
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if header != LIST_COLUMNS:
        raise InvalidTopicList(f"the header is {header!r}, expected {LIST_COLUMNS!r}")
    rows: list[ListedTopic] = []
    seen: set[str] = set()
    for line, fields in enumerate(reader, 2):
        if not fields:
            continue
        if len(fields) != len(LIST_COLUMNS):
            raise InvalidTopicList(f"line {line}: {len(fields)} fields, expected {len(LIST_COLUMNS)}")
        number, title, url, names, spanish_title, spanish_url = (f.strip() for f in fields)
        if not number.isdigit() or not title or not _medlineplus_page(url, spanish=False):
            raise InvalidTopicList(f"line {line}: not an English MedlinePlus topic: {fields[:3]!r}")
        if bool(spanish_title) != bool(spanish_url) or (spanish_url and not _medlineplus_page(spanish_url, True)):
            raise InvalidTopicList(f"line {line}: not a Spanish MedlinePlus title and page: {fields[4:]!r}")
        if topic_id(url) in seen:
            raise InvalidTopicList(f"line {line}: {url} is listed twice")
        seen.add(topic_id(url))
        spanish = TopicRef(topic_id(spanish_url), spanish_title, spanish_url) if spanish_url else None
        also_called = tuple(dict.fromkeys(n.strip() for n in names.split("|") if n.strip()))
        rows.append(ListedTopic(number, title, url, also_called, spanish))
    if not rows:
        raise InvalidTopicList("the list holds no topics")
    return rows


def list_date(name: str) -> str:
    """The date of the export a known topic list was taken from (``LIST_DATES``)."""
    try:
        return LIST_DATES[name]
    except KeyError:
        raise InvalidTopicList(f"{name}: no export date known for this list; name it") from None


def link_only(title: str, url: str, twin: TopicRef | None = None, also_called: tuple[str, ...] = ()) -> Topic:
    """A topic known by its title, URL and names only: nothing to show but the link."""
    return Topic(
        id=topic_id(url),
        title=title,
        url=url,
        language=language_of(url),
        also_called=also_called,
        twin=twin,
        source=LINK_ONLY,
    )


def listed_topics(row: ListedTopic) -> list[Topic]:
    """A listed topic link-only with its names, then its Spanish version link-only, twinned."""
    english = TopicRef(topic_id(row.url), row.title, row.url)
    topics = [link_only(row.title, row.url, row.spanish, row.also_called)]
    if row.spanish is not None:
        topics.append(link_only(row.spanish.title, row.spanish.url, english))
    return topics


def professional_topic(page: ProfessionalPage) -> Topic:
    """A health-professional page as a link-only topic under its own id (no text, no dates)."""
    return Topic(id=page.id, title=page.title, url=page.url, language="en", source=LINK_ONLY, audience="professional")


def _professional_file() -> str:
    comment = "\n".join(
        [
            _wrap(
                "Generated by `infobutton topics starter`. Health-professional resources "
                '(audience="professional"; the curated rules that point at them are for '
                "informationRecipient PROV, mappings/professional.csv): the NCI PDQ Health "
                "Professional Version treatment summaries of the leukemias the curated mappings "
                'cover, and the NCI page that lists them. Link-only (source="index"): title and '
                "URL, no text, no dates of their own (a summary's updated date moves with every "
                "revision; we would not keep it true).",
                "Each title and URL is as cancer.gov showed it in captures of its pages dated "
                f"{PROFESSIONAL_DATE} (the page's heading, and its URL; the Leukemia page also links "
                "each summary by that URL), confirmed in these files under",
            ),
            f"  {PROFESSIONAL_CAPTURES}",
            *(f"  {p.id}  {p.title}\n    {p.url}\n    confirmed in {p.capture}" for p in PROFESSIONAL),
            _wrap(
                "date-generated is the date of those captures, the date these topics are known by. "
                "Not a MedlinePlus file: a MedlinePlus "
                "sync neither confirms nor withdraws these; `topics import` of a newer file of this "
                "kind replaces them. Do not edit by hand."
            ),
        ]
    )
    return write_catalogue(
        [professional_topic(p) for p in PROFESSIONAL], date_generated=PROFESSIONAL_DATE, comment=comment
    )


def seed_topics(page_text: str | bytes) -> list[Topic]:
    """The seed page's topic as MedlinePlus published it (links without a URL left out), then
    its other-language version link-only, when that title is known."""
    page = parse_page(page_text)
    if page.source != "medlineplus":
        raise ValueError(f"{page.url} is not a MedlinePlus page")
    topic = dataclasses.replace(
        page,
        sites=tuple(s for s in page.sites if s.url),
        encyclopedia=tuple(s for s in page.encyclopedia if s.url),
        twin=None,
    )
    if page.twin is None or page.twin.url not in TWIN_TITLES:
        return [topic]
    twin_ref = TopicRef(page.twin.id, TWIN_TITLES[page.twin.url], page.twin.url)
    topic = dataclasses.replace(topic, twin=twin_ref)
    back = link_only(twin_ref.title, twin_ref.url, TopicRef(topic.id, topic.title, topic.url))
    return [topic, back]


def _wrap(*paragraphs: str) -> str:
    return "\n".join(textwrap.fill(p, 96, break_on_hyphens=False) for p in paragraphs if p)


def build(seed_text: str | bytes, seed_name: str, list_text: str, list_name: str, list_date: str) -> dict[str, str]:
    """File name → XML text of every starter file (see the module docstring); ``list_date`` is
    the ISO date of the export the topic list was taken from."""
    rows = read_topic_list(list_text)
    listed_ids = {topic_id(r.url) for r in rows}
    list_file = f"{list_name.rsplit('.', 1)[0]}.xml"
    medlineplus_ids = {topic_id(r.url): r.medlineplus_id for r in rows}

    seeded = seed_topics(seed_text)
    page = seeded[0]
    named = [
        link_only(r.title, r.url)
        for r in page.related
        if r.id not in listed_ids and r.url and r.id not in {t.id for t in seeded}
    ]
    seed_file = seeded + named
    seed_ids = {t.id for t in seed_file}
    list_topics = [t for r in rows for t in listed_topics(r) if t.id not in seed_ids]
    missing = [link_only(title, url) for title, url in NOT_LISTED if topic_id(url) not in listed_ids | seed_ids]
    spanish = sum(1 for t in list_topics if t.language == "es")

    seed_comment = _wrap(
        f"Generated by `infobutton topics starter` from {seed_name}: a capture of the MedlinePlus "
        f"health topic page {page.url} (page last updated {page.date_updated}, topic last "
        f"reviewed {page.date_reviewed}), read by the page importer. {page.title}'s summary, meta "
        "description, dates, related topics, primary institute and image are the page's, written "
        'by MedlinePlus (source="medlineplus"); links whose URL the capture does not give are '
        "left out.",
        'The other topics here are link-only (source="index": title and URL, no text): the '
        f"page's other-language version and the related health topics it names that {list_name} "
        "does not list.",
        "date-generated is the page's last-updated date. Do not edit by hand.",
    )
    list_comment = _wrap(
        f"Generated by `infobutton topics starter` from {list_name}: {len(rows):,} English MedlinePlus "
        f"health topics (MedlinePlus id, title, page URL, also-called names) as listed for the "
        f"MedlinePlus health-topic XML export of {list_date}, and the {spanish} Spanish versions "
        'the list names. Link-only (source="index"): a title, a URL and MedlinePlus\'s own '
        "also-called names (older than the export, and shown nowhere as text), no summary, no "
        "dates of their own; `topics sync` replaces each with the full topic under the same id and "
        "withdraws those MedlinePlus has retired.",
        f"Left out because {SEED_FILE} carries them: {', '.join(sorted(listed_ids & seed_ids))}."
        if listed_ids & seed_ids
        else "",
        f"date-generated is the export's date as the list's README gives it ({list_date}); it is "
        "the date these topics are known by. Do not edit by hand.",
    )
    missing_comment = "\n".join(
        [
            _wrap(
                "Generated by `infobutton topics starter`. Real MedlinePlus health topics that the "
                f"curated mappings point at and that are NOT in {list_name} (the topic list of the "
                f"export of {list_date}):"
            ),
            *(f"  {t.title}  {t.url}" for t in missing),
            _wrap(
                'Link-only (source="index"): title and URL, no text. A `topics sync` of the real '
                "export confirms each (same id, full text) or withdraws it. date-generated is the "
                "list's. Do not edit by hand."
            ),
        ]
    )
    files = {
        SEED_FILE: write_catalogue(
            seed_file,
            date_generated=page.date_updated or list_date,
            comment=seed_comment,
            medlineplus_ids=medlineplus_ids,
        ),
        list_file: write_catalogue(
            list_topics, date_generated=list_date, comment=list_comment, medlineplus_ids=medlineplus_ids
        ),
    }
    if missing:
        files[NOT_LISTED_FILE] = write_catalogue(missing, date_generated=list_date, comment=missing_comment)
    files[PROFESSIONAL_FILE] = _professional_file()
    return files
