"""The starter catalogue generator (``content.starter``, ``infobutton topics starter``): the
shipped files are exactly what it builds from the seed page and the MedlinePlus topic list."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from infobutton import bundled
from infobutton.cli import main
from infobutton.content.medlineplus_xml import read_catalogue
from infobutton.content.starter import (
    PROFESSIONAL,
    PROFESSIONAL_CAPTURES,
    InvalidTopicList,
    build,
    list_date,
    read_topic_list,
    seed_topics,
)
from tests.conftest import SEED_PAGE, SHARED, require

TOPIC_LIST = SHARED / "medlineplus" / "topics-2024.tsv"
HEADER = "medlineplus_id\ttitle\turl\talso_called\tspanish_title\tspanish_url\n"
PAGE = (
    "URL of this page: https://medlineplus.gov/asthma.html\n\nEspañol\n\n#  Asthma\n\n## Summary\n\n"
    "Asthma text.\n\n## Related Health Topics\n\n    * Allergy\n    * Asthma in Children\n\n"
    "Page last updated on 3 March 2026\n"
)
ALLERGY = HEADER + "4\tAllergy\thttps://medlineplus.gov/allergy.html\t\t\t\n"


@pytest.fixture(scope="module")
def sources():
    require(SEED_PAGE.exists() and TOPIC_LIST.exists(), f"{SEED_PAGE} or {TOPIC_LIST} not found")
    return SEED_PAGE.read_bytes(), TOPIC_LIST.read_text(encoding="utf-8")


def test_shipped_files_are_what_the_generator_builds(sources, tmp_path):
    seed, topics = sources
    files = build(seed, SEED_PAGE.name, topics, TOPIC_LIST.name, list_date(TOPIC_LIST.name))
    shipped = {p.name: p.read_text(encoding="utf-8") for p in bundled.topic_files()}
    assert files == shipped


def test_command_writes_the_files_and_check_reports_drift(sources, tmp_path):
    args = ["topics", "starter", "--seed", str(SEED_PAGE), "--topics", str(TOPIC_LIST), "--out", str(tmp_path)]
    runner = CliRunner()
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "wrote 4 of 4 files" in first.output
    assert runner.invoke(main, [*args, "--check"]).exit_code == 0
    assert "wrote 0 of 4" in runner.invoke(main, args).output  # re-running changes nothing
    for path in tmp_path.glob("*.xml"):
        assert read_catalogue(path).topics  # every file is a valid health-topics document
    assert read_catalogue(tmp_path / "topics-2024.xml").date_generated == "2024-07-01T00:00:00"
    (tmp_path / "not-in-catalogue.xml").write_text("edited by hand", encoding="utf-8")
    drift = runner.invoke(main, [*args, "--check"])
    assert drift.exit_code == 1 and "not-in-catalogue.xml" in drift.output


def test_listed_topics_become_link_only_topics_with_their_names_ids_and_spanish_twins(tmp_path):
    topics = HEADER + (
        "1437\tAcute Lymphocytic Leukemia\thttps://medlineplus.gov/acutelymphocyticleukemia.html"
        "\tAcute lymphoblastic leukemia|ALL\t\t\n"
        "5324\tFatigue\thttps://medlineplus.gov/fatigue.html\tTiredness|Weariness\tFatiga"
        "\thttps://medlineplus.gov/spanish/fatigue.html\n"
    )
    files = build(PAGE, "asthma.txt", topics, "topics-2027.tsv", "2027-03-01")
    assert set(files) == {"seed-leukemia.xml", "topics-2027.xml", "not-in-catalogue.xml", "professional-nci-pdq.xml"}
    path = tmp_path / "list.xml"
    path.write_text(files["topics-2027.xml"], encoding="utf-8")
    catalogue = read_catalogue(path)
    assert catalogue.date_generated == "2027-03-01T00:00:00"
    assert [(t.id, t.source, t.summary_html, t.also_called) for t in catalogue.topics] == [
        ("acutelymphocyticleukemia", "index", "", ("Acute lymphoblastic leukemia", "ALL")),
        ("fatigue", "index", "", ("Tiredness", "Weariness")),
        ("fatigue-es", "index", "", ()),
    ]
    fatigue, fatiga = catalogue.topics[1:]
    assert (fatigue.twin.id, fatigue.twin.title) == ("fatigue-es", "Fatiga")
    assert (fatiga.title, fatiga.language, fatiga.twin.id, fatiga.twin.title) == ("Fatiga", "es", "fatigue", "Fatigue")
    assert {t.catalogue_date for t in catalogue.topics} == {"2027-03-01"}
    assert 'id="1437"' in files["topics-2027.xml"] and 'id="5324"' in files["topics-2027.xml"]
    assert "myeloproliferativedisorders.html" in files["not-in-catalogue.xml"]


def test_a_listed_topic_outside_the_list_is_shipped_from_the_list_once():
    topics = HEADER + (
        "9\tMyeloproliferative Disorders\thttps://medlineplus.gov/myeloproliferativedisorders.html\t\t\t\n"
    )
    files = build(PAGE, "asthma.txt", topics, "topics-2027.tsv", "2027-03-01")
    assert "not-in-catalogue.xml" not in files
    assert "myeloproliferativedisorders.html" in files["topics-2027.xml"]


def test_a_list_without_a_known_date_needs_one_named(tmp_path):
    assert list_date("topics-2024.tsv") == "2024-07-01"
    with pytest.raises(InvalidTopicList, match="no export date known"):
        list_date("topics-2031.tsv")
    seed = tmp_path / "page.txt"
    seed.write_text(PAGE, encoding="utf-8")
    listed = tmp_path / "topics-2031.tsv"
    listed.write_text(ALLERGY, encoding="utf-8")
    base = ["topics", "starter", "--seed", str(seed), "--topics", str(listed), "--out", str(tmp_path / "out")]
    refused = CliRunner().invoke(main, base)
    assert refused.exit_code == 1 and "no export date known" in refused.output
    named = CliRunner().invoke(main, [*base, "--date", "2031-01-15"])
    assert named.exit_code == 0, named.output
    assert read_catalogue(tmp_path / "out" / "topics-2031.xml").date_generated == "2031-01-15T00:00:00"


def test_seed_page_related_topics_outside_the_list_are_link_only(tmp_path):
    files = build(PAGE, "asthma.txt", ALLERGY, "topics-2026.tsv", "2026-10-01")
    path = tmp_path / "seed.xml"
    path.write_text(files["seed-leukemia.xml"], encoding="utf-8")
    topics = read_catalogue(path).topics
    assert [(t.id, t.source) for t in topics] == [("asthma", "medlineplus"), ("asthmainchildren", "index")]
    assert topics[0].twin is None  # the Spanish title is not known: no twin rather than a guess
    assert topics[0].summary_html == "<p>Asthma text.</p>" and topics[0].date_updated == "2026-03-03"


def test_seed_topic_drops_links_without_a_url():
    require(SEED_PAGE.exists(), f"{SEED_PAGE} not found")
    leukemia, twin = seed_topics(SEED_PAGE.read_bytes())
    assert leukemia.sites == () and leukemia.encyclopedia == ()
    assert (twin.id, twin.title, twin.language, twin.source) == ("leukemia-es", "Leucemia", "es", "index")
    assert leukemia.twin.title == "Leucemia" and twin.twin.id == "leukemia"


def test_a_page_from_elsewhere_is_no_seed():
    with pytest.raises(ValueError, match="not a MedlinePlus page"):
        seed_topics(PAGE.replace("https://medlineplus.gov/", "https://example.org/"))


@pytest.mark.parametrize(
    "text, message",
    [
        ("id\ttitle\turl\n", "header"),
        (HEADER, "no topics"),
        (HEADER + "x\tAcne\thttps://medlineplus.gov/acne.html\t\t\t\n", "not an English MedlinePlus"),
        (HEADER + "1\tAcne\thttps://example.org/acne.html\t\t\t\n", "not an English MedlinePlus"),
        (HEADER + "1\tAcné\thttps://medlineplus.gov/spanish/acne.html\t\t\t\n", "not an English MedlinePlus"),
        (HEADER + "1\tAcne\thttps://medlineplus.gov/acne.html\t\tAcné\t\n", "not a Spanish MedlinePlus"),
        (
            HEADER + "1\tAcne\thttps://medlineplus.gov/acne.html\t\tAcné\thttps://medlineplus.gov/acne2.html\n",
            "not a Spanish MedlinePlus",
        ),
        (
            HEADER + "1\tAcne\thttps://medlineplus.gov/acne.html\t\t\t\n"
            "2\tAcne\thttps://medlineplus.gov/acne.html\t\t\t\n",
            "listed twice",
        ),
        (HEADER + "1\tAcne\n", "fields"),
    ],
)
def test_a_bad_list_is_refused(text, message):
    with pytest.raises(InvalidTopicList, match=message):
        read_topic_list(text)


def test_command_fails_cleanly_on_a_bad_list(tmp_path):
    seed = tmp_path / "page.txt"
    seed.write_text(PAGE, encoding="utf-8")
    listed = tmp_path / "topics-2024.tsv"
    listed.write_text("nonsense\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["topics", "starter", "--seed", str(seed), "--topics", str(listed), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 1 and "starter failed" in result.output
    assert not Path(tmp_path / "out").exists()


def test_professional_pages_are_link_only_professional_topics_under_their_own_ids(tmp_path):
    files = build(PAGE, "asthma.txt", ALLERGY, "topics-2026.tsv", "2026-10-01")
    path = tmp_path / "professional.xml"
    path.write_text(files["professional-nci-pdq.xml"], encoding="utf-8")
    catalogue = read_catalogue(path)
    assert [(t.id, t.title, t.url) for t in catalogue.topics] == [(p.id, p.title, p.url) for p in PROFESSIONAL]
    assert {(t.source, t.audience, t.language) for t in catalogue.topics} == {("index", "professional", "en")}
    assert catalogue.date_generated == "2025-12-30T00:00:00"  # the captures' date, not today's
    header = files["professional-nci-pdq.xml"].split("-->")[0]
    for page in PROFESSIONAL:  # every fact names the capture that confirmed it
        assert f"{page.title}\n    {page.url}\n    confirmed in {page.capture}" in header
    assert PROFESSIONAL_CAPTURES in header
