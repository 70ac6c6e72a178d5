"""The starter catalogue shipped in ``topics/``, built only from sources it can name.

A fresh install serves these topics until ``topics sync`` brings the real MedlinePlus export.
Nothing in them is written by this project:

- ``seed-leukemia.xml``: the MedlinePlus Leukemia page (the plain-text capture in
  ``../shared/seeds/``) read by the page importer (``content.page``), with its own summary, meta
  description, dates, related topics, primary institute and image. Links whose URL the capture
  does not give are left out. The topics that page names but does not describe (its Spanish
  version, related topics missing from the index) are link-only; a related topic's URL is the
  one the page importer gives its title (MedlinePlus's stem rule, as for every indexed topic).
- ``topic-index-<date>.xml``: every row of the MedlinePlus topic index (MedlinePlus id, title,
  URL) as a link-only topic (``source="index"``: a title and a URL, no text, no dates).
- ``not-in-index.xml``: real MedlinePlus topics the curated mappings need that the index does
  not list, link-only; a sync confirms them or withdraws them.
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
import re
import textwrap
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..models import Topic, TopicRef
from .medlineplus_xml import LINK_ONLY, language_of, topic_id, write_catalogue
from .page import parse_page

SEED_FILE = "seed-leukemia.xml"
NOT_IN_INDEX_FILE = "not-in-index.xml"
PROFESSIONAL_FILE = "professional-nci-pdq.xml"
INDEX_COLUMNS = ["medlineplus_id", "title", "url", "language"]

# Real MedlinePlus topics that the hematology mappings point at and that the 2026-10 index does
# not list (title, URL as MedlinePlus publishes them).
NOT_IN_INDEX = (
    ("Myeloproliferative Disorders", "https://medlineplus.gov/myeloproliferativedisorders.html"),
    ("Lymphoma", "https://medlineplus.gov/lymphoma.html"),
)
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


class InvalidIndex(ValueError):
    """A topic index that is not the expected TSV of MedlinePlus topics."""


@dataclass(frozen=True)
class IndexRow:
    medlineplus_id: str
    title: str
    url: str


def read_index(text: str) -> list[IndexRow]:
    """The rows of a topic index TSV (``medlineplus_id, title, url, language``), checked: a
    numeric id, a title, an https://medlineplus.gov page URL, English, no topic twice."""
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    header = next(reader, None)
    if header != INDEX_COLUMNS:
        raise InvalidIndex(f"the header is {header!r}, expected {INDEX_COLUMNS!r}")
    rows: list[IndexRow] = []
    seen: set[str] = set()
    for line, fields in enumerate(reader, 2):
        if not fields:
            continue
        if len(fields) != len(INDEX_COLUMNS):
            raise InvalidIndex(f"line {line}: {len(fields)} fields, expected {len(INDEX_COLUMNS)}")
        number, title, url, language = (f.strip() for f in fields)
        parts = urlsplit(url)
        if (
            not number.isdigit()
            or not title
            or language != "English"
            or parts.scheme != "https"
            or parts.hostname != "medlineplus.gov"
            or not parts.path.endswith(".html")
        ):
            raise InvalidIndex(f"line {line}: not an English MedlinePlus topic: {fields!r}")
        if topic_id(url) in seen:
            raise InvalidIndex(f"line {line}: {url} is listed twice")
        seen.add(topic_id(url))
        rows.append(IndexRow(number, title, url))
    if not rows:
        raise InvalidIndex("the index lists no topics")
    return rows


