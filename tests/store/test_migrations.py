"""Alembic migrations on real SQLite and PostgreSQL: a 0.1.0 database upgrades with nothing lost,
upgrading is idempotent, and instances starting together on one empty database all come up."""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from alembic import command as alembic_command
from alembic.config import Config
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from infobutton import create_app
from infobutton.cli import main
from infobutton.config import Settings
from infobutton.models import Recipient
from infobutton.store import Database, migrate, open_stores
from infobutton.store.db import engine_url

from ..conftest import POSTGRES_URL, ROOT, icd
from ..test_cli import BIN, free_port, serve_command, wait_ready
from .test_schema import REVISIONS, three_databases
from .test_schema import describe as describe_schema

FIXTURE = ROOT / "tests" / "data" / "db-0.1.0"
# `sqlite3 … .dump` of the database file release 0.1.0 wrote (make.py): text in git, not a binary.
DUMP_010 = FIXTURE / "infobutton-0.1.0.sql"
POSTGRES_010 = FIXTURE / "schema-0.1.0-postgresql.sql"


@functools.cache
def sqlite_010() -> Path:
    """The 0.1.0 database file, restored once per run from its dump (FTS5 shadow tables
    included, byte for byte the rows 0.1.0 wrote). Read-only: tests upgrade copies of it."""
    folder = tempfile.mkdtemp(prefix="infobutton-0.1.0-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    target = Path(folder) / "infobutton-0.1.0.sqlite3"
    with contextlib.closing(sqlite3.connect(target)) as db:
        db.executescript(DUMP_010.read_text(encoding="utf-8"))
    return target


# What make.py put in the 0.1.0 file beyond the seed: the upgrade must keep every one of them.
WRITTEN = (
    "mapping_versions",
    "mapping_audit",
    "admin_tokens",
    "mapping_usage",
    "suggestion_rejections",
    "cds_feedback",
)


# -- helpers -----------------------------------------------------------------------------------


def sqlite_dump(path: Path) -> tuple[dict[str, str], dict[str, list]]:
    """(schema, rows) of every table, index and FTS shadow table but alembic_version."""
    with sqlite3.connect(path) as db:
        schema = {  # as written, up to whitespace (0.1.0 split its scripts keeping some newlines)
            name: sql and " ".join(sql.split())
            for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE tbl_name <> 'alembic_version'")
        }
        tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {t: sorted(db.execute(f'SELECT * FROM "{t}"'), key=repr) for t in tables if t != "alembic_version"}
    db.close()
    return schema, rows


def postgres_dump(url: str) -> tuple[dict, dict[str, list]]:
    """(columns and indexes, rows) of every table in the search path's schema but alembic_version."""
    with psycopg.connect(url) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            )
            if t != "alembic_version"
        ]
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name <> 'alembic_version' ORDER BY 1, 2"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, replace(indexdef, current_schema() || '.', '') FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename <> 'alembic_version' ORDER BY 1"
        ).fetchall()
        rows = {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    return {"columns": columns, "indexes": indexes}, rows


def build_postgres_010(url: str) -> None:
    """A database as 0.1.0 left it: its DDL, then the 0.1.0 fixture file's rows."""
    old = sqlite3.connect(sqlite_010())
    with psycopg.connect(url) as conn:
        conn.execute(POSTGRES_010.read_text())
        conn.execute("DELETE FROM meta")
        for table in ("meta", "topics", "mapping_rules", *WRITTEN, "suggestion_audit", "admin_signin_failures"):
            cursor = old.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            insert = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
            for row in cursor:
                if table == "cds_feedback":  # make.py's '[]' in an INTEGER column: SQLite kept it, PostgreSQL won't
                    row = (*row[:4], row[4] if isinstance(row[4], int) else 0, *row[5:])
                conn.execute(insert, row)
        for table in ("mapping_rules", "mapping_audit", "admin_tokens", "suggestion_audit", "cds_feedback"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1)) FROM {table}")
        conn.execute(  # what 0.1.0's PostgresTopicIndex.put stored, near enough: one document per topic
            "INSERT INTO topic_search (id, document) SELECT id, to_tsvector('english', title) FROM topics"
        )
    old.close()


@contextlib.contextmanager
def other_schema() -> Iterator[str]:
    """The URL of a second throwaway PostgreSQL schema (dropped at the end)."""
    name = "old_" + uuid.uuid4().hex[:12]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def with_revisions(path: Path, target: Path) -> Path:
    """A copy of a SQLite database with the later revisions' DDL (``REVISIONS``) run on it by
    hand: what an upgrade to head must leave."""
    shutil.copy(path, target)
    with sqlite3.connect(target) as db:
        db.executescript(REVISIONS)
    db.close()
    return target


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def copy_010(tmp_path) -> Path:
    target = tmp_path / "data" / "infobutton.sqlite3"
    target.parent.mkdir()
    shutil.copy(sqlite_010(), target)
    return target


