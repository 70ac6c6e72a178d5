"""Small named values in the ``meta`` table (sync validators, the catalogue's date-generated),
read and written inside the caller's transaction."""

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