def link_only(title: str, url: str, twin: TopicRef | None = None) -> Topic:
    """A topic known by its title and URL only: nothing to show but the link."""
    return Topic(id=topic_id(url), title=title, url=url, language=language_of(url), twin=twin, source=LINK_ONLY)


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
                "URL, no text, no dates (a summary's updated date moves with every revision; we "
                "would not keep it true).",
                "Each title and URL is as cancer.gov showed it in captures of its pages dated "
                f"{PROFESSIONAL_DATE} (the page's heading, and its URL; the Leukemia page also links "
                "each summary by that URL), confirmed in these files under",
            ),
            f"  {PROFESSIONAL_CAPTURES}",
            *(f"  {p.id}  {p.title}\n    {p.url}\n    confirmed in {p.capture}" for p in PROFESSIONAL),
            _wrap(
                "date-generated is the date of those captures. Not a MedlinePlus file: a MedlinePlus "
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


def _index_date(name: str) -> str:
    """``topic-index-2026-10.tsv`` → 2026-10-01, the export the index describes."""
    m = re.search(r"(\d{4})-(\d{2})(?:-(\d{2}))?", name)
    if m is None:
        raise InvalidIndex(f"{name}: no date (YYYY-MM) in the file name")
    return f"{m.group(1)}-{m.group(2)}-{m.group(3) or '01'}"


def build(seed_text: str | bytes, seed_name: str, index_text: str, index_name: str) -> dict[str, str]:
    """File name → XML text of every starter file (see the module docstring)."""
    rows = read_index(index_text)
    index_ids = {topic_id(r.url) for r in rows}
    index_date = _index_date(index_name)
    index_file = f"topic-index-{index_date[:7]}.xml"

    seeded = seed_topics(seed_text)
    page = seeded[0]
    named = [
        link_only(r.title, r.url)
        for r in page.related
        if r.id not in index_ids and r.url and r.id not in {t.id for t in seeded}
    ]
    seed_file = seeded + named
    seed_ids = {t.id for t in seed_file}
    index_topics = [link_only(r.title, r.url) for r in rows if topic_id(r.url) not in seed_ids]
    missing = [link_only(title, url) for title, url in NOT_IN_INDEX if topic_id(url) not in index_ids | seed_ids]

    seed_comment = _wrap(
        f"Generated by `infobutton topics starter` from {seed_name}: a capture of the MedlinePlus "
        f"health topic page {page.url} (page last updated {page.date_updated}, topic last "
        f"reviewed {page.date_reviewed}), read by the page importer. {page.title}'s summary, meta "
        "description, dates, related topics, primary institute and image are the page's, written "
        'by MedlinePlus (source="medlineplus"); links whose URL the capture does not give are '
        "left out.",
        'The other topics here are link-only (source="index": title and URL, no text): the '
        "page's other-language version and the related health topics it names that the topic "
        "index does not list.",
        "date-generated is the page's last-updated date. Do not edit by hand.",
    )
    index_comment = _wrap(
        f"Generated by `infobutton topics starter` from {index_name}: {len(rows)} English "
        "MedlinePlus health topics (MedlinePlus id, title, page URL) as listed for the MedlinePlus "
        f'health-topic XML export of {index_date}. Link-only (source="index"): a title and a '
        "URL, no summary, no dates; `topics sync` replaces each with the full topic under the "
        "same id.",
        f"Left out because {SEED_FILE} carries them: {', '.join(sorted(index_ids & seed_ids))}."
        if index_ids & seed_ids
        else "",
        "date-generated is the export's date. Do not edit by hand.",
    )
    missing_comment = "\n".join(
        [
            _wrap(
                "Generated by `infobutton topics starter`. Real MedlinePlus health topics that the "
                f"curated mappings point at and that are NOT in {index_name} (the topic index of "
                f"{index_date[:7]}):"
            ),
            *(f"  {t.title}  {t.url}" for t in missing),
            _wrap(
                'Link-only (source="index"): title and URL, no text. A `topics sync` of the real '
                "export confirms each (same id, full text) or withdraws it. Do not edit by hand."
            ),
        ]
    )
    files = {
        SEED_FILE: write_catalogue(seed_file, date_generated=page.date_updated or index_date, comment=seed_comment),
        index_file: write_catalogue(
            index_topics,
            date_generated=index_date,
            comment=index_comment,
            medlineplus_ids={topic_id(r.url): r.medlineplus_id for r in rows},
        ),
    }
    if missing:
        files[NOT_IN_INDEX_FILE] = write_catalogue(missing, date_generated=index_date, comment=missing_comment)
    files[PROFESSIONAL_FILE] = _professional_file()
    return files
