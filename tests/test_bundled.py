"""The mappings and topics shipped with the project: complete, consistent, and nothing in them
that a named source did not give (the seed page, the MedlinePlus topic list, captures of the
NCI pages for health professionals)."""

import csv
import re

import pytest

from infobutton import bundled, terminology
from infobutton.content.medlineplus_xml import has_content, topic_id
from infobutton.content.page import parse_page
from infobutton.content.starter import LIST_DATES
from infobutton.models import Code, CodeSystem

from .conftest import SEED_PAGE, SHARED, require

TOPIC_LIST = SHARED / "medlineplus" / "topics-2024.tsv"
INDEX = SHARED / "medlineplus" / "topic-index-2026-10.tsv"
LEUKEMIA_FAMILY = {
    "leukemia",
    "acutelymphocyticleukemia",
    "acutemyeloidleukemia",
    "chroniclymphocyticleukemia",
    "chronicmyeloidleukemia",
    "childhoodleukemia",
}


@pytest.fixture(scope="module")
def topics():
    return {t.id: t for t in bundled.load_topics()}


@pytest.fixture(scope="module")
def seed_page():
    require(SEED_PAGE.exists(), f"{SEED_PAGE} not found")
    return parse_page(SEED_PAGE.read_bytes())


def rows_of(path):
    require(path.exists(), f"{path} not found")
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="module")
def list_rows():
    return rows_of(TOPIC_LIST)


def test_topic_ids_are_unique_across_the_files():
    ids = [t.id for t in bundled.load_topics()]
    assert len(ids) == len(set(ids))


def test_leukemia_is_the_seed_page_as_medlineplus_published_it(topics, seed_page):
    leukemia = topics["leukemia"]
    assert leukemia.source == "medlineplus"
    assert (leukemia.title, leukemia.url) == ("Leukemia", "https://medlineplus.gov/leukemia.html")
    assert leukemia.summary_html == seed_page.summary_html
    assert leukemia.summary_html.startswith("<p>Leukemia is cancer of the white blood cells.")
    assert leukemia.meta_desc == seed_page.meta_desc
    assert (leukemia.date_updated, leukemia.date_reviewed, leukemia.date_created) == ("2020-01-31", "2016-05-19", "")
    assert leukemia.related == seed_page.related
    assert {r.id for r in leukemia.related} == LEUKEMIA_FAMILY - {"leukemia"}
    assert leukemia.primary_institute.title == "National Cancer Institute"
    assert (leukemia.image_url, leukemia.image_alt) == (seed_page.image_url, seed_page.image_alt)
    assert leukemia.twin.url == "https://medlineplus.gov/spanish/leukemia.html"
    # the capture gives no link URLs: no link is shipped rather than links written from memory
    assert leukemia.sites == () and leukemia.encyclopedia == ()
    assert not leukemia.also_called and not leukemia.groups and not leukemia.mesh_headings


def test_every_listed_topic_is_shipped_link_only_with_its_title_url_and_names(topics, list_rows):
    assert len(list_rows) == 1023
    for row in list_rows:
        topic = topics[topic_id(row["url"])]
        assert (topic.title, topic.url, topic.language) == (row["title"], row["url"], "en"), row
        if topic.id == "leukemia":  # the seed page's text, under the listed title and URL
            continue
        assert topic.source == "index" and not has_content(topic), row
        assert topic.also_called == tuple(n for n in row["also_called"].split("|") if n), row
        assert not (topic.date_created or topic.date_updated or topic.date_reviewed), row
        assert topic.catalogue_date == "2024-07-01"  # the list's export
        assert not topic.related and topic.primary_institute is None
        spanish = (topic.twin.title, topic.twin.url) if topic.twin else ("", "")
        assert spanish == (row["spanish_title"], row["spanish_url"]), row


def test_the_catalogue_date_is_the_one_the_lists_readme_gives():
    readme = (SHARED / "medlineplus" / "README.md").read_text(encoding="utf-8")
    assert "from a mid-2024 MedlinePlus health-topic XML export" in readme  # and no day
    assert LIST_DATES == {"topics-2024.tsv": "2024-07-01"}  # the middle of 2024 stands for it


