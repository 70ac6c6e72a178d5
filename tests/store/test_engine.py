"""The pooled engine behind ``Database``: URL schemes, connections given back to the pool, a
connection PostgreSQL dropped replaced without an error, nested transactions all or nothing."""

import logging
import threading

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError

from infobutton.config import DATABASE_SCHEMES
from infobutton.store import Database
from infobutton.store.db import SQLITE_BUSY_SECONDS, engine_url
from infobutton.store.migrate import upgrade

from ..conftest import POSTGRES_URL, wait_until


@pytest.fixture
def db(database_url):
    upgrade(database_url)
    db = Database(database_url)
    yield db
    db.close()


def test_unknown_scheme_is_refused_naming_it():
    for url in ("mysql://u@h/db", "postgresql+psycopg2://u@h/db", "./infobutton.sqlite3"):
        with pytest.raises(ValueError, match="unsupported database URL scheme") as caught:
            Database(url)
        assert url.partition("://")[0] in str(caught.value)
    assert set(DATABASE_SCHEMES) == {"sqlite", "postgresql", "postgres", "postgresql+psycopg"}


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_every_postgresql_scheme_reaches_postgresql_through_psycopg_3(scheme, postgres_url):
    url = scheme + "://" + postgres_url.partition("://")[2]
    assert engine_url(url).drivername == "postgresql+psycopg"
    db = Database(url)
    try:
        assert db.dialect == "postgresql"
        assert db.scalar("SELECT current_setting('application_name')") == "infobutton"
    finally:
        db.close()


def test_sqlite_urls_and_pragmas(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/a/b.sqlite3")  # the parent directory is created
    try:
        assert db.dialect == "sqlite" and (tmp_path / "a").is_dir()
        assert db.scalar("PRAGMA journal_mode") == "wal"
        assert db.scalar("PRAGMA foreign_keys") == 1
        assert db.scalar("PRAGMA busy_timeout") == SQLITE_BUSY_SECONDS * 1000
    finally:
        db.close()
    memory = Database("sqlite://")
    assert memory.scalar("SELECT 1") == 1
    memory.close()


def test_connections_go_back_to_the_pool(db):
    for _ in range(50):
        db.scalar("SELECT 1")
    threads = [threading.Thread(target=lambda: db.query("SELECT 1")) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert db.engine.pool.checkedout() == 0


def test_nested_transaction_shares_the_outer_one_and_rolls_back_with_it(db):
    with pytest.raises(RuntimeError), db.transaction():
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("outer", "1"))
        with db.transaction():
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("inner", "1"))
            # the inner block sees the outer block's uncommitted row: one connection
            assert db.scalar("SELECT value FROM meta WHERE key = ?", ("outer",)) == "1"
        raise RuntimeError("after the inner block")
    assert db.query("SELECT key FROM meta WHERE key IN ('outer', 'inner')") == []
    assert db.engine.pool.checkedout() == 0


def test_a_unique_violation_is_an_integrity_error_and_leaves_nothing(db):
    with pytest.raises(IntegrityError), db.transaction():
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("k", "1"))
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("k", "2"))
    assert db.scalar("SELECT COUNT(*) FROM meta WHERE key = 'k'") == 0


def test_two_writers_take_turns(db):
    """SQLite: BEGIN IMMEDIATE makes the second writer wait for the lock instead of failing."""
    db.execute("INSERT INTO meta (key, value) VALUES ('n', '0')")
    barrier = threading.Barrier(4)
    errors = []

    def writer():
        barrier.wait()
        try:
            for _ in range(10):
                with db.transaction():
                    n = int(db.scalar("SELECT value FROM meta WHERE key = 'n'"))
                    db.execute("UPDATE meta SET value = ? WHERE key = 'n'", (str(n + 1),))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    if db.dialect == "sqlite":  # PostgreSQL's READ COMMITTED may lose an update here; SQLite's lock may not
        assert db.scalar("SELECT value FROM meta WHERE key = 'n'") == "40"


def _backend_pids(db) -> set[int]:
    """The server pids of the connections idle in this database's pool."""
    pids = set()
    conns = [db.engine.connect() for _ in range(2)]  # two at once: two distinct connections
    for conn in conns:
        pids.add(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
    for conn in conns:
        conn.close()
    return pids


@pytest.mark.postgres
def test_a_connection_postgresql_dropped_is_replaced(postgres_url):
    upgrade(postgres_url)
    db = Database(postgres_url)
    try:
        pids = _backend_pids(db)
        assert db.engine.pool.checkedin() >= 2
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # pre-ping at checkout (or the one retry of a read) replaces the dead connections
        for _ in range(5):
            assert db.scalar("SELECT value FROM meta WHERE key = 'mapping_version'") == "0"
        assert db.scalar("SELECT pg_backend_pid()") not in pids
        with db.transaction():  # and writes work again
            db.execute("UPDATE meta SET value = '1' WHERE key = 'mapping_version'")
        assert db.scalar("SELECT value FROM meta WHERE key = 'mapping_version'") == "1"
    finally:
        db.close()


def _terminate(pid: int) -> None:
    """Terminate one backend and wait until it is gone."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        gone = lambda: not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()  # noqa: E731
        wait_until(gone, what=f"backend {pid} to go")


@pytest.mark.postgres
def test_a_read_on_a_connection_killed_after_checkout_is_retried_once(postgres_url, caplog):
    """The window pre-ping cannot close: the connection dies between checkout and the query."""
    db = Database(postgres_url)
    try:
        killed = []

        @event.listens_for(db.engine, "before_cursor_execute")
        def kill_once(conn, cursor, statement, parameters, context, executemany):
            if statement.startswith("SELECT 'payload'") and not killed:
                pid = conn.connection.dbapi_connection.info.backend_pid
                _terminate(pid)
                killed.append(pid)

        with caplog.at_level(logging.WARNING, logger="infobutton.store.db"):
            assert db.scalar("SELECT 'payload'") == "payload"
        assert len(killed) == 1 and "retrying once" in caplog.text
    finally:
        db.close()


@pytest.mark.postgres
def test_a_write_on_a_killed_connection_is_not_repeated(postgres_url):
    upgrade(postgres_url)
    db = Database(postgres_url)
    try:
        killed = []

        @event.listens_for(db.engine, "before_cursor_execute")
        def kill_once(conn, cursor, statement, parameters, context, executemany):
            if statement.startswith("INSERT INTO meta") and not killed:
                pid = conn.connection.dbapi_connection.info.backend_pid
                _terminate(pid)
                killed.append(pid)

        with pytest.raises(DBAPIError) as caught:
            db.execute("INSERT INTO meta (key, value) VALUES ('once', '1')")
        assert caught.value.connection_invalidated
        assert db.scalar("SELECT COUNT(*) FROM meta WHERE key = 'once'") == 0
    finally:
        db.close()
