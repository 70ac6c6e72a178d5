"""The starter catalogue generator (``content.starter``, ``infobutton topics starter``): the
shipped files are exactly what it builds from the seed page and the topic index."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from infobutton import bundled
from infobutton.cli import main
from infobutton.content.medlineplus_xml import read_catalogue
from infobutton.content.starter import PROFESSIONAL, PROFESSIONAL_CAPTURES, InvalidIndex, build, read_index, seed_topics
from tests.conftest import SEED_PAGE, SHARED, require

INDEX = SHARED / "medlineplus" / "topic-index-2026-10.tsv"
HEADER = "medlineplus_id\ttitle\turl\tlanguage\n"
PAGE = (
    "URL of this page: https://medlineplus.gov/asthma.html\n\nEspañol\n\n#  Asthma\n\n## Summary\n\n"
    "Asthma text.\n\n## Related Health Topics\n\n    * Allergy\n    * Asthma in Children\n\n"
    "Page last updated on 3 March 2026\n"
)


@pytest.fixture(scope="module")
def sources():
    require(SEED_PAGE.exists() and INDEX.exists(), f"{SEED_PAGE} or {INDEX} not found")
    return SEED_PAGE.read_bytes(), INDEX.read_text(encoding="utf-8")


def test_shipped_files_are_what_the_generator_builds(sources, tmp_path):
    seed, index = sources
    files = build(seed, SEED_PAGE.name, index, INDEX.name)
    shipped = {p.name: p.read_text(encoding="utf-8") for p in bundled.topic_files()}
    assert files == shipped


def test_command_writes_the_files_and_check_reports_drift(sources, tmp_path):
    args = ["topics", "starter", "--seed", str(SEED_PAGE), "--index", str(INDEX), "--out", str(tmp_path)]
    runner = CliRunner()
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "wrote 4 of 4 files" in first.output
    assert runner.invoke(main, [*args, "--check"]).exit_code == 0
    assert "wrote 0 of 4" in runner.invoke(main, args).output  # re-running changes nothing
    for path in tmp_path.glob("*.xml"):
        assert read_catalogue(path).topics  # every file is a valid health-topics document
    (tmp_path / "not-in-index.xml").write_text("edited by hand", encoding="utf-8")
    drift = runner.invoke(main, [*args, "--check"])
    assert drift.exit_code == 1 and "not-in-index.xml" in drift.output


def test_index_rows_become_link_only_topics_with_their_medlineplus_ids(tmp_path):
    index = HEADER + (
        "1437\tAcute Lymphocytic Leukemia\thttps://medlineplus.gov/acutelymphocyticleukemia.html"
        "\tEnglish\n7\tLymphoma\thttps://medlineplus.gov/lymphoma.html\tEnglish\n"
    )
    files = build(PAGE, "asthma.txt", index, "topic-index-2027-01.tsv")
    assert set(files) == {
        "seed-leukemia.xml",
        "topic-index-2027-01.xml",
        "not-in-index.xml",
        "professional-nci-pdq.xml",
    }
    path = tmp_path / "index.xml"
    path.write_text(files["topic-index-2027-01.xml"], encoding="utf-8")
    catalogue = read_catalogue(path)
    assert catalogue.date_generated == "2027-01-01T00:00:00"
    assert [(t.id, t.title, t.source, t.summary_html) for t in catalogue.topics] == [
        ("acutelymphocyticleukemia", "Acute Lymphocytic Leukemia", "index", ""),
        ("lymphoma", "Lymphoma", "index", ""),
    ]
    assert 'id="1437"' in files["topic-index-2027-01.xml"]
    # an index that lists a not-in-index topic ships it from the index, once
    assert "lymphoma.html" not in files["not-in-index.xml"]
    assert "myeloproliferativedisorders.html" in files["not-in-index.xml"]


def test_seed_page_related_topics_outside_the_index_are_link_only(tmp_path):
    index = HEADER + "4\tAllergy\thttps://medlineplus.gov/allergy.html\tEnglish\n"
    files = build(PAGE, "asthma.txt", index, "topic-index-2026-10.tsv")
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
        (HEADER + "x\tAcne\thttps://medlineplus.gov/acne.html\tEnglish\n", "not an English MedlinePlus"),
        (HEADER + "1\tAcne\thttps://example.org/acne.html\tEnglish\n", "not an English MedlinePlus"),
        (HEADER + "1\tAcne\thttps://medlineplus.gov/acne.html\tSpanish\n", "not an English MedlinePlus"),
        (
            HEADER + "1\tAcne\thttps://medlineplus.gov/acne.html\tEnglish\n"
            "2\tAcne\thttps://medlineplus.gov/acne.html\tEnglish\n",
            "listed twice",
        ),
        (HEADER + "1\tAcne\n", "fields"),
    ],
)
def test_a_bad_index_is_refused(text, message):
    with pytest.raises(InvalidIndex, match=message):
        read_index(text)


def test_command_fails_cleanly_on_a_bad_index(tmp_path):
    seed = tmp_path / "page.txt"
    seed.write_text(PAGE, encoding="utf-8")
    index = tmp_path / "topic-index-2026-10.tsv"
    index.write_text("nonsense\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["topics", "starter", "--seed", str(seed), "--index", str(index), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 1 and "starter failed" in result.output
    assert not Path(tmp_path / "out").exists()


def test_professional_pages_are_link_only_professional_topics_under_their_own_ids(tmp_path):
    index = HEADER + "4\tAllergy\thttps://medlineplus.gov/allergy.html\tEnglish\n"
    files = build(PAGE, "asthma.txt", index, "topic-index-2026-10.tsv")
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