def test_the_2026_10_index_is_a_subset_of_the_catalogue_with_the_same_ids(topics):
    index = rows_of(INDEX)
    assert len(index) == 204
    for row in index:
        assert (topics[topic_id(row["url"])].title, topics[topic_id(row["url"])].url) == (row["title"], row["url"])
    listed = {row["url"]: row["medlineplus_id"] for row in rows_of(TOPIC_LIST)}
    assert {row["url"]: row["medlineplus_id"] for row in index}.items() <= listed.items()


def test_the_list_file_keeps_the_medlineplus_ids(list_rows):
    shipped = {}
    for path in bundled.topic_files():
        shipped |= dict(re.findall(r'url="([^"]+)" id="(\d+)"', path.read_text(encoding="utf-8")))
    assert shipped == {row["url"]: row["medlineplus_id"] for row in list_rows}


def test_only_the_seed_topic_has_content(topics):  # professional topics are link-only too
    with_text = {
        t.id
        for t in topics.values()
        if has_content(t) or t.date_updated or t.date_reviewed or t.image_url or t.related or t.primary_institute
    }
    assert with_text == {"leukemia"}
    assert {t.source for t in topics.values()} == {"medlineplus", "index"}
    assert [t.id for t in topics.values() if t.source == "medlineplus"] == ["leukemia"]


def test_every_topic_is_dated_by_its_catalogue(topics):
    dates = {t.id: t.catalogue_date for t in topics.values()}
    assert set(dates.values()) == {"2020-01-31", "2024-07-01", "2025-12-30"}  # seed page, list, NCI captures
    assert dates["leukemia"] == dates["leukemia-es"] == "2020-01-31"
    assert all(dates[tid] == "2025-12-30" for tid, t in topics.items() if t.audience == "professional")


def test_the_spanish_topics_are_the_known_twins(topics, list_rows):
    spanish = {t.id: t for t in topics.values() if t.language == "es"}
    expected = {topic_id(r["spanish_url"]): r for r in list_rows if r["spanish_url"]}
    assert len(expected) == 11 and set(spanish) == set(expected) | {"leukemia-es"}
    for tid, twin in spanish.items():
        english = topics[twin.twin.id]
        assert english.twin.id == tid and english.twin.title == twin.title
        assert (twin.source, twin.also_called, has_content(twin)) == ("index", (), False)
        if tid in expected:
            assert (twin.title, twin.url) == (expected[tid]["spanish_title"], expected[tid]["spanish_url"])
    assert (spanish["leukemia-es"].title, spanish["leukemia-es"].url) == (
        "Leucemia",
        "https://medlineplus.gov/spanish/leukemia.html",
    )


def test_named_topics_outside_the_list_are_link_only(topics, list_rows):
    listed = {topic_id(r["url"]) for r in list_rows}
    outside = {t.id for t in topics.values() if t.language == "en" and t.audience == "" and t.id not in listed}
    assert outside == {"myeloproliferativedisorders"}
    topic = topics["myeloproliferativedisorders"]
    assert (topic.title, topic.url, topic.source) == (
        "Myeloproliferative Disorders",
        "https://medlineplus.gov/myeloproliferativedisorders.html",
        "index",
    )
    assert not has_content(topic)


def test_every_file_names_its_source_in_a_header_comment():
    names = {p.name: p.read_text(encoding="utf-8") for p in bundled.topic_files()}
    assert set(names) == {
        "seed-leukemia.xml",
        "topics-2024.xml",
        "not-in-catalogue.xml",
        "professional-nci-pdq.xml",
    }
    assert "000_64b13ee4fbfd3c59.txt" in names["seed-leukemia.xml"].split("-->")[0]
    assert "https://medlineplus.gov/leukemia.html" in names["seed-leukemia.xml"].split("-->")[0]
    header = " ".join(names["topics-2024.xml"].split("-->")[0].split())
    assert "from topics-2024.tsv: 1,023 English MedlinePlus health topics" in header
    assert "export of 2024-07-01" in header and "the 11 Spanish versions" in header
    header = " ".join(names["not-in-catalogue.xml"].split("-->")[0].split())
    assert "NOT in topics-2024.tsv" in header and "`topics sync`" in header
    assert "confirms each" in header and "withdraws it" in header
    header = names["professional-nci-pdq.xml"].split("-->")[0]
    assert "github.com/gautamgauri/suchi-cancer-bot/blob/3255a5824ca0690ff932dbbc4f2cc1c7ae59521a" in header
    assert header.count("confirmed in ") == 9


