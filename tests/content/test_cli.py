"""``infobutton topics import|import-page`` against the same database a running app uses:
imports change live answers without a restart; a bad file changes nothing and exits non-zero."""

import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from infobutton.cli import main
from tests.conftest import SEED_PAGE, icd, require
from tests.content.bundled_catalogue import MEDLINEPLUS_TOTAL, NOT_MEDLINEPLUS, TOTAL, bundled_catalogue

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "catalogue"
sys.path.insert(0, str(ROOT / "bench"))
from generate_catalogue import catalogue_xml  # noqa: E402


@pytest.fixture
def run(settings):
    def invoke(*args):
        return CliRunner().invoke(
            main,
            ["topics", *map(str, args)],
            env={"INFOBUTTON_DATA_DIR": settings.data_dir, "INFOBUTTON_DATABASE_URL": ""},
        )

    return invoke


def leukemia_summary(client) -> str:
    body = client.get("/infobutton", query_string=icd("C95.90", knowledgeResponseType="application/json"))
    (entry,) = [e for e in body.json["feed"]["entry"] if e["title"]["_value"] == "Leukemia"]
    return entry["summary"]["_value"]


def revised_starter(tmp_path, text: str, date: str = "2026-11-24") -> Path:
    path = tmp_path / "revised.xml"
    path.write_bytes(bundled_catalogue(date, leukemia_summary=text))
    return path


def test_import_changes_live_answers_without_restart(client, run, tmp_path):
    assert "Revised summary text" not in leukemia_summary(client)
    result = run("import", revised_starter(tmp_path, "Revised summary text."))
    assert result.exit_code == 0, result.output
    assert f"1 updated, {TOTAL - 1} unchanged, 0 withdrawn" in result.output
    assert "Revised summary text." in leukemia_summary(client)


def test_same_file_twice_changes_nothing(run, tmp_path, services):
    path = revised_starter(tmp_path, "Once.")
    assert run("import", path).exit_code == 0
    version = services.topics.version()
    result = run("import", path)
    assert result.exit_code == 0
    assert f"0 added, 0 updated, {TOTAL} unchanged, 0 withdrawn" in result.output
    assert services.topics.version() == version


@pytest.mark.parametrize(
    "name, message",
    [
        ("billion-laughs.xml", "DTD or entities"),
        ("truncated.xml", "not well-formed"),
        ("wrong-root.xml", "root element is <rss>"),
    ],
)
def test_bad_file_changes_nothing_and_exits_non_zero(client, run, services, name, message):
    before = leukemia_summary(client)
    version = services.topics.version()
    result = run("import", DATA / name)
    assert result.exit_code != 0
    assert message in result.output and "import refused" in result.output
    assert services.topics.version() == version
    assert leukemia_summary(client) == before
    assert len(services.topics.all()) == TOTAL


def test_import_withdrawing_most_topics_needs_force(run, services, client):
    result = run("import", DATA / "small.xml")
    assert result.exit_code == 1 and f"would withdraw {MEDLINEPLUS_TOTAL - 4} of {MEDLINEPLUS_TOTAL}" in result.output
    assert len(services.topics.all()) == TOTAL
    result = run("import", DATA / "small.xml", "--force")
    assert result.exit_code == 0, result.output
    # its four topics are all in the starter catalogue (Asthma among them): upgraded in place
    assert f"0 added, 4 updated, 0 unchanged, {MEDLINEPLUS_TOTAL - 4} withdrawn" in result.output
    # the NCI professional topics are not MedlinePlus's to withdraw
    assert {t.id for t in services.topics.all()} == {
        "leukemia",
        "leukemia-es",
        "asthma",
        "chronicmyeloidleukemia",
    } | NOT_MEDLINEPLUS
    # a withdrawn topic is no longer served: the code now falls back to nothing for AML
    withdrawn = services.topics.get("acutemyeloidleukemia")
    assert withdrawn.status == "withdrawn"


def test_older_catalogue_is_refused_unless_forced(run, tmp_path, services):
    assert run("import", revised_starter(tmp_path, "New.", "2026-11-25")).exit_code == 0
    older = revised_starter(tmp_path, "Old.", "2026-11-20")
    result = run("import", older)
    assert result.exit_code == 1 and "before the catalogue already imported" in result.output
    assert "New." in services.topics.get("leukemia").summary_html
    assert run("import", older, "--force").exit_code == 0
    assert "Old." in services.topics.get("leukemia").summary_html


def test_two_thousand_topic_file_imports(run, tmp_path, services):
    path = tmp_path / "mplus_topics_2000.xml"
    path.write_bytes(catalogue_xml(2000))
    result = run("import", path, "--force")  # replaces the starter topics
    assert result.exit_code == 0, result.output
    assert f"2000 added, 0 updated, 0 unchanged, {MEDLINEPLUS_TOTAL} withdrawn" in result.output
    assert len(services.topics.all()) == 2000 + len(NOT_MEDLINEPLUS)


def test_missing_file_exits_non_zero(run, tmp_path):
    result = run("import", tmp_path / "absent.xml")
    assert result.exit_code == 1 and "cannot read" in result.output


def test_import_page_brings_in_the_seed_topic(run, services, client):
    require(SEED_PAGE.exists(), f"{SEED_PAGE} not found")
    stored = services.topics.get("leukemia")
    services.topics.upsert([replace(stored, mesh_headings=(("D007938", "Leukemia"),))])
    result = run("import-page", SEED_PAGE)
    assert result.exit_code == 0, result.output
    assert "leukemia (Leukemia) updated: 45 links in 11 sections, 5 related topics" in result.output
    topic = services.topics.get("leukemia")
    assert topic.date_updated == "2020-01-31" and topic.date_reviewed == "2016-05-19"
    assert topic.mesh_headings == (("D007938", "Leukemia"),)  # kept from the catalogue
    assert topic.twin.title == "Leucemia"  # completed from the stored twin
    assert topic.source == "medlineplus"
    assert [r.id for r in topic.related] == [
        "acutelymphocyticleukemia",
        "acutemyeloidleukemia",
        "childhoodleukemia",
        "chroniclymphocyticleukemia",
        "chronicmyeloidleukemia",
    ]
    assert "White blood cells help your body" in leukemia_summary(client)


def test_import_page_refuses_a_non_page(run, tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("just some words\n")
    result = run("import-page", path)
    assert result.exit_code == 1 and "no topic title" in result.output