@pytest.fixture
def empty_postgres_database(postgres_server):
    """A freshly created PostgreSQL database (not a schema: the race is on a whole empty database)."""
    name = "ib_" + uuid.uuid4().hex[:12]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def answers_c91_00(url: str, data_dir: Path) -> None:
    app = create_app(Settings(data_dir=str(data_dir), database_url=url, version_check_interval=0.0))
    try:
        r = app.test_client().get(
            "/infobutton", query_string={**icd("C91.00"), "knowledgeResponseType": "application/json"}
        )
        assert r.status_code == 200
        titles = [e["title"]["_value"] for e in r.get_json()["feed"]["entry"]]
        assert "Acute Lymphocytic Leukemia" in titles
    finally:
        app.extensions["infobutton"].close()


# -- a database made by release 0.1.0 ----------------------------------------------------------


def test_the_0_1_0_file_holds_what_make_py_wrote():
    """Guards the fixture itself: an unversioned 0.1.0 database with rows in every table."""
    _, rows = sqlite_dump(sqlite_010())
    assert "alembic_version" not in rows
    assert all(rows[t] for t in ("topics", "mapping_rules", "meta", *WRITTEN))
    assert {r[1] for r in rows["admin_tokens"]} == {"librarian", "reader"}
    assert migrate.is_legacy(sqlite_url(sqlite_010())) and migrate.current(sqlite_url(sqlite_010())) is None


def test_a_0_1_0_sqlite_database_upgrades_with_nothing_lost(copy_010, tmp_path):
    url = sqlite_url(copy_010)
    schema, rows = sqlite_dump(with_revisions(copy_010, tmp_path / "expected.sqlite3"))
    assert migrate.upgrade(url) == (migrate.LEGACY, migrate.head())  # stamped, not re-created
    assert migrate.current(url) == migrate.head()
    assert sqlite_dump(copy_010) == (schema, rows)
    assert migrate.upgrade(url) == (migrate.head(), migrate.head())  # twice: nothing to do
    assert sqlite_dump(copy_010) == (schema, rows)
    answers_c91_00(url, tmp_path)


