"""Mapping and topic stores behind small Protocols, built in one place (``open_stores``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..models import MappingRule, Topic
from .db import Database
from .mappings import SqlMappingStore
from .migrate import upgraded
from .topics import SqlTopicStore


class TopicStore(Protocol):
    def get(self, topic_id: str) -> Topic | None: ...
    def all(self, include_withdrawn: bool = False) -> list[Topic]: ...
    def upsert(self, topics: list[Topic]) -> dict[str, int]: ...
    def version(self) -> int: ...


class MappingStore(Protocol):
    def rules(self) -> list[MappingRule]: ...
    def replace_all(self, rules: list[MappingRule], reason: str = "") -> None: ...
    def version(self) -> int: ...


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


__all__ = ["Database", "MappingStore", "TopicStore", "open_stores", "SqlMappingStore", "SqlTopicStore"]
