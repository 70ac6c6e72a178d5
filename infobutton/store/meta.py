"""Small named values in the ``meta`` table, read and written inside the caller's transaction:
the version counters every worker compares to know when its caches are stale, sync validators,
the catalogue's date-generated."""

from __future__ import annotations

from .db import Database


def get(db: Database, key: str, default: str = "") -> str:
    value = db.scalar("SELECT value FROM meta WHERE key = ?", (key,))
    return default if value is None else str(value)


def put(db: Database, key: str, value: str) -> None:
    """Insert or replace one value (portable: UPDATE, then INSERT when no row was there)."""
    with db.transaction():
        if db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key)).rowcount == 0:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))


def counter(db: Database, key: str) -> int:
    return int(get(db, key, "0"))


def bump(db: Database, key: str) -> int:
    """Increment a version counter inside the caller's transaction, so the change and its version
    commit together.

    One atomic UPDATE: two writers on PostgreSQL cannot both read n and write n + 1 (the row lock
    makes the second wait and re-read); SQLite's BEGIN IMMEDIATE already serialises writers."""
    with db.transaction():
        row = db.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = ? RETURNING value",
            (key,),
        ).fetchone()
    return int(row[0])
