"""`infobutton db current` and `infobutton db upgrade` on a real SQLite file."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from infobutton.cli import main
from infobutton.store import migrate

from .test_migrations import sqlite_010

HEAD = migrate.head()


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBUTTON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("INFOBUTTON_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    return invoke


def test_current_and_upgrade_on_an_empty_database(run, tmp_path):
    assert run("db", "current") == f"none (empty: `infobutton db upgrade` creates revision {HEAD})"
    assert not (tmp_path / "data" / "infobutton.sqlite3").exists()  # looking created nothing
    schema, shipped = run("db", "upgrade").splitlines()
    assert schema == f"empty -> {HEAD}"
    assert shipped.startswith("shipped content: version 1: rules ")  # the first seed
    assert run("db", "current") == f"{HEAD} (head)"
    assert run("db", "upgrade").splitlines() == [f"{HEAD}: already at head", "shipped content: already merged"]


def test_a_0_1_0_database(run, tmp_path):
    (tmp_path / "data").mkdir()
    shutil.copy(sqlite_010(), tmp_path / "data" / "infobutton.sqlite3")
    assert run("db", "current") == "none (a release 0.1.0 database: `infobutton db upgrade` stamps it 0001)"
    schema, shipped = run("db", "upgrade").splitlines()
    assert schema == f"release 0.1.0 (stamped 0001) -> {HEAD}"
    assert shipped.startswith("shipped content: version 5: rules ")  # after its four versions
    assert run("db", "current") == f"{HEAD} (head)"


def test_the_database_url_variable_wins(run, tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBUTTON_DATABASE_URL", f"sqlite:///{tmp_path}/elsewhere.sqlite3")
    assert run("db", "upgrade").splitlines()[0] == f"empty -> {HEAD}"
    assert (tmp_path / "elsewhere.sqlite3").exists() and not (tmp_path / "data").exists()
