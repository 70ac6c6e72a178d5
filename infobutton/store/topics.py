"""Topics in SQL: one row per topic, the full Topic as JSON beside its indexed columns."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timezone

from ..models import Site, Topic, TopicRef
from . import meta, search
from .db import Database

_REFS = ("groups", "related")


def to_json(topic: Topic) -> str:
    return json.dumps(dataclasses.asdict(topic), ensure_ascii=False, sort_keys=True)


def _known(cls, data: dict) -> dict:
    """Only the fields this version knows: a row written by a newer version still loads."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def from_json(text: str) -> Topic:
    data = _known(Topic, json.loads(text))
    for key in _REFS:
        data[key] = tuple(TopicRef(**_known(TopicRef, ref)) for ref in data.get(key, ()))
    for key in ("primary_institute", "twin"):
        data[key] = TopicRef(**_known(TopicRef, data[key])) if data.get(key) else None
    for key in ("sites", "encyclopedia"):
        data[key] = tuple(Site(**_known(Site, site)) for site in data.get(key, ()))
    data["mesh_headings"] = tuple(tuple(m) for m in data.get("mesh_headings", ()))
    for key in ("also_called", "see_references"):
        data[key] = tuple(data.get(key, ()))
    return Topic(**data)


def content_hash(topic: Topic) -> str:
    return hashlib.sha256(to_json(dataclasses.replace(topic, status="active")).encode()).hexdigest()


class ImportRefused(ValueError):
    """An import that would take more away than it may (the transaction is rolled back)."""


class SqlTopicStore:
    def __init__(self, db: Database):
        self.db = db
        self.index = search.index_for(db)
        self.index.ensure()

    def get(self, topic_id: str) -> Topic | None:
        row = self.db.execute("SELECT data, status FROM topics WHERE id = ?", (topic_id,)).fetchone()
        if row is None:
            return None
        return dataclasses.replace(from_json(row[0]), status=row[1])

    def all(self, include_withdrawn: bool = False) -> list[Topic]:
        sql = "SELECT data, status FROM topics"
        if not include_withdrawn:
            sql += " WHERE status = 'active'"
        rows = self.db.query(sql + " ORDER BY id")
        return [dataclasses.replace(from_json(data), status=status) for data, status in rows]

    def upsert(
        self,
        topics: list[Topic],
        *,
        withdraw_missing: bool = False,
        max_withdraw: float | None = None,
        meta_values: dict[str, str] | None = None,
    ) -> dict[str, int]:
        """Insert or update topics in one transaction; counts added / updated / unchanged (and
        withdrawn, with ``withdraw_missing``).

        ``withdraw_missing``: the list is the whole catalogue, so active topics not in it are
        marked withdrawn (kept for audit, no longer served; never deleted). A withdrawn topic
        that is in the list again becomes active (counted as updated). ``max_withdraw``, a
        fraction of the active topics, refuses (ImportRefused, nothing changed) an import that
        would withdraw more. ``meta_values`` are written to the meta table in the same
        transaction. The search index and ``topic_version`` move with the rows.
        """
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.db.transaction():
            existing = {
                row[0]: (row[1], row[2]) for row in self.db.query("SELECT id, content_hash, status FROM topics")
            }
            active_before = sum(1 for _, status in existing.values() if status == "active")
            incoming: set[str] = set()
            for topic in topics:
                incoming.add(topic.id)
                digest = content_hash(topic)
                row = existing.get(topic.id)
                if row is None:
                    self.db.execute(
                        "INSERT INTO topics (id, language, title, url, status, data, content_hash,"
                        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (topic.id, topic.language, topic.title, topic.url, topic.status, to_json(topic), digest, now),
                    )
                    self.index.put(topic)
                    counts["added"] += 1
                elif row[0] != digest or row[1] != topic.status:
                    self.db.execute(
                        "UPDATE topics SET language = ?, title = ?, url = ?, status = ?, data = ?,"
                        " content_hash = ?, updated_at = ? WHERE id = ?",
                        (topic.language, topic.title, topic.url, topic.status, to_json(topic), digest, now, topic.id),
                    )
                    if row[0] != digest:
                        self.index.put(topic)
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
                existing[topic.id] = (digest, topic.status)
            if withdraw_missing:
                gone = [tid for tid, (_, status) in existing.items() if status == "active" and tid not in incoming]
                if max_withdraw is not None and gone and len(gone) > max_withdraw * max(active_before, 1):
                    raise ImportRefused(
                        f"the import would withdraw {len(gone)} of {active_before} active topics "
                        f"(limit {max_withdraw:.0%}); nothing was changed"
                    )
                for tid in gone:
                    self.db.execute(
                        "UPDATE topics SET status = 'withdrawn', updated_at = ? WHERE id = ?",
                        (now, tid),
                    )
                counts["withdrawn"] = len(gone)
            for key, value in (meta_values or {}).items():
                meta.put(self.db, key, value)
            if counts["added"] or counts["updated"] or counts.get("withdrawn"):
                meta.bump(self.db, "topic_version")
        return counts

    def find_by_title(self, title: str, language: str) -> Topic | None:
        """The topic with this exact title (case-insensitive) in a language, withdrawn or not."""
        row = self.db.execute(
            "SELECT id FROM topics WHERE LOWER(title) = LOWER(?) AND language = ? ORDER BY id",
            (title.strip(), language),
        ).fetchone()
        return self.get(row[0]) if row else None

    def search(self, text: str, language: str = "en", limit: int = 3) -> list[Topic]:
        """Active topics matching free text, best first, in ``language``; where that language
        has none, the matching English topics' twins in it (or the English topics)."""
        found = [t for t in map(self.get, self.index.search(text, language, limit)) if t]
        if found or language == "en":
            return found
        result = []
        for topic in filter(None, map(self.get, self.index.search(text, "en", limit))):
            twin = self.get(topic.twin.id) if topic.twin else None
            result.append(twin if twin is not None and twin.status == "active" else topic)
        return result

    def count(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM topics") or 0)

    def version(self) -> int:
        return meta.counter(self.db, "topic_version")
