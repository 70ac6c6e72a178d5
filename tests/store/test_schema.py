"""``store.schema``'s tables and the Alembic head are the tables release 0.1.0 created by hand: the same columns,
types, nullability, defaults, keys and indexes, on SQLite and on PostgreSQL."""

import contextlib
import re
import uuid
import warnings
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import SAWarning

from infobutton.store import Database
from infobutton.store.migrate import upgrade
from infobutton.store.schema import metadata

from ..conftest import POSTGRES_URL

# The DDL of release 0.1.0 (infobutton/store/{schema,history,tokens,usage,rejections,cds_feedback}.py),
# verbatim but for the one placeholder.
LEGACY = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS topics (
    id TEXT PRIMARY KEY,
    language TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    data TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS topics_url ON topics (url);
CREATE TABLE IF NOT EXISTS mapping_rules (
    id {id},
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT 'descendants',
    priority INTEGER NOT NULL DEFAULT 0,
    min_age REAL,
    max_age REAL,
    gender TEXT,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS mapping_rules_unique ON mapping_rules (
    code_system, code, topic_id, scope,
    COALESCE(min_age, -1), COALESCE(max_age, -1), COALESCE(gender, '')
);
CREATE INDEX IF NOT EXISTS mapping_rules_code ON mapping_rules (code_system, code);
CREATE TABLE IF NOT EXISTS mapping_versions (
    n INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    rule_count INTEGER NOT NULL,
    rules TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mapping_audit (
    id {id},
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    mapping_id INTEGER,
    before TEXT,
    after TEXT,
    reason TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS mapping_audit_mapping ON mapping_audit (mapping_id);
CREATE INDEX IF NOT EXISTS mapping_audit_version ON mapping_audit (version);
CREATE TABLE IF NOT EXISTS admin_tokens (
    id {id},
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
CREATE TABLE IF NOT EXISTS admin_signin_failures (
    client TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS admin_signin_failures_client ON admin_signin_failures (client, at);
CREATE TABLE IF NOT EXISTS mapping_usage (
    day TEXT NOT NULL,
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    unmatched INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, code_system, code)
);
CREATE TABLE IF NOT EXISTS suggestion_rejections (
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (code_system, code, topic_id)
);
CREATE TABLE IF NOT EXISTS suggestion_audit (
    id {id},
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS cds_feedback (
    id {id},
    service_id TEXT NOT NULL,
    card_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    accepted_suggestions INTEGER NOT NULL DEFAULT 0,
    override_system TEXT,
    override_code TEXT,
    outcome_timestamp TEXT,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cds_feedback_card ON cds_feedback (card_id)
"""
# What the revisions after 0001 add to 0.1.0's schema, as hand-written DDL (0002: an index for
# CDS feedback retention; 0003: sessions that end server-side, failures counted atomically;
# 0004: CDS Hooks token ids every worker shares; 0005: mapping rules limited to a context, and
# the unique index over those limits too).
REVISIONS = """
CREATE INDEX cds_feedback_received ON cds_feedback (received_at);
ALTER TABLE admin_tokens ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS auth_failures (
    key TEXT NOT NULL PRIMARY KEY,
    first_at BIGINT NOT NULL,
    failures INTEGER NOT NULL
);
CREATE TABLE cds_token_uses (
    iss TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (iss, jti)
);
CREATE INDEX cds_token_uses_expires ON cds_token_uses (expires_at);
ALTER TABLE mapping_rules ADD COLUMN audiences TEXT NOT NULL DEFAULT '';
ALTER TABLE mapping_rules ADD COLUMN tasks TEXT NOT NULL DEFAULT '';
ALTER TABLE mapping_rules ADD COLUMN settings TEXT NOT NULL DEFAULT '';
ALTER TABLE mapping_rules ADD COLUMN languages TEXT NOT NULL DEFAULT '';
ALTER TABLE mapping_rules ADD COLUMN age_groups TEXT NOT NULL DEFAULT '';
DROP INDEX mapping_rules_unique;
CREATE UNIQUE INDEX mapping_rules_unique ON mapping_rules (
    code_system, code, topic_id, scope,
    COALESCE(min_age, -1), COALESCE(max_age, -1), COALESCE(gender, ''),
    audiences, tasks, settings, languages, age_groups
)
"""
_ID = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "BIGSERIAL PRIMARY KEY"}


def describe(db: Database) -> dict:
    """Everything a schema says about each table, in comparable form."""
    with db.connection() as conn, warnings.catch_warnings():
        # SQLite's expression index cannot be reflected (SAWarning); ``_indexes`` reads its SQL
        warnings.simplefilter("ignore", SAWarning)
        inspector = inspect(conn)
        tables = {}
        for table in sorted(metadata.tables):
            columns = [
                (c["name"], str(c["type"]), c["nullable"], _default(c.get("default")))
                for c in inspector.get_columns(table)
            ]
            indexes = _indexes(conn, inspector, table)
            uniques = sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table))
            pk = tuple(inspector.get_pk_constraint(table)["constrained_columns"])
            tables[table] = {"columns": columns, "indexes": indexes, "unique": uniques, "pk": pk}
        if db.dialect == "sqlite":  # AUTOINCREMENT is not reflected: read it from the table's SQL
            for table, sql in conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'"):
                if table in tables:
                    tables[table]["autoincrement"] = "AUTOINCREMENT" in sql.upper()
    return tables


def _default(value) -> str | None:
    """A server default without the engine's casts and quoting style ('x'::text → 'x')."""
    return None if value is None else re.sub(r"::\w+", "", str(value)).strip("()")


def _indexes(conn, inspector, table: str) -> list:
    """(name, definition) of each index; SQLAlchemy does not reflect SQLite's expression
    indexes, so there the definition is the index's own SQL."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
        )
        return sorted((name, _flat(sql.replace("IF NOT EXISTS", ""))) for name, sql in rows)
    rows = conn.exec_driver_sql(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND schemaname = current_schema()", (table,)
    )
    return sorted((name, _flat(definition)) for name, definition in rows)


def _flat(sql: str) -> str:
    """SQL without whitespace, quotes or the schema name, lower case."""
    return re.sub(r'[\s"]|\bt_\w+\.', "", sql).lower()


@contextlib.contextmanager
def three_databases(database_url: str, tmp_path) -> Iterator[tuple[str, str, str]]:
    """Three empty databases of the test's engine: SQLite files, or PostgreSQL schemas."""
    if database_url.startswith("sqlite"):
        yield tuple(f"sqlite:///{tmp_path}/{n}.sqlite3" for n in ("legacy", "head", "metadata"))
        return
    schemas = ["t_" + uuid.uuid4().hex[:12] for _ in range(2)]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield (database_url, *(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{s}" for s in schemas))
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _described(url: str, build) -> dict:
    db = Database(url)
    try:
        build(db)
        return describe(db)
    finally:
        db.close()


def _create_all(db: Database) -> None:
    with db.transaction(), db.connection() as conn:
        metadata.create_all(conn)


def test_release_0_1_0s_ddl_the_alembic_head_and_the_table_objects_agree(database_url, tmp_path):
    """Three schemas, built three ways, are one: 0.1.0's hand-written DDL plus what later
    revisions add (``REVISIONS``), the Alembic revisions at head (what every database gets), and
    ``store.schema.metadata`` (what the stores query)."""
    script = LEGACY + ";" + REVISIONS
    with three_databases(database_url, tmp_path) as (legacy_url, head_url, metadata_url):
        legacy = _described(legacy_url, lambda db: db.executescript(script.format(id=_ID[db.dialect])))
        head = _described(head_url, lambda db: upgrade(db.engine))
        declared = _described(metadata_url, _create_all)
    assert set(legacy) == set(head) == set(declared) == set(metadata.tables)
    for table in legacy:
        assert head[table] == legacy[table], table
        assert declared[table] == legacy[table], table
    unique = dict(head["mapping_rules"]["indexes"])["mapping_rules_unique"]
    assert "createuniqueindex" in unique
    assert all(f"coalesce({column}," in unique for column in ("min_age", "max_age", "gender"))
    assert unique.endswith("audiences,tasks,settings,languages,age_groups)")


@pytest.mark.parametrize("name", sorted(metadata.tables))
def test_every_table_has_a_primary_key_or_is_the_failures_log(name):
    assert metadata.tables[name].primary_key.columns or name == "admin_signin_failures"
