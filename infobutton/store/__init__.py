"""The database and its mapping and topic stores, opened in one place (``open_stores``)."""

from __future__ import annotations

from collections.abc import Callable

from .db import Database
from .mappings import SqlMappingStore
from .migrate import upgraded
from .topics import SqlTopicStore


def open_stores(
    url: str, prepare: Callable[[SqlTopicStore, SqlMappingStore], object] | None = None
) -> tuple[Database, SqlTopicStore, SqlMappingStore]:
    """Upgrade the schema to head and open the database with its two stores, all under the
    migration lock, so ``prepare`` (seeding an empty database) runs once however many instances
    start together."""
    with upgraded(url):
        db = Database(url)
        topics, mappings = SqlTopicStore(db), SqlMappingStore(db)
        if prepare is not None:
            prepare(topics, mappings)
    return db, topics, mappings


__all__ = ["Database", "open_stores", "SqlMappingStore", "SqlTopicStore"]
