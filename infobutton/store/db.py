"""One database handle for SQLite (the embedded default) and PostgreSQL (shared state), on a
pooled SQLAlchemy engine.

Connections are taken from the pool for one statement, or for one transaction, and given back:
none is pinned to a thread, so a connection PostgreSQL dropped is noticed at checkout
(``pool_pre_ping``) and replaced. Every write is a transaction: all or nothing. A read that fails
because its connection died is tried once more on a fresh one; a write is not (the caller decides
whether repeating it is safe).

Stores use SQLAlchemy Core statements (``store.schema``); text SQL with ``?`` placeholders is
still accepted, for callers outside the stores.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.sql import Executable

from ..config import DATABASE_SCHEMES

log = logging.getLogger(__name__)

APPLICATION_NAME = "infobutton"
# gunicorn gthread runs 4 threads per worker; a few more for the sync scheduler and usage flushes.
POOL_SIZE = 4
MAX_OVERFLOW = 4
# Waits inside a request, each well below serve's request deadline (30 s) and graceful timeout
# (35 s): a request that meets one gets a 503 (web.errors), not a killed worker.
POOL_TIMEOUT = 10  # seconds for a pooled connection
SQLITE_BUSY_SECONDS = 20  # seconds for SQLite's write lock (a request waits behind an import)
POSTGRES_CONNECT_TIMEOUT = 5  # seconds to open a connection (a host that drops packets)

_PLACEHOLDER = re.compile(r"\?")
# rowcount of every statement (an INSERT … ON CONFLICT DO NOTHING too), read before the result closes.
_ROWCOUNT = {"preserve_rowcount": True}


def engine_url(url: str) -> URL:
    """The SQLAlchemy URL for a database URL in one of ``config.DATABASE_SCHEMES`` (PostgreSQL through psycopg 3);
    ValueError naming the scheme otherwise."""
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme not in DATABASE_SCHEMES:
        accepted = ", ".join(f"{s}://" for s in DATABASE_SCHEMES)
        raise ValueError(f"unsupported database URL scheme {scheme or url!r}: use one of {accepted}")
    if scheme == "sqlite":
        return make_url(url)
    return make_url("postgresql+psycopg://" + url.partition("://")[2])


def redacted(url: str) -> str:
    """The database URL fit for a log or a terminal: any password shown as ``***``."""
    return make_url(url).render_as_string(hide_password=True)


class Rows:
    """A statement's rows, read before the connection went back to the pool, and its row count."""

    __slots__ = ("_rows", "_next", "rowcount")

    def __init__(self, rows: list, rowcount: int):
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest

    def scalar(self) -> Any:
        row = self.fetchone()
        return row[0] if row is not None else None

    def __iter__(self) -> Iterator:
        return iter(self.fetchall())


