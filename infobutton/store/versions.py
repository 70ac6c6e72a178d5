"""Version counters in the ``meta`` table: every committed change bumps one, and every worker
compares it cheaply to know when its caches are stale."""

from __future__ import annotations

from .db import Database


def read(db: Database, key: str) -> int:
    return int(db.scalar("SELECT value FROM meta WHERE key = ?", (key,)) or 0)


def bump(db: Database, key: str) -> int:
    """Increment inside the caller's transaction, so the change and its version commit together."""
    with db.transaction():
        value = read(db, key) + 1
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (str(value), key))
    return value
