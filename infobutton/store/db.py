"""One database handle for SQLite (the embedded default) and PostgreSQL (shared state).

SQL in the stores is written once with ``?`` placeholders and portable types; this module
adapts the placeholder style, hands each thread its own connection and makes every write a
transaction: all or nothing.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

_PLACEHOLDER = re.compile(r"\?")


class Database:
    """A SQLite file (``sqlite:///path``) or a PostgreSQL server (``postgresql://…``)."""

    def __init__(self, url: str):
        self.url = url
        self.dialect = "postgresql" if url.startswith(("postgresql:", "postgres:")) else "sqlite"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[Any] = []
        if self.dialect == "sqlite":
            path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
            self.path = path or ":memory:"
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)

    def _connect(self):
        if self.dialect == "postgresql":
            import psycopg

            return psycopg.connect(self.url, autocommit=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @property
    def connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(conn, "closed", False):
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def sql(self, text: str) -> str:
        return _PLACEHOLDER.sub("%s", text) if self.dialect == "postgresql" else text

    def execute(self, text: str, params: Sequence = ()):
        return self.connection.execute(self.sql(text), tuple(params))

    def query(self, text: str, params: Sequence = ()) -> list[tuple]:
        return list(self.execute(text, params).fetchall())

    def scalar(self, text: str, params: Sequence = ()) -> Any:
        row = self.execute(text, params).fetchone()
        return row[0] if row else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """BEGIN … COMMIT, or ROLLBACK on any exception (SQLite: BEGIN IMMEDIATE, one writer)."""
        conn = self.connection
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield self
            finally:
                self._local.depth -= 1
            return
        conn.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        self._local.depth = 1
        try:
            yield self
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            self._local.depth = 0

    def executescript(self, script: str) -> None:
        with self.transaction():
            for statement in filter(str.strip, script.split(";")):
                self.execute(statement)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(Exception):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
