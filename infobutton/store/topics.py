"""Topics in SQL: one row per topic, the full Topic as JSON beside its indexed columns."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timezone

from ..models import Site, Topic, TopicRef
from . import versions
from .db import Database

_REFS = ("groups", "related")


def to_json(topic: Topic) -> str:
    return json.dumps(dataclasses.asdict(topic), ensure_ascii=False, sort_keys=True)


def from_json(text: str) -> Topic:
    data = json.loads(text)
    for key in _REFS:
        data[key] = tuple(TopicRef(**ref) for ref in data.get(key, ()))
    for key in ("primary_institute", "twin"):
        data[key] = TopicRef(**data[key]) if data.get(key) else None
    for key in ("sites", "encyclopedia"):
        data[key] = tuple(Site(**site) for site in data.get(key, ()))
    data["mesh_headings"] = tuple(tuple(m) for m in data.get("mesh_headings", ()))
    for key in ("also_called", "see_references"):
        data[key] = tuple(data.get(key, ()))
    return Topic(**data)


def content_hash(topic: Topic) -> str:
    return hashlib.sha256(to_json(dataclasses.replace(topic, status="active")).encode()).hexdigest()


class SqlTopicStore:
    def __init__(self, db: Database):
        self.db = db

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

    def upsert(self, topics: list[Topic]) -> dict[str, int]:
        """Insert or update topics in one transaction; counts added / updated / unchanged."""
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.db.transaction():
            for topic in topics:
                digest = content_hash(topic)
                row = self.db.execute(
                    "SELECT content_hash, status FROM topics WHERE id = ?", (topic.id,)
                ).fetchone()
                if row is None:
                    self.db.execute(
                        "INSERT INTO topics (id, language, title, url, status, data, content_hash,"
                        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (topic.id, topic.language, topic.title, topic.url, topic.status,
                         to_json(topic), digest, now),
                    )
                    counts["added"] += 1
                elif row[0] != digest or row[1] != topic.status:
                    self.db.execute(
                        "UPDATE topics SET language = ?, title = ?, url = ?, status = ?, data = ?,"
                        " content_hash = ?, updated_at = ? WHERE id = ?",
                        (topic.language, topic.title, topic.url, topic.status, to_json(topic),
                         digest, now, topic.id),
                    )
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
            if counts["added"] or counts["updated"]:
                versions.bump(self.db, "topic_version")
        return counts

    def count(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM topics") or 0)

    def version(self) -> int:
        return versions.read(self.db, "topic_version")
