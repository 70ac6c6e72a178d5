"""Mapping and topic stores behind small Protocols, built in one place (``open_stores``)."""

from __future__ import annotations

from typing import Protocol

from ..models import MappingRule, Topic
from .db import Database
from .mappings import SqlMappingStore
from .migrate import upgrade
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


def open_stores(url: str) -> tuple[Database, SqlTopicStore, SqlMappingStore]:
    """Upgrade the schema to head (under the migration lock), connect, and return the database
    with its two stores."""
    upgrade(url)
    db = Database(url)
    return db, SqlTopicStore(db), SqlMappingStore(db)


__all__ = ["Database", "MappingStore", "TopicStore", "open_stores", "SqlMappingStore", "SqlTopicStore"]
