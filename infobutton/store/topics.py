"""Topics in SQL: one row per topic, the full Topic as JSON beside its indexed columns."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import func, insert, select, update

from ..models import Topic
from . import meta, search
from .codec import encode, from_json
from .db import Database
from .schema import topics as table


def _columns(topic: Topic, data: str, digest: str, now: str) -> dict:
    return {
        "language": topic.language,
        "title": topic.title,
        "url": topic.url,
        "status": topic.status,
        "data": data,
        "content_hash": digest,
        "updated_at": now,
    }


# How many more matches a search reads so that topics for everyone ranked below professional ones
# still get their places.
PROFESSIONAL_ROOM = 20


class ImportRefused(ValueError):
    """An import that would take more away than it may (the transaction is rolled back)."""


class SqlTopicStore:
    def __init__(self, db: Database):
        self.db = db
        self.index = search.index_for(db)
        self.index.ensure()

    def get(self, topic_id: str) -> Topic | None:
        row = self.db.one(select(table.c.data, table.c.status).where(table.c.id == topic_id))
        if row is None:
            return None
        return dataclasses.replace(from_json(row[0]), status=row[1])

    def all(self, include_withdrawn: bool = False) -> list[Topic]:
        query = select(table.c.data, table.c.status).order_by(table.c.id)
        if not include_withdrawn:
            query = query.where(table.c.status == "active")
        rows = self.db.query(query)
        return [dataclasses.replace(from_json(data), status=status) for data, status in rows]

    def upsert(
        self,
        topics: list[Topic],
        *,
        withdraw_missing: bool = False,
        withdraw_only: Callable[[str], bool] | None = None,
        max_withdraw: float | None = None,
        meta_values: dict[str, str] | None = None,
    ) -> dict[str, int]:
        """Insert or update topics in one transaction; counts added / updated / unchanged (and
        withdrawn, with ``withdraw_missing``).

        ``withdraw_missing``: the list is the whole catalogue, so active topics not in it are
        marked withdrawn (kept for audit, no longer served; never deleted); ``withdraw_only``, a
        test of a stored topic's URL, limits that to the topics the list speaks for (a MedlinePlus
        catalogue says nothing about an NCI page). A withdrawn topic that is in the list again
        becomes active (counted as updated). ``max_withdraw``, a fraction of those active topics,
        refuses (ImportRefused, nothing changed) an import that would withdraw more.
        ``meta_values`` are written to the meta table in the same transaction. The search index
        and ``topic_version`` move with the rows.
        """
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.db.transaction():
            rows = self.db.query(select(table.c.id, table.c.content_hash, table.c.status, table.c.url))
            existing = {row[0]: (row[1], row[2]) for row in rows}
            in_scope = {row[0] for row in rows if withdraw_only is None or withdraw_only(row[3])}
            active_before = sum(1 for tid, (_, status) in existing.items() if status == "active" and tid in in_scope)
            incoming = {topic.id: topic for topic in topics}  # a topic listed twice: the last one
            added: list[Topic] = []
            rows_added: list[dict] = []
            for topic in incoming.values():
                data, digest = encode(topic)
                row = existing.get(topic.id)
                if row is None:
                    added.append(topic)
                    rows_added.append({"id": topic.id, **_columns(topic, data, digest, now)})
                    counts["added"] += 1
                elif row[0] != digest or row[1] != topic.status:
                    columns = _columns(topic, data, digest, now)
                    self.db.execute(update(table).where(table.c.id == topic.id).values(**columns))
                    if row[0] != digest:
                        self.index.put(topic)
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
                existing[topic.id] = (digest, topic.status)
            if rows_added:  # one statement for all new rows, one for their index entries
                self.db.execute(insert(table), rows_added)
                self.index.put_new(added)
            if withdraw_missing:
                gone = [
                    tid
                    for tid, (_, status) in existing.items()
                    if status == "active" and tid not in incoming and tid in in_scope
                ]
                if max_withdraw is not None and gone and len(gone) > max_withdraw * max(active_before, 1):
                    raise ImportRefused(
                        f"the import would withdraw {len(gone)} of {active_before} active topics "
                        f"(limit {max_withdraw:.0%}); nothing was changed"
                    )
                for tid in gone:
                    self.db.execute(update(table).where(table.c.id == tid).values(status="withdrawn", updated_at=now))
                counts["withdrawn"] = len(gone)
            for key, value in (meta_values or {}).items():
                meta.put(self.db, key, value)
            if counts["added"] or counts["updated"] or counts.get("withdrawn"):
                meta.bump(self.db, "topic_version")
        return counts

    def find_by_title(self, title: str, language: str) -> Topic | None:
        """The topic with this exact title (case-insensitive) in a language, withdrawn or not."""
        row = self.db.one(
            select(table.c.id)
            .where(func.lower(table.c.title) == func.lower(title.strip()), table.c.language == language)
            .order_by(table.c.id)
        )
        return self.get(row[0]) if row else None

    def search(self, text: str, language: str = "en", limit: int = 3) -> list[Topic]:
        """Active topics matching free text, best first, in ``language``; where that language
        has none, the matching English topics' twins in it (or the English topics). Topics for
        everyone come before topics for health professionals, which only take places no other
        match fills: a summary written for clinicians never crowds a patient's page out of a
        search (the resolver puts them first for a health professional)."""
        found = self._ranked(text, language, limit)
        if found or language == "en":
            return found
        result = []
        for topic in self._ranked(text, "en", limit):
            twin = self.get(topic.twin.id) if topic.twin else None
            result.append(twin if twin is not None and twin.status == "active" else topic)
        return result

    def _ranked(self, text: str, language: str, limit: int) -> list[Topic]:
        everyone: list[Topic] = []
        professional: list[Topic] = []
        for topic in filter(None, map(self.get, self.index.search(text, language, limit + PROFESSIONAL_ROOM))):
            (professional if topic.audience == "professional" else everyone).append(topic)
            if len(everyone) == limit:
                break
        return (everyone + professional)[:limit]

    def count(self) -> int:
        return int(self.db.scalar(select(func.count()).select_from(table)) or 0)

    def version(self) -> int:
        return meta.counter(self.db, "topic_version")
