"""Version counters in the ``meta`` table: every committed change bumps one, and every worker
compares it cheaply to know when its caches are stale."""

from __future__ import annotations

from .db import Database


def read(db: Database, key: str) -> int:
    return int(db.scalar("SELECT value FROM meta WHERE key = ?", (key,)) or 0)


def bump(db: Database, key: str) -> int:
    """Increment inside the caller's transaction, so the change and its version commit together.

    One atomic UPDATE: two writers on PostgreSQL cannot both read n and write n + 1 (the row lock
    makes the second wait and re-read); SQLite's BEGIN IMMEDIATE already serialises writers."""
    with db.transaction():
        row = db.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = ? RETURNING value",
            (key,),
        ).fetchone()
    return int(row[0])
