"""Commands reach the services through the app factory, built only when a command runs."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from click.testing import CliRunner

from infobutton.cli import main


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["mappings", "--help"],
        ["mappings", "import", "--help"],
        ["admin", "create-token", "--help"],
        ["topics", "sync", "--help"],
    ],
)
def test_help_builds_nothing(tmp_path, args):
    data = tmp_path / "data"
    result = CliRunner().invoke(main, args, env={"INFOBUTTON_DATA_DIR": str(data), "INFOBUTTON_DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert not data.exists()  # no database opened, created or seeded


def counts(path) -> tuple[int, int]:
    with closing(sqlite3.connect(path)) as db:
        return tuple(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("topics", "mapping_rules"))


def test_mapping_commands_seed_an_empty_database_and_topics_commands_do_not(tmp_path):
    runner = CliRunner()
    seeded, bare = tmp_path / "seeded", tmp_path / "bare"
    listed = runner.invoke(
        main,
        ["mappings", "list", "--limit", "1"],
        env={"INFOBUTTON_DATA_DIR": str(seeded), "INFOBUTTON_DATABASE_URL": ""},
    )
    assert listed.exit_code == 0 and listed.stdout.count("\n") == 2  # the header and one rule
    topics, rules = counts(seeded / "infobutton.sqlite3")
    assert topics > 0 and rules > 0  # as serve does on first start
    synced = runner.invoke(
        main,
        ["topics", "sync", "--url", "http://127.0.0.1:9/none.xml"],
        env={"INFOBUTTON_DATA_DIR": str(bare), "INFOBUTTON_DATABASE_URL": ""},
    )
    assert synced.exit_code == 1 and "sync failed" in synced.output
    assert counts(bare / "infobutton.sqlite3") == (0, 0)  # an import into it holds only what it imports