# The NCI pages for health professionals, as the captures named in professional-nci-pdq.xml show
# them (heading and URL), written out here rather than read from the generator.
PROFESSIONAL = {
    "nci-leukemia-hp": ("Leukemia\u2014Health Professional Version", "https://www.cancer.gov/types/leukemia/hp"),
    "nci-pdq-adult-all-hp": (
        "Acute Lymphoblastic Leukemia Treatment (PDQ\u00ae)\u2013Health Professional Version",
        "https://www.cancer.gov/types/leukemia/hp/adult-all-treatment-pdq",
    ),
    "nci-pdq-child-all-hp": (
        "Childhood Acute Lymphoblastic Leukemia Treatment (PDQ\u00ae)\u2013Health Professional Version",
        "https://www.cancer.gov/types/leukemia/hp/child-all-treatment-pdq",
    ),
    "nci-pdq-adult-aml-hp": (
        "Acute Myeloid Leukemia Treatment (PDQ\u00ae)\u2013Health Professional Version",
        "https://www.cancer.gov/types/leukemia/hp/adult-aml-treatment-pdq",
    ),
    "nci-pdq-child-aml-hp": (
        "Childhood Acute Myeloid Leukemia Treatment (PDQ\u00ae)\u2013Health Professional Version",
        "https://www.cancer.gov/types/leukemia/hp/child-aml-treatment-pdq",
    ),
    "nci-pdq-cll-hp": (
        "Chronic Lymphocytic Leukemia Treatment (PDQ\u00ae)\u2013Health Professional Version",
        "https://www.cancer.gov/types/leukemia/hp/cll-treatment-pdq",
    ),
    "nci-pdq-cml-hp": (
        "Chronic Myeloid Leukemia Treatment (PDQ\u00ae)\u2013Health Professional Version",
        "https://www.cancer.gov/types/leukemia/hp/cml-treatment-pdq",
    ),
    "nci-pdq-child-cml-hp": (
        "Childhood Chronic Myeloid Leukemia Treatment (PDQ\u00ae)\u2013Health Professional Version",
        "https://www.cancer.gov/types/leukemia/hp/child-aml-treatment-pdq/childhood-cml-treatment-pdq",
    ),
    "nci-pdq-hairy-cell-hp": (
        "Hairy Cell Leukemia Treatment (PDQ\u00ae)\u2013Health Professional Version",
        "https://www.cancer.gov/types/leukemia/hp/hairy-cell-treatment-pdq",
    ),
}


def test_the_professional_topics_are_the_nci_pages_link_only_and_only_they_are_professional(topics):
    professional = {t.id: t for t in topics.values() if t.audience == "professional"}
    assert {tid: (t.title, t.url) for tid, t in professional.items()} == PROFESSIONAL
    for topic in professional.values():
        assert (topic.source, topic.language, topic.status) == ("index", "en", "active")
        assert not has_content(topic) and not (topic.date_created or topic.date_updated or topic.date_reviewed)
        assert topic.twin is None and not topic.related and topic.primary_institute is None
    assert all(t.audience == "" for t in topics.values() if "medlineplus.gov" in t.url)


def test_every_rule_is_valid_and_targets_a_bundled_topic(topics):
    rules = bundled.load_rules()
    assert rules
    for rule in rules:
        assert rule.topic_id in topics, rule
        assert terminology.is_valid(Code(rule.code_system, rule.code)) or "-" in rule.code, rule


def test_leukemia_family_is_covered(topics):
    assert set(topics) >= LEUKEMIA_FAMILY
    codes = {(r.code_system, r.code) for r in bundled.load_rules()}
    for category in ("C91", "C92", "C93", "C95"):
        assert (CodeSystem.ICD10CM, category) in codes
    assert (CodeSystem.ICD10CM, "Z85.6") in codes
    for snomed in ("93143009", "91857003", "91861009", "92814006", "92818009"):
        assert (CodeSystem.SNOMEDCT, snomed) in codes
