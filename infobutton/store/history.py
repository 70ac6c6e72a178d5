"""The mapping set's history: a numbered snapshot per change and an audit row per changed rule.

Version ``n`` is the value of ``meta.mapping_version`` that the change committed, so the number an
admin restores is the number every worker serves. Rows are written by ``SqlMappingStore`` inside
the transaction of the change they describe; this module only reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..models import MappingRule
from .db import Database


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


class SqlHistoryStore:
    def __init__(self, db: Database):
        self.db = db

    def versions(self, limit: int = 50, offset: int = 0) -> tuple[list[Version], int]:
        rows = self.db.query(
            "SELECT n, at, actor, action, reason, rule_count FROM mapping_versions ORDER BY n DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        total = int(self.db.scalar("SELECT COUNT(*) FROM mapping_versions") or 0)
        return [Version(*row) for row in rows], total

    def version(self, n: int) -> Version | None:
        row = self.db.execute(
            "SELECT n, at, actor, action, reason, rule_count FROM mapping_versions WHERE n = ?", (n,)
        ).fetchone()
        return Version(*row) if row else None

    def previous(self, n: int) -> int | None:
        """The version before ``n`` (the set an undo of change ``n`` restores)."""
        value = self.db.scalar("SELECT MAX(n) FROM mapping_versions WHERE n < ?", (n,))
        return int(value) if value is not None else None

    def snapshot(self, n: int) -> list[MappingRule] | None:
        from .mappings import rule_from_dict

        text = self.db.scalar("SELECT rules FROM mapping_versions WHERE n = ?", (n,))
        if text is None:
            return None
        return [rule_from_dict(item) for item in json.loads(text)]

    def audit(
        self, *, mapping_id: int | None = None, version: int | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[AuditEntry], int]:
        where, params = [], []
        if mapping_id is not None:
            where.append("mapping_id = ?")
            params.append(mapping_id)
        if version is not None:
            where.append("version = ?")
            params.append(version)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        rows = self.db.query(
            "SELECT id, at, actor, action, mapping_id, before, after, reason, version"
            f" FROM mapping_audit{clause} ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        total = int(self.db.scalar(f"SELECT COUNT(*) FROM mapping_audit{clause}", params) or 0)
        entries = [
            AuditEntry(rid, at, actor, action, mid, _json(before), _json(after), reason, version)
            for rid, at, actor, action, mid, before, after, reason, version in rows
        ]
        return entries, total
