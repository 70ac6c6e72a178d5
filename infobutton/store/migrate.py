"""Schema versions: the Alembic revisions in ``infobutton/migrations``, applied under a lock.

``upgrade`` brings any database to the newest revision (head). N processes starting together on
one database all come up: on PostgreSQL they queue on an advisory lock held by the migration
connection; on SQLite on an exclusive ``flock`` of a file beside the database. A database made
by release 0.1.0 (its tables, no ``alembic_version``) is stamped at 0001, the revision that is its
schema, and upgraded from there. Alembic's step-by-step lines ("Running upgrade 0004 -> 0005")
are DEBUG here, and creating the schema of an empty database is too (a first start says it
once, with what the database holds); upgrading a database that had a schema is INFO. Every
function takes a database URL as the service accepts it, a SQLAlchemy Engine, or a Connection
(``upgrade`` ends the transaction of a Connection it is given, committing what it migrated).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.pool import NullPool

from .db import engine_url

log = logging.getLogger(__name__)

SCRIPT_LOCATION = "infobutton:migrations"
LEGACY = "0001"  # the revision whose schema release 0.1.0 made without recording it
# Every table release 0.1.0 leaves (the search structure differs by dialect).
_LEGACY_TABLES = {
    "meta",
    "topics",
    "mapping_rules",
    "mapping_versions",
    "mapping_audit",
    "admin_tokens",
    "admin_signin_failures",
    "mapping_usage",
    "suggestion_rejections",
    "suggestion_audit",
    "cds_feedback",
}
_SEARCH_TABLE = {"sqlite": "topics_fts", "postgresql": "topic_search"}
_PG_LOCK = 0x696E666F62757474  # "infobutt": one advisory lock key for every infobutton database

Target = str | Engine | Connection


def head() -> str:
    """The newest revision this version of infobutton ships."""
    return _scripts().get_current_head() or ""


def current(target: Target) -> str | None:
    """The database's revision; None for an empty database or one release 0.1.0 made."""
    if _no_file(target):
        return None
    with _connection(target) as conn:
        return _revision(conn)


def is_legacy(target: Target) -> bool:
    """True for a database release 0.1.0 made: its tables, and no revision recorded."""
    if _no_file(target):
        return False
    with _connection(target) as conn:
        return _legacy(conn)


def upgrade(target: Target) -> tuple[str | None, str]:
    """Bring the database to head under the migration lock; (revision before, revision after),
    before being None for an empty database and 0001 for one release 0.1.0 made.

    Idempotent: a database at head is left as it is (without waiting for the lock)."""
    with _connection(target) as conn:
        before = _revision(conn)
        conn.rollback()
    if before == head():
        return before, before
    with upgraded(target) as revisions:
        return revisions


@contextlib.contextmanager
def upgraded(target: Target) -> Iterator[tuple[str | None, str]]:
    """Upgrade as ``upgrade`` does, and hold the migration lock until the block ends: what the
    block does (seeding an empty database) is done once however many instances start together.
    The block must not take the lock again (on PostgreSQL that would wait for ever)."""
    with _connection(target) as conn, _locked(conn):
        before = _revision(conn)  # another process may have upgraded it while this one waited
        if before != head():
            _quiet_alembic()
            config = _config(conn)
            if before is None and _legacy(conn):
                log.info("database: tables of release 0.1.0 without a revision; stamping %s", LEGACY)
                command.stamp(config, LEGACY)
                before = LEGACY
            command.upgrade(config, "head")
        after = _revision(conn) or ""
        conn.commit()  # the lock stays; no transaction may (SQLite: the block writes elsewhere)
        if before != after:
            log.log(
                logging.INFO if before else logging.DEBUG,
                "database schema upgraded: %s -> %s",
                before or "empty",
                after,
            )
        yield before, after


class _AtDebug(logging.Filter):
    """Alembic's INFO lines as DEBUG lines, written only where this module's DEBUG lines are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return log.isEnabledFor(logging.DEBUG)


def _quiet_alembic() -> None:
    """Alembic logs every step of a migration at INFO ("Context impl SQLiteImpl.", "Running
    upgrade …"): detail of what ``upgraded`` reports in one line."""
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _AtDebug) for f in migration.filters):
        migration.addFilter(_AtDebug())


def _revision(conn: Connection) -> str | None:
    """What alembic_version records (read directly: a MigrationContext logs at every look)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _legacy(conn: Connection) -> bool:
    tables = set(inspect(conn).get_table_names())
    return "alembic_version" not in tables and _LEGACY_TABLES | {_SEARCH_TABLE[conn.dialect.name]} <= tables


def _no_file(target: Target) -> bool:
    """A SQLite file that is not there yet: looking at it must not create it."""
    if not isinstance(target, str):
        return False
    url = engine_url(target)
    return (
        url.get_backend_name() == "sqlite"
        and url.database not in (None, "", ":memory:")
        and not Path(url.database).exists()
    )


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config(None))


def _config(conn: Connection | None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = conn
    return config


@contextlib.contextmanager
def _connection(target: Target) -> Iterator[Connection]:
    if isinstance(target, Connection):
        yield target
        return
    engine = target if isinstance(target, Engine) else _engine(target)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        if engine is not target:
            engine.dispose()


def _engine(url: str) -> Engine:
    """A one-off engine; on SQLite its transactions really BEGIN, so DDL is all or nothing."""
    sa_url = engine_url(url)
    if sa_url.get_backend_name() == "postgresql":
        return create_engine(sa_url, poolclass=NullPool)
    if sa_url.database not in (None, "", ":memory:"):
        Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(sa_url, poolclass=NullPool, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _driver_autocommit(dbapi_connection, record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # Migrating writes: take the write lock at once rather than fail to upgrade a read lock.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("migrating") else "BEGIN")

    return engine


@contextlib.contextmanager
def _locked(conn: Connection) -> Iterator[None]:
    """Hold the migration lock: one process migrates while the others wait, then find it done."""
    conn.rollback()  # the lock outlives transactions; take it before the migration's own
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK})
        conn.commit()
        try:
            yield
        finally:
            conn.rollback()  # a failed migration leaves its transaction aborted
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK})
            conn.commit()
        return
    path = conn.engine.url.database
    if path in (None, "", ":memory:"):  # one connection's private database: nobody to wait for
        yield
        return
    with open(f"{path}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        conn.info["migrating"] = True
        try:
            yield
        finally:
            conn.info.pop("migrating", None)
            conn.rollback()
            fcntl.flock(lock, fcntl.LOCK_UN)