class Database:
    """A SQLite file (``sqlite:///path``; ``sqlite://`` in memory) or a PostgreSQL server
    (``postgresql://``, ``postgres://``, ``postgresql+psycopg://``)."""

    def __init__(self, url: str):
        self.url = url
        target = engine_url(url)
        self.dialect = "sqlite" if target.get_backend_name() == "sqlite" else "postgresql"
        self._local = threading.local()
        if self.dialect == "sqlite":
            self.engine = self._sqlite_engine(target)
        else:
            self.engine = self._postgres_engine(target)

    # -- engines -----------------------------------------------------------------------------

    @staticmethod
    def _sqlite_engine(target: URL) -> Engine:
        path = target.database or ""
        memory = path in ("", ":memory:")
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # The driver runs in autocommit: a read is one statement, a write transaction starts
        # with an explicit BEGIN IMMEDIATE (``transaction``), so two writers queue for the lock
        # (busy timeout) instead of failing on upgrade. A file connection cannot be dropped by
        # a server, so no pre-ping; an in-memory database keeps one connection per thread.
        options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT", "hide_parameters": True}
        if not memory:
            options.update(pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW, pool_timeout=POOL_TIMEOUT)
        engine = create_engine(
            target, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}, **options
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
            cursor.close()

        return engine

    @staticmethod
    def _postgres_engine(target: URL) -> Engine:
        connect_args: dict[str, Any] = (
            {} if "application_name" in target.query else {"application_name": APPLICATION_NAME}
        )
        if "connect_timeout" not in target.query:
            connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT
        return create_engine(
            target,
            isolation_level="AUTOCOMMIT",  # explicit BEGIN … COMMIT in ``transaction``
            hide_parameters=True,  # errors and logs never carry values (codes, patient context)
            pool_pre_ping=True,
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
            pool_timeout=POOL_TIMEOUT,
            connect_args=connect_args,
        )

    # -- statements --------------------------------------------------------------------------

    def sql(self, text: str) -> str:
        """Text SQL with ``?`` placeholders in the driver's own style."""
        return _PLACEHOLDER.sub("%s", text) if self.dialect == "postgresql" else text

    def _exec(self, conn: Connection, statement: str | Executable, params: Sequence | Mapping | list[Mapping]) -> Rows:
        if isinstance(statement, str):
            sql = self.sql(statement)
            result = conn.exec_driver_sql(sql, tuple(params) if params else None, _ROWCOUNT)
        else:
            # a list of parameter sets is one executemany
            bound = params if isinstance(params, list) else dict(cast(Mapping, params))
            result = conn.execute(statement, bound or None, execution_options=_ROWCOUNT)
        rows = list(result.fetchall()) if result.returns_rows else []
        return Rows(rows, result.rowcount)

    def _run(self, statement: str | Executable, params: Sequence | Mapping | list[Mapping], *, retry: bool) -> Rows:
        outer = getattr(self._local, "conn", None)
        if outer is not None:  # inside this thread's transaction: its connection, never retried
            return self._exec(outer, statement, params)
        try:
            with self.engine.connect() as conn:
                return self._exec(conn, statement, params)
        except DBAPIError as exc:
            if not (retry and exc.connection_invalidated):
                raise
            log.warning("database connection lost (%s); retrying once on a new one", type(exc.orig).__name__)
        with self.engine.connect() as conn:
            return self._exec(conn, statement, params)

    def execute(
        self, statement: str | Executable, params: Sequence | Mapping | list[Mapping] = (), *, retry: bool = False
    ) -> Rows:
        """Run one statement (its own transaction unless inside ``transaction``). ``retry=True``
        for a statement safe to run twice: it is repeated once if its connection was lost."""
        return self._run(statement, params, retry=retry)

    def query(self, statement: str | Executable, params: Sequence | Mapping | list[Mapping] = ()) -> list:
        """All rows of a read (tried once more on a fresh connection if the first one died)."""
        return self._run(statement, params, retry=True).fetchall()

    def scalar(self, statement: str | Executable, params: Sequence | Mapping | list[Mapping] = ()) -> Any:
        """The first column of the first row of a read, or None."""
        return self._run(statement, params, retry=True).scalar()

    def one(self, statement: str | Executable, params: Sequence | Mapping | list[Mapping] = ()) -> Any:
        """The first row of a read, or None."""
        return self._run(statement, params, retry=True).fetchone()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """BEGIN … COMMIT on one pooled connection, or ROLLBACK on any exception (SQLite: BEGIN
        IMMEDIATE, one writer at a time). Nested in the same thread, the outer one is reused:
        everything commits together or not at all."""
        if getattr(self._local, "conn", None) is not None:
            yield self
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
            self._local.conn = conn
            try:
                yield self
            except BaseException:
                with contextlib.suppress(SQLAlchemyError):  # a dead connection has nothing to undo
                    conn.exec_driver_sql("ROLLBACK")
                raise
            else:
                conn.exec_driver_sql("COMMIT")
            finally:
                self._local.conn = None

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """The SQLAlchemy connection of this thread's transaction, or a pooled one for the block
        (DDL, Alembic): given back to the pool at the end."""
        outer = getattr(self._local, "conn", None)
        if outer is not None:
            yield outer
            return
        with self.engine.connect() as conn:
            yield conn

    def executescript(self, script: str) -> None:
        with self.transaction():
            for statement in filter(str.strip, script.split(";")):
                self.execute(statement)

    def close(self) -> None:
        """Close every pooled connection (a stopping worker; the engine may be used again)."""
        self.engine.dispose()
