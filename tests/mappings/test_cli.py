"""`infobutton admin …` and `infobutton mappings …` against a real SQLite file."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from infobutton import bundled
from infobutton.cli import main

from ..conftest import unmap_diabetes

SEEDED = len(bundled.load_rules())  # rules a fresh database is seeded with
HEADER = "code_system,code,topic_id,scope,priority,min_age,max_age,gender,reason\n"  # a CSV from before context limits
LIMITS = ",audience,task,setting,language,age_group"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBUTTON_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INFOBUTTON_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def test_token_commands(run, tmp_path):
    created = run("admin", "create-token", "--name", "ana", "--role", "editor")
    assert created.exit_code == 0
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("ibk_")
    listed = run("admin", "list-tokens")
    assert "ana\teditor" in listed.stdout and token not in listed.stdout
    assert run("admin", "create-token", "--name", "ana", "--role", "editor").exit_code == 1
    assert run("admin", "create-token", "--name", "x", "--role", "root").exit_code == 2
    assert run("admin", "revoke-token", "ana").exit_code == 0
    assert run("admin", "revoke-token", "ana").exit_code == 1
    assert "ana" not in run("admin", "list-tokens").stdout
    assert token.split(".")[1] not in (tmp_path / "infobutton.sqlite3").read_bytes().decode("latin-1")


def test_export_import_round_trip_and_list(run, tmp_path):
    exported = run("mappings", "export").stdout
    assert exported.startswith(HEADER.strip() + LIMITS + "\n") and exported.count("\n") == SEEDED + 1
    path = tmp_path / "m.csv"
    path.write_text(exported + "ICD-10-CM,D47.9,leukemia,descendants,0,,,,cli\n")
    dry = run("mappings", "import", str(path), "--dry-run")
    assert "+ ICD-10-CM D47.9 -> leukemia" in dry.stdout and "nothing written" in dry.stdout
    assert "D47.9" not in run("mappings", "list", "--code", "D47.9").stdout
    done = run("mappings", "import", str(path), "--reason", "add D47.9", "--actor", "ana")
    assert "1 added" in done.stdout and "version 2" in done.stdout
    listed = run("mappings", "list", "--code-system", "ICD-10-CM", "--code", "d479")
    assert "\tD47.9\tleukemia\t" in listed.stdout
    assert run("mappings", "export").stdout == run("mappings", "export").stdout
    out = tmp_path / "again.csv"
    run("mappings", "export", "-o", str(out))
    again = run("mappings", "import", str(out), "--mode", "replace")
    assert f"0 added, 0 changed, 0 removed, {SEEDED + 1} unchanged" in again.stdout


def test_a_cli_export_is_safe_to_open_in_a_spreadsheet(run, tmp_path):
    path = tmp_path / "formula.csv"
    path.write_text(HEADER + 'ICD-10-CM,D47.9,leukemia,descendants,-2,,,,"@SUM(1+1)"\n')
    assert "1 added" in run("mappings", "import", str(path)).stdout
    exported = run("mappings", "export").stdout
    assert "'@SUM(1+1)" in exported and "'-2" in exported
    cells = [c for row in csv.reader(io.StringIO(exported, newline="")) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]


def test_validate_and_a_bad_import_writes_nothing(run, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "ICD-10-CM,D47.9,leukemia,,,,,,\nICD-10-CM,C99.99,leukemia,,,,,,\n"
        "SNOMED CT,93143008,leukemia,exact,,,,,\n"
    )
    checked = run("mappings", "validate", str(bad))
    assert checked.exit_code == 1
    assert "line 3: code" in checked.stderr and "line 4: code" in checked.stderr
    imported = run("mappings", "import", str(bad))
    assert imported.exit_code == 1 and "line 3" in imported.stderr
    assert run("mappings", "list", "--code", "D47.9").stdout == ""
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "ICD-10-CM,D47.9,leukemia,,,,,,\n")
    assert "1 rules, all valid" in run("mappings", "validate", str(good)).stdout
    assert run("mappings", "list", "--code-system", "nope").exit_code == 1


# -- mappings suggest ----------------------------------------------------------------------------


def _topics(tmp_path):
    """The CLI's database (first start seeds it), where nobody mapped E10 and E11 and one topic
    fits E11: the general Diabetes page (also called "Diabetes mellitus") matches its title too,
    so it is withdrawn here."""
    from dataclasses import replace

    from infobutton.config import Settings
    from infobutton.services import build_services

    services = build_services(Settings(data_dir=str(tmp_path)))
    services.topics.upsert([replace(services.topics.get("diabetes"), status="withdrawn")])
    unmap_diabetes(services)
    services.close()


@pytest.fixture
def diabetes(run, tmp_path):
    _topics(tmp_path)
    return run


def _answer(app, code: str):
    from infobutton.request import parse
    from tests.conftest import icd

    knowledge = app.extensions["infobutton"].knowledge
    return [(m.topic.id, m.provenance.value, m.reason) for m in knowledge.resolve(parse(icd(code).items()))]


def test_suggest_lists_proposals_with_their_evidence(diabetes):
    out = diabetes("mappings", "suggest", "--codes", "E11.9, e1165,C91.00").stdout
    assert out.splitlines()[:3] == [
        "E11 -> diabetestype2\tDiabetes Type 2\tdescendants\tconfident",
        "    evidence: ICD-10-CM title \u2018Type 2 diabetes mellitus\u2019 (E11) holds the topic name"
        " \u2018Diabetes Type 2\u2019",
        "    covers: E11.9, E11.65",
    ]
    assert "C91" not in out  # curated already (shipped mappings)
    # the catalogue's Hyperglycemia page, on E11.65 itself, only for review
    assert "E11.65 -> hyperglycemia\tHyperglycemia\tdescendants\treview" in out.splitlines()
    # E11 is the one confident proposal; every other (E11.65's pages) is only for review
    assert out.splitlines()[-1].endswith(" suggestion(s), 1 confident")
    assert [line for line in out.splitlines() if line.endswith("\tconfident")] == [
        "E11 -> diabetestype2\tDiabetes Type 2\tdescendants\tconfident"
    ]
    prefix = diabetes("mappings", "suggest", "--prefix", "E11").stdout
    assert prefix.startswith("E11 -> diabetestype2\t") and "and 77 more" in prefix  # 87 codes
    # the shipped catalogue adds the complications' topics (cataract, CKD …), only as "review"
    assert prefix.splitlines()[-1].endswith(", 1 confident")


def test_suggest_apply_creates_audited_curated_rules_as_one_version(diabetes, tmp_path):
    from infobutton import create_app
    from infobutton.config import Settings

    app = create_app(Settings(data_dir=str(tmp_path), version_check_interval=0.0))
    try:
        assert _answer(app, "E11.9")[0][:2] == ("diabetestype2", "automatic")
        before = app.extensions["infobutton"].mappings.version()
        done = diabetes("mappings", "suggest", "--codes", "E11.9,E10.9,E11.36", "--apply", "--actor", "ana")
        assert done.exit_code == 0
        assert "-> cataract" in done.stdout and "review" in done.stdout  # shown, not applied
        assert done.stdout.splitlines()[-1] == f"applied 2 as curated rules: version {before + 1}"
        services = app.extensions["infobutton"]
        # The running app serves it without a restart: curated now, with the evidence as reason.
        topic, provenance, reason = _answer(app, "E11.9")[0]
        assert (topic, provenance) == ("diabetestype2", "curated")
        assert reason == (
            "curated rule for ICD-10-CM E11 and below: suggested: ICD-10-CM title"
            " \u2018Type 2 diabetes mellitus\u2019 (E11) holds the topic name"
            " \u2018Diabetes Type 2\u2019"
        )
        assert _answer(app, "E10.65")[0][:2] == ("diabetestype1", "curated")
        version = services.history.version(before + 1)
        assert (version.actor, version.action) == ("ana", "accept")
        assert "E11 \u2192 diabetestype2" in version.reason and "Type 1 diabetes mellitus" in version.reason
        entries, total = services.history.audit(version=before + 1)
        assert total == 2 and {e.after["code"] for e in entries} == {"E11", "E10"}
        cataract = [r for r in services.mappings.rules() if r.topic_id == "cataract"]
        assert not [r for r in cataract if r.code.startswith(("E10", "E11"))]  # shown, never applied
        again = diabetes("mappings", "suggest", "--codes", "E11.9,E10.9", "--apply")
        assert "0 suggestion(s)" in again.stdout and "nothing to apply" in again.stdout
        assert services.mappings.version() == before + 1
    finally:
        app.extensions["infobutton"].close()


def test_suggest_reject_and_unreject(diabetes):
    done = diabetes("mappings", "suggest", "--reject", "E11:diabetestype2", "--reason", "by hand", "--actor", "ana")
    assert done.stdout == "rejected E11 -> diabetestype2\n"
    assert "0 suggestion(s)" in diabetes("mappings", "suggest", "--codes", "E11.9").stdout
    listed = diabetes("mappings", "suggest", "--rejected").stdout
    assert listed.startswith("rejected\tE11\tdiabetestype2\tana\t") and listed.endswith("\tby hand\n")
    assert "nothing to apply" in diabetes("mappings", "suggest", "--prefix", "E11", "--apply").stdout
    assert (
        diabetes("mappings", "suggest", "--unreject", "E11:diabetestype2").stdout
        == "un-rejected E11 -> diabetestype2\n"
    )
    assert "1 confident" in diabetes("mappings", "suggest", "--codes", "E11.9").stdout


def test_suggest_for_the_gap_report(diabetes, app, client):
    from tests.conftest import icd

    client.get("/infobutton", query_string=icd("E11.65"))
    app.extensions["infobutton"].usage.flush()
    out = diabetes("mappings", "suggest", "--gaps", "--days", "7").stdout
    assert out.startswith("E11 -> diabetestype2\t") and "covers: E11.65\n" in out


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--codes", "E11.9,XX1"], 1, "codes: not ICD-10-CM codes: XX1"),
        (["--prefix", "S"], 1, "covers 31052 billable codes"),
        (["--prefix", "1"], 1, "cannot start an ICD-10-CM code"),
        (["--codes", "E11.9", "--prefix", "E11"], 1, "exactly one of"),
        (["--reject", "E11:nosuchtopic"], 1, "no topic 'nosuchtopic'"),
        (["--reject", "E11"], 2, "CODE:TOPIC"),
        ([], 2, "give --codes"),
        (["--apply"], 2, "--apply needs"),
    ],
)
def test_suggest_refuses_bad_input(diabetes, args, code, message):
    done = diabetes("mappings", "suggest", *args)
    assert done.exit_code == code and message in done.stderr


def test_a_replace_that_would_remove_many_mappings_is_refused_unless_forced(run, tmp_path):
    before = run("mappings", "export").stdout
    two = tmp_path / "two.csv"
    two.write_text(
        HEADER + "ICD-10-CM,C91,leukemia,descendants,0,,,,kept\nICD-10-CM,D47.9,leukemia,descendants,0,,,,new\n"
    )
    dry = run("mappings", "import", str(two), "--mode", "replace", "--dry-run")
    assert dry.exit_code == 0 and "--force" in dry.stderr
    refused = run("mappings", "import", str(two), "--mode", "replace")
    assert refused.exit_code == 1
    assert f"would remove {SEEDED - 1} of {SEEDED} mappings" in refused.stderr and "--force" in refused.stderr
    assert run("mappings", "export").stdout == before  # nothing written
    forced = run("mappings", "import", str(two), "--mode", "replace", "--force")
    assert forced.exit_code == 0 and f"{SEEDED - 1} removed" in forced.stdout
    assert run("mappings", "export").stdout.count("\n") == 3


def test_a_small_replace_needs_no_force(run, tmp_path):
    lines = run("mappings", "export").stdout.splitlines(keepends=True)
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("".join(lines[:-3]))  # three mappings fewer
    done = run("mappings", "import", str(fewer), "--mode", "replace")
    assert done.exit_code == 0 and "3 removed" in done.stdout


def test_list_shows_every_condition_of_a_rule(run, tmp_path):
    path = tmp_path / "kids.csv"
    path.write_text(HEADER + "ICD-10-CM,D47.9,leukemia,exact,7,0.5,12,F,girls under 12\n")
    assert run("mappings", "import", str(path)).exit_code == 0
    listed = run("mappings", "list", "--code", "D47.9", "--code-system", "ICD-10-CM").stdout.splitlines()
    assert listed[0].split("\t") == [
        "id",
        "code_system",
        "code",
        "topic_id",
        "scope",
        "priority",
        "min_age",
        "max_age",
        "gender",
        "reason",
        "audience",
        "task",
        "setting",
        "language",
        "age_group",
    ]
    row = listed[1].split("\t")
    assert row[1:] == ["ICD-10-CM", "D47.9", "leukemia", "exact", "7", "0.5", "12", "F", "girls under 12", *"-" * 5]
    unconditioned = run("mappings", "list", "--code", "K44", "--code-system", "ICD-10-CM").stdout.splitlines()[1]
    cells = unconditioned.split("\t")
    assert cells[6:9] == ["-"] * 3 and cells[10:] == ["-"] * 5


def test_context_limits_import_list_and_export_round_trip(run, tmp_path):
    path = tmp_path / "limited.csv"
    path.write_text(
        HEADER.strip() + LIMITS + "\n"
        "ICD-10-CM,D47.9,leukemia,,,,,,for professionals,prov,oe mlrev,AMB EMER,en,D000328 D008875\n"
        "ICD-10-CM,D47.9,leukemia,,,,,,for patients,PAT,,,,\n"
    )
    assert "2 rules, all valid" in run("mappings", "validate", str(path)).stdout
    dry = run("mappings", "import", str(path), "--dry-run").stdout
    assert "+ ICD-10-CM D47.9 -> leukemia [audience PROV, task MLREV OE, care setting AMB EMER, language en," in dry
    assert "+ ICD-10-CM D47.9 -> leukemia [audience PAT]\n" in dry
    assert "2 added" in run("mappings", "import", str(path)).stdout
    listed = run("mappings", "list", "--code", "D47.9", "--code-system", "ICD-10-CM").stdout.splitlines()
    assert [line.split("\t")[9:] for line in listed[1:]] == [
        ["for professionals", "PROV", "MLREV OE", "AMB EMER", "en", "D000328 D008875"],
        ["for patients", "PAT", "-", "-", "-", "-"],
    ]
    exported = run("mappings", "export").stdout
    assert ",for professionals,PROV,MLREV OE,AMB EMER,en,D000328 D008875\n" in exported
    again = tmp_path / "again.csv"
    again.write_text(exported)
    assert (
        f"0 added, 0 changed, 0 removed, {SEEDED + 2} unchanged"
        in run("mappings", "import", str(again), "--mode", "replace").stdout
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("code_system,code,topic_id,task\nICD-10-CM,D47.9,leukemia,MEDLISTREV\n")
    checked = run("mappings", "validate", str(bad))
    assert checked.exit_code == 1 and "line 2: task: task must be one or more of OE, LABOE" in checked.stderr
