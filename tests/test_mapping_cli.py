"""`infobutton admin …` and `infobutton mappings …` against a real SQLite file."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from infobutton import bundled
from infobutton.cli import main

SEEDED = len(bundled.load_rules())  # rules a fresh database is seeded with
HEADER = "code_system,code,topic_id,scope,priority,min_age,max_age,gender,reason\n"


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
    assert exported.startswith(HEADER) and exported.count("\n") == SEEDED + 1
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


def test_validate_and_a_bad_import_writes_nothing(run, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "ICD-10-CM,D47.9,leukemia,,,,,,\nICD-10-CM,C99.99,leukemia,,,,,,\n"
                   "SNOMED CT,93143008,leukemia,exact,,,,,\n")
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
