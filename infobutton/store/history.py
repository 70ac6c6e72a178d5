"""The mapping set's history: a numbered snapshot per change and an audit row per changed rule.

Version ``n`` is the value of ``meta.mapping_version`` that the change committed, so the number an
admin restores is the number every worker serves. Rows are written by ``SqlMappingStore`` inside
the transaction of the change they describe; this module only reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select

from ..models import MappingRule
from .codec import rule_from_dict
from .db import Database
from .schema import mapping_audit, mapping_versions


@dataclass(frozen=True)
class Version:
    n: int
    at: str
    actor: str
    action: str
    reason: str
    rule_count: int


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    mapping_id: int | None
    before: dict | None
    after: dict | None
    reason: str
    version: int


def _json(text: str | None):
    return json.loads(text) if text else None


_VERSION = select(
    mapping_versions.c.n,
    mapping_versions.c.at,
    mapping_versions.c.actor,
    mapping_versions.c.action,
    mapping_versions.c.reason,
    mapping_versions.c.rule_count,
)


class SqlHistoryStore:
    def __init__(self, db: Database):
        self.db = db

    def versions(self, limit: int = 50, offset: int = 0) -> tuple[list[Version], int]:
        rows = self.db.query(_VERSION.order_by(mapping_versions.c.n.desc()).limit(limit).offset(offset))
        total = int(self.db.scalar(select(func.count()).select_from(mapping_versions)) or 0)
        return [Version(*row) for row in rows], total

    def version(self, n: int) -> Version | None:
        row = self.db.one(_VERSION.where(mapping_versions.c.n == n))
        return Version(*row) if row else None

    def first(self) -> Version | None:
        """The oldest version recorded (the seed of the database, unless it was restored away)."""
        n = self.db.scalar(select(func.min(mapping_versions.c.n)))
        return None if n is None else self.version(int(n))

    def previous(self, n: int) -> int | None:
        """The version before ``n`` (the set an undo of change ``n`` restores)."""
        value = self.db.scalar(select(func.max(mapping_versions.c.n)).where(mapping_versions.c.n < n))
        return int(value) if value is not None else None

    def snapshot(self, n: int) -> list[MappingRule] | None:
        text = self.db.scalar(select(mapping_versions.c.rules).where(mapping_versions.c.n == n))
        if text is None:
            return None
        return [rule_from_dict(item) for item in json.loads(text)]

    def audit(
        self, *, mapping_id: int | None = None, version: int | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[AuditEntry], int]:
        c = mapping_audit.c
        where = []
        if mapping_id is not None:
            where.append(c.mapping_id == mapping_id)
        if version is not None:
            where.append(c.version == version)
        rows = self.db.query(
            select(c.id, c.at, c.actor, c.action, c.mapping_id, c.before, c.after, c.reason, c.version)
            .where(*where)
            .order_by(c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        total = int(self.db.scalar(select(func.count()).select_from(mapping_audit).where(*where)) or 0)
        entries = [
            AuditEntry(rid, at, actor, action, mid, _json(before), _json(after), reason, version)
            for rid, at, actor, action, mid, before, after, reason, version in rows
        ]
        return entries, total
