"""Suggestions a librarian rejected, and who rejected or un-rejected what, when and why.

A rejection is (code system, code, topic): ``suggestions.suggest`` never proposes that topic for
the code or anything below it again until it is un-rejected. Each reject or un-reject is one
transaction that changes the set and writes its audit row; nothing else changes (the mapping set
and its version stay as they are).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from ..models import CodeSystem
from .db import Database
from .schema import suggestion_audit, suggestion_rejections


@dataclass(frozen=True)
class Rejection:
    code_system: CodeSystem
    code: str
    topic_id: str
    at: str
    actor: str
    reason: str

    @property
    def key(self) -> tuple[CodeSystem, str, str]:
        return (self.code_system, self.code, self.topic_id)


@dataclass(frozen=True)
class RejectionEvent:
    id: int
    at: str
    actor: str
    action: str  # "reject" | "unreject"
    code_system: CodeSystem
    code: str
    topic_id: str
    reason: str


Key = tuple[CodeSystem, str, str]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SqlRejectionStore:
    def __init__(self, db: Database):
        self.db = db

    def all(self) -> list[Rejection]:
        c = suggestion_rejections.c
        rows = self.db.query(
            select(c.code_system, c.code, c.topic_id, c.at, c.actor, c.reason).order_by(
                c.code_system, c.code, c.topic_id
            )
        )
        return [Rejection(CodeSystem[s], c, t, at, actor, reason) for s, c, t, at, actor, reason in rows]

    def keys(self) -> frozenset[Key]:
        return frozenset(r.key for r in self.all())

    def get(self, key: Key) -> Rejection | None:
        system, code, topic_id = key
        c = suggestion_rejections.c
        row = self.db.one(
            select(c.at, c.actor, c.reason).where(c.code_system == system.name, c.code == code, c.topic_id == topic_id)
        )
        return Rejection(system, code, topic_id, *row) if row else None

    def reject(self, keys: Iterable[Key], *, actor: str, reason: str = "") -> list[Key]:
        """Reject each (system, code, topic) not rejected yet, all in one transaction; the keys
        that were new (each with its audit row)."""
        return self._write(keys, actor, reason, "reject")

    def unreject(self, keys: Iterable[Key], *, actor: str, reason: str = "") -> list[Key]:
        """Lift each rejection that exists, all in one transaction; the keys that were lifted."""
        return self._write(keys, actor, reason, "unreject")

    def audit(self, limit: int = 50, offset: int = 0) -> tuple[list[RejectionEvent], int]:
        c = suggestion_audit.c
        rows = self.db.query(
            select(c.id, c.at, c.actor, c.action, c.code_system, c.code, c.topic_id, c.reason)
            .order_by(c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        total = int(self.db.scalar(select(func.count()).select_from(suggestion_audit)) or 0)
        return [
            RejectionEvent(i, at, actor, action, CodeSystem[s], c, t, reason)
            for i, at, actor, action, s, c, t, reason in rows
        ], total

    def _write(self, keys: Iterable[Key], actor: str, reason: str, action: str) -> list[Key]:
        done = []
        at = _now()
        c = suggestion_rejections.c
        dialect_insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        with self.db.transaction():
            for system, code, topic_id in dict.fromkeys(keys):
                values = {"code_system": system.name, "code": code, "topic_id": topic_id}
                statement: Executable
                if action == "reject":
                    statement = (
                        dialect_insert(suggestion_rejections)
                        .values(**values, at=at, actor=actor, reason=reason)
                        .on_conflict_do_nothing(index_elements=[c.code_system, c.code, c.topic_id])
                    )
                else:
                    statement = delete(suggestion_rejections).where(
                        c.code_system == system.name, c.code == code, c.topic_id == topic_id
                    )
                if self.db.execute(statement).rowcount:
                    self.db.execute(
                        insert(suggestion_audit).values(**values, at=at, actor=actor, action=action, reason=reason)
                    )
                    done.append((system, code, topic_id))
        return done
