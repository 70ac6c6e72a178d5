"""Small named values in the ``meta`` table, read and written inside the caller's transaction:
the version counters every worker compares to know when its caches are stale, sync validators,
the catalogue's date-generated."""

from __future__ import annotations

from sqlalchemy import Integer, Text, cast, insert, select, update

from .db import Database
from .schema import meta as table


def get(db: Database, key: str, default: str = "") -> str:
    value = db.scalar(select(table.c.value).where(table.c.key == key))
    return default if value is None else str(value)


def put(db: Database, key: str, value: str) -> None:
    """Insert or replace one value (portable: UPDATE, then INSERT when no row was there)."""
    with db.transaction():
        if db.execute(update(table).where(table.c.key == key).values(value=value)).rowcount == 0:
            db.execute(insert(table).values(key=key, value=value))


def counter(db: Database, key: str) -> int:
    return int(get(db, key, "0"))


def bump(db: Database, key: str) -> int:
    """Increment a version counter inside the caller's transaction, so the change and its version
    commit together.

    One atomic UPDATE: two writers on PostgreSQL cannot both read n and write n + 1 (the row lock
    makes the second wait and re-read); SQLite's BEGIN IMMEDIATE already serialises writers."""
    with db.transaction():
        row = db.execute(
            update(table)
            .where(table.c.key == key)
            .values(value=cast(cast(table.c.value, Integer) + 1, Text))
            .returning(table.c.value)
        ).fetchone()
    return int(row[0])
