"""Topic pages (the seed's plain-text rendering and MedlinePlus HTML) → Topic."""

from pathlib import Path

import pytest

from infobutton.content.page import InvalidPage, category, parse_page
from tests.conftest import SEED_PAGE, require

PAGES = Path(__file__).resolve().parents[1] / "data" / "pages"

SEED_SECTIONS = {
    "Start Here": 2,
    "Diagnosis and Tests": 8,
    "Treatments and Therapies": 10,
    "Related Issues": 1,
    "Specifics": 4,
    "Genetics": 1,
    "Statistics and Research": 3,
    "Clinical Trials": 3,
    "Journal Articles": 4,
    "Find an Expert": 5,
    "Patient Handouts": 4,
}


@pytest.fixture(scope="module")
def seed():
    require(SEED_PAGE.exists(), f"{SEED_PAGE} not found")
    return parse_page(SEED_PAGE.read_bytes())


def test_seed_identity_and_summary(seed):
    assert (seed.id, seed.title, seed.url, seed.language) == (
        "leukemia",
        "Leukemia",
        "https://medlineplus.gov/leukemia.html",
        "en",
    )
    assert seed.source == "medlineplus"
    assert seed.meta_desc.startswith("Leukemia is cancer of the white blood cells.")
    assert seed.summary_html.startswith("<p>Leukemia is cancer of the white blood cells.")
    assert "<li>Chronic myeloid leukemia</li>" in seed.summary_html
    assert "Even if symptoms disappear, you might need therapy to prevent a relapse.</p>" in seed.summary_html
    assert "NIH:" not in seed.summary_html


def test_seed_every_section_arrives(seed):
    counts = {}
    for site in seed.sites:
        counts[site.category] = counts.get(site.category, 0) + 1
    assert counts == SEED_SECTIONS
    assert list(counts) == list(SEED_SECTIONS)  # page order kept


def test_seed_links_keep_title_organization_and_notes(seed):
    by_title = {s.title: s for s in seed.sites}
    understanding = by_title["Understanding Leukemia"]
    assert understanding.organization == "Leukemia & Lymphoma Society"
    assert understanding.description == "PDF; Also in Spanish"
    b2m = by_title["Beta 2 Microglobulin (B2M) Tumor Marker Test"]  # parentheses inside a title
    assert b2m.organization == "National Library of Medicine"
    assert by_title["What Are Bone Marrow Tests?"].organization == "National Heart, Lung, and Blood Institute"
    assert by_title["American Cancer Society"].organization == ""
    assert "Leukemia -- see more articles" in by_title
    assert not any("![" in s.title or "nih.png" in s.title for s in seed.sites)


def test_seed_related_topics_encyclopedia_institute_twin_dates_image(seed):
    assert [r.title for r in seed.related] == [
        "Acute Lymphocytic Leukemia",
        "Acute Myeloid Leukemia",
        "Childhood Leukemia",
        "Chronic Lymphocytic Leukemia",
        "Chronic Myeloid Leukemia",
    ]
    assert seed.related[4].url == "https://medlineplus.gov/chronicmyeloidleukemia.html"
    assert sorted(e.title for e in seed.encyclopedia) == sorted(
        [
            "After chemotherapy - discharge",
            "B and T cell screen",
            "B-cell leukemia/lymphoma panel",
            "Bone marrow biopsy",
            "Bone marrow transplant",
            "Bone marrow transplant - discharge",
            "Bone-marrow transplant - slideshow",
            "Cryoglobulins",
            "Fibrinopeptide A blood test",
            "Hairy cell leukemia",
            "Leukemia",
            "T-cell count",
        ]
    )
    assert seed.primary_institute.title == "National Cancer Institute"
    assert seed.twin.url == "https://medlineplus.gov/spanish/leukemia.html"
    assert seed.twin.id == "leukemia-es"
    assert (seed.date_updated, seed.date_reviewed) == ("2020-01-31", "2016-05-19")
    assert seed.image_url == "https://medlineplus.gov/images/LeukemiaWhiteBloodCell.jpg"
    assert seed.image_alt == "white blood cells"