def test_the_0_1_0_tokens_still_work_after_the_upgrade(copy_010, tmp_path, monkeypatch):
    """A token created after the upgrade lists the 0.1.0 ones through the admin API."""
    monkeypatch.setenv("INFOBUTTON_DATABASE_URL", sqlite_url(copy_010))
    runner = CliRunner()
    created = runner.invoke(main, ["admin", "create-token", "--name", "after", "--role", "admin"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    app = create_app(Settings(data_dir=str(tmp_path), database_url=sqlite_url(copy_010), version_check_interval=0.0))
    try:
        r = app.test_client().get("/admin/api/tokens", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        listed = {t["name"]: t["role"] for t in r.get_json()["items"]}
        assert listed == {"librarian": "admin", "reader": "viewer", "after": "admin"}
    finally:
        app.extensions["infobutton"].close()


@pytest.mark.postgres
def test_a_0_1_0_postgresql_database_upgrades_with_nothing_lost(postgres_url, tmp_path):
    build_postgres_010(postgres_url)
    assert migrate.is_legacy(postgres_url)
    assert all(postgres_dump(postgres_url)[1][t] for t in ("topics", "topic_search", *WRITTEN))
    with other_schema() as expected_url:  # what the upgrade must leave: the later revisions by hand
        build_postgres_010(expected_url)
        with psycopg.connect(expected_url) as conn:
            conn.execute(REVISIONS)
        before = postgres_dump(expected_url)
    assert migrate.upgrade(postgres_url) == (migrate.LEGACY, migrate.head())
    assert postgres_dump(postgres_url) == before
    assert migrate.upgrade(postgres_url) == (migrate.head(), migrate.head())
    assert migrate.current(postgres_url) == migrate.head()
    assert postgres_dump(postgres_url) == before
    answers_c91_00(postgres_url, tmp_path)


# -- revision 0001 is the 0.1.0 schema -----------------------------------------------------------


def test_head_on_an_empty_sqlite_database_is_the_0_1_0_schema_and_later_revisions(tmp_path, copy_010):
    url = sqlite_url(tmp_path / "new.sqlite3")
    assert migrate.current(url) is None and not migrate.is_legacy(url)
    assert migrate.upgrade(url) == (None, migrate.head())
    schema, rows = sqlite_dump(tmp_path / "new.sqlite3")
    assert schema == sqlite_dump(with_revisions(copy_010, tmp_path / "expected.sqlite3"))[0]
    assert sorted(rows["meta"]) == [("mapping_version", "0"), ("topic_version", "0")]


@pytest.mark.postgres
def test_head_on_an_empty_postgresql_database_is_the_0_1_0_schema_and_later_revisions(postgres_url):
    migrate.upgrade(postgres_url)
    schema, rows = postgres_dump(postgres_url)
    with other_schema() as old_url:
        with psycopg.connect(old_url) as conn:
            conn.execute(POSTGRES_010.read_text())
            conn.execute(REVISIONS)
        assert schema == postgres_dump(old_url)[0]
    assert sorted(rows["meta"]) == [("mapping_version", "0"), ("topic_version", "0")]


def test_a_database_older_than_a_table_gets_it(tmp_path, copy_010):
    """Development databases from before cds_feedback (which once created itself) are completed."""
    with sqlite3.connect(copy_010) as db:
        db.execute("DROP TABLE cds_feedback")
    db.close()
    url = sqlite_url(copy_010)
    assert not migrate.is_legacy(url)
    assert migrate.upgrade(url) == (None, migrate.head())
    _, rows = sqlite_dump(copy_010)
    assert rows["cds_feedback"] == []
    assert rows["admin_tokens"] == [(*token, 0) for token in sqlite_dump(sqlite_010())[1]["admin_tokens"]]


def test_open_stores_upgrades(tmp_path):
    url = sqlite_url(tmp_path / "s.sqlite3")
    db, topics, mappings = open_stores(url)
    db.close()
    assert migrate.current(url) == migrate.head()


@pytest.mark.parametrize(
    "url, expected",
    [
        ("sqlite:////var/x.sqlite3", "sqlite:////var/x.sqlite3"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_urls_the_service_accepts_all_reach_psycopg_3(url, expected):
    assert str(engine_url(url)) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "/var/x.sqlite3", "postgresql+psycopg2://u@h/db"])
def test_other_database_urls_are_refused(url):
    with pytest.raises(ValueError, match="unsupported database URL scheme"):
        engine_url(url)


def test_upgrade_takes_an_engine_or_a_connection(tmp_path):
    from sqlalchemy import create_engine

    engine = create_engine(sqlite_url(tmp_path / "e.sqlite3"))
    with engine.connect() as conn:
        assert migrate.upgrade(conn) == (None, migrate.head())
    assert migrate.current(engine) == migrate.head()
    engine.dispose()


# -- instances starting together ----------------------------------------------------------------


def _upgrade_together(env: dict, n: int = 3) -> list[str]:
    procs = [
        subprocess.Popen(
            [str(BIN), "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(n)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, [err for _, err in outs]
    return sorted(out.strip() for out, _ in outs)


def _assert_one_upgraded_and_merged(outs: list[str]) -> None:
    """One process upgraded the schema and merged the shipped content as a version; the others
    found both done."""
    schema = sorted(out.splitlines()[0] for out in outs)
    assert schema == [f"{migrate.head()}: already at head"] * 2 + [f"empty -> {migrate.head()}"]
    shipped = sorted(out.splitlines()[1] for out in outs)
    assert shipped[:2] == ["shipped content: already merged"] * 2, outs
    assert shipped[2].startswith("shipped content: version "), outs


def _cli_env(**values: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFOBUTTON_")}
    env.update(values)
    return env


@pytest.mark.postgres
def test_concurrent_db_upgrades_on_an_empty_postgresql_database(empty_postgres_database):
    _assert_one_upgraded_and_merged(_upgrade_together(_cli_env(INFOBUTTON_DATABASE_URL=empty_postgres_database)))
    assert migrate.current(empty_postgres_database) == migrate.head()


def test_concurrent_db_upgrades_on_an_empty_sqlite_database(tmp_path):
    _assert_one_upgraded_and_merged(_upgrade_together(_cli_env(INFOBUTTON_DATA_DIR=str(tmp_path / "data"))))


@pytest.mark.gunicorn
@pytest.mark.postgres
def test_two_instances_started_together_on_an_empty_postgresql_database_both_come_up(empty_postgres_database, tmp_path):
    env = _cli_env(INFOBUTTON_DATABASE_URL=empty_postgres_database, INFOBUTTON_DATA_DIR=str(tmp_path))
    ports = [free_port(), free_port()]
    logs = [open(tmp_path / f"server-{port}.log", "w+") for port in ports]  # noqa: SIM115 - servers write all test long
    procs = [
        subprocess.Popen(
            serve_command(port, 2),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    try:
        for port, proc, log in zip(ports, procs, logs, strict=True):
            try:
                wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
            except AssertionError:
                log.seek(0)
                raise AssertionError(log.read()[-4000:]) from None
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, log in zip(procs, logs, strict=True):
            proc.wait(timeout=60)
            log.close()
    assert migrate.current(empty_postgres_database) == migrate.head()


# -- packaging ------------------------------------------------------------------------------------


@pytest.mark.packaging
def test_the_wheel_carries_the_migrations(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("infobutton-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).relative_to("infobutton/migrations").as_posix() for n in names if "/migrations/" in n}
    here = {
        p.relative_to(ROOT / "infobutton" / "migrations").as_posix()
        for p in (ROOT / "infobutton" / "migrations").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert here <= shipped and "env.py" in shipped


# -- revision 0005: mapping rules limited to a context ---------------------------------------------


def _alembic(url: str, verb, revision: str) -> None:
    """Run one Alembic command (upgrade or downgrade to ``revision``) on a database URL."""
    engine = create_engine(engine_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            config = Config()
            config.set_main_option("script_location", migrate.SCRIPT_LOCATION)
            config.attributes["connection"] = conn
            getattr(alembic_command, verb)(config, revision)
            conn.commit()
    finally:
        engine.dispose()


RULES_0004 = [  # (id, code_system, code, topic_id, scope, priority, min_age, max_age, gender, reason)
    (1, "ICD10CM", "C91", "leukemia", "descendants", 5, None, None, None, "family"),
    (2, "ICD10CM", "E11", "diabetestype2", "exact", 0, 18.0, None, "F", ""),
    (3, "ICD10CM", "E11", "diabetestype2", "exact", 0, 0.0, 18.0, None, "children"),
]


def _rules_0004(url: str) -> list[tuple]:
    db = Database(url)
    try:
        return sorted(tuple(r) for r in db.query(text("SELECT " + ", ".join(COLUMNS_0004) + " FROM mapping_rules")))
    finally:
        db.close()


def _schema(url: str) -> dict:
    db = Database(url)
    try:
        return describe_schema(db)
    finally:
        db.close()


COLUMNS_0004 = ("id", "code_system", "code", "topic_id", "scope", "priority", "min_age", "max_age", "gender", "reason")


def test_0005_upgrades_a_0004_database_keeping_every_rule_and_downgrades(database_url, tmp_path):
    """From 0004 every rule is kept, with no limits (so it matches what it matched); rules that
    differ only by a limit can then coexist; the downgrade gives back 0004's schema exactly and
    keeps every rule without a limit (a limited rule cannot be written without it: its snapshot
    keeps it)."""
    with three_databases(database_url, tmp_path) as (url, fresh_0004, _):
        _alembic(url, "upgrade", "0004")
        db = Database(url)
        with db.transaction():
            for row in RULES_0004:
                db.execute(
                    text(
                        "INSERT INTO mapping_rules ("
                        + ", ".join(COLUMNS_0004)
                        + ") VALUES ("
                        + ", ".join(f":{c}" for c in COLUMNS_0004)
                        + ")"
                    ),
                    dict(zip(COLUMNS_0004, row, strict=True)),
                )
            if db.dialect == "postgresql":  # as the rows' writer would have left the sequence
                db.execute(text("SELECT setval(pg_get_serial_sequence('mapping_rules', 'id'), 3)"))
        db.close()
        assert migrate.upgrade(url) == ("0004", migrate.head()) and migrate.head() == "0005"
        db, _, store = open_stores(url)
        try:
            rules = store.rules()
            assert [(r.id, r.code, r.min_age, r.gender and r.gender.value) for r in rules] == [
                (1, "C91", None, None),
                (2, "E11", 18.0, "F"),
                (3, "E11", 0.0, None),
            ]
            assert all(not (r.audiences or r.tasks or r.settings or r.languages or r.age_groups) for r in rules)
            limited = store.insert(replace(rules[0], id=None, audiences=(Recipient.PROVIDER,), tasks=("OE",)))
            assert store.rules() == [*rules, limited]
        finally:
            db.close()
        _alembic(url, "downgrade", "0004")
        assert migrate.current(url) == "0004"
        assert _rules_0004(url) == sorted(RULES_0004)
        _alembic(fresh_0004, "upgrade", "0004")
        assert _schema(url) == _schema(fresh_0004)
        assert migrate.upgrade(url) == ("0004", "0005")  # and up again
        assert _rules_0004(url) == sorted(RULES_0004)


def test_a_first_migration_keeps_alembic_steps_at_debug(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    with caplog.at_level(logging.INFO):
        assert migrate.upgrade(url) == (None, migrate.head())
    assert [r for r in caplog.records if r.name.startswith("alembic") or r.name == "infobutton.store.migrate"] == []
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        migrate.upgrade(f"sqlite:///{tmp_path / 'second.sqlite3'}")
    steps = [r for r in caplog.records if r.name == "alembic.runtime.migration"]
    assert any("Running upgrade" in r.getMessage() for r in steps)
    assert {r.levelname for r in steps} == {"DEBUG"}