def test_html_page():
    topic = parse_page((PAGES / "asthma.html").read_bytes())
    assert (topic.id, topic.title, topic.language) == ("asthma", "Asthma", "en")
    assert topic.also_called == ("Bronchial asthma", "Reactive airway disease")
    assert topic.meta_desc.startswith("Asthma is a chronic disease")
    assert "<li>Wheezing</li>" in topic.summary_html
    for bad in ("script", "alert", "onclick", "NIH:"):
        assert bad not in topic.summary_html
    assert [(s.category, s.title, s.organization, s.url) for s in topic.sites] == [
        (
            "Start Here",
            "What Is Asthma?",
            "National Heart, Lung, and Blood Institute",
            "https://www.nhlbi.nih.gov/health/asthma",
        ),
        ("Start Here", "Asthma Basics", "American Lung Association", "https://www.lung.org/asthma.pdf"),
        (
            "Treatments and Therapies",
            "Asthma Medicines",
            "National Library of Medicine",
            "https://medlineplus.gov/asthmainchildren.html",
        ),
        (
            "Patient Handouts",
            "Asthma - control drugs",
            "Medical Encyclopedia",
            "https://medlineplus.gov/ency/patientinstructions/000008.htm",
        ),
    ]
    assert [e.title for e in topic.encyclopedia] == ["Asthma - control drugs", "Asthma"]
    assert [(r.id, r.url) for r in topic.related] == [
        ("asthmainchildren", "https://medlineplus.gov/asthmainchildren.html"),
        ("allergy", "https://medlineplus.gov/allergy.html"),
    ]
    assert topic.primary_institute.title == "National Heart, Lung, and Blood Institute"
    assert topic.twin.id == "asthma-es"
    assert (topic.date_updated, topic.date_reviewed) == ("2026-03-03", "2025-02-14")
    assert (topic.image_url, topic.image_alt) == ("https://medlineplus.gov/images/asthma.jpg", "Inflamed airway")


def test_spanish_text_page_is_spanish():
    text = (
        "URL of this page: https://medlineplus.gov/spanish/asthma.html\n\n#  Asma\n\n"
        "## Resumen\n\nEl asma es una enfermedad crónica.\n\n## Puntos de inicio\n\n"
        "    * Asma (Biblioteca Nacional de Medicina) También en inglés\n\n"
        "Página actualizada el 3 de marzo de 2026\n"
    )
    topic = parse_page(text)
    assert (topic.id, topic.language) == ("asthma-es", "es")
    assert topic.sites[0].category == "Puntos de inicio"
    assert topic.sites[0].organization == "Biblioteca Nacional de Medicina"
    assert topic.date_updated == "2026-03-03"


def test_only_a_page_on_medlineplus_gov_is_labelled_medlineplus():
    page = "URL of this page: {}\n\n#  Asthma\n\n## Summary\n\nText.\n"
    assert parse_page(page.format("https://medlineplus.gov/asthma.html")).source == "medlineplus"
    for url in (
        "https://example.org/asthma.html",
        "https://medlineplus.gov.example.org/asthma.html",
        "https://notmedlineplus.gov/asthma.html",
    ):
        topic = parse_page(page.format(url))
        assert topic.source == "" and topic.summary_html == "<p>Text.</p>"
    html = (PAGES / "asthma.html").read_bytes()
    assert parse_page(html).source == "medlineplus"
    elsewhere = html.replace(b'href="https://medlineplus.gov/asthma.html"', b'href="https://example.org/a.html"')
    assert parse_page(elsewhere).source == ""


def test_category_matches_whole_words_only():
    assert category("Journal Articles References and abstracts from MEDLINE/PubMed") == "Journal Articles"
    assert category("Mental Health") == ""
    assert category("Men") == "Men"


def test_not_a_topic_page():
    with pytest.raises(InvalidPage):
        parse_page("<html><body><p>hello</p></body></html>")
    with pytest.raises(InvalidPage, match="larger"):
        parse_page("x" * (6 * 1024 * 1024))
