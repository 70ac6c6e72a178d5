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

from ..models import CodeSystem
from .db import Database


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
        rows = self.db.query(
            "SELECT code_system, code, topic_id, at, actor, reason FROM suggestion_rejections"
            " ORDER BY code_system, code, topic_id"
        )
        return [Rejection(CodeSystem[s], c, t, at, actor, reason) for s, c, t, at, actor, reason in rows]

    def keys(self) -> frozenset[Key]:
        return frozenset(r.key for r in self.all())

    def get(self, key: Key) -> Rejection | None:
        system, code, topic_id = key
        row = self.db.execute(
            "SELECT at, actor, reason FROM suggestion_rejections WHERE code_system = ? AND code = ? AND topic_id = ?",
            (system.name, code, topic_id),
        ).fetchone()
        return Rejection(system, code, topic_id, *row) if row else None

    def reject(self, keys: Iterable[Key], *, actor: str, reason: str = "") -> list[Key]:
        """Reject each (system, code, topic) not rejected yet, all in one transaction; the keys
        that were new (each with its audit row)."""
        return self._write(keys, actor, reason, "reject")

    def unreject(self, keys: Iterable[Key], *, actor: str, reason: str = "") -> list[Key]:
        """Lift each rejection that exists, all in one transaction; the keys that were lifted."""
        return self._write(keys, actor, reason, "unreject")

    def audit(self, limit: int = 50, offset: int = 0) -> tuple[list[RejectionEvent], int]:
        rows = self.db.query(
            "SELECT id, at, actor, action, code_system, code, topic_id, reason FROM suggestion_audit"
            " ORDER BY id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        total = int(self.db.scalar("SELECT COUNT(*) FROM suggestion_audit") or 0)
        return [
            RejectionEvent(i, at, actor, action, CodeSystem[s], c, t, reason)
            for i, at, actor, action, s, c, t, reason in rows
        ], total

    def _write(self, keys: Iterable[Key], actor: str, reason: str, action: str) -> list[Key]:
        done = []
        at = _now()
        with self.db.transaction():
            for system, code, topic_id in dict.fromkeys(keys):
                values = (system.name, code, topic_id)
                if action == "reject":
                    changed = self.db.execute(
                        "INSERT INTO suggestion_rejections (code_system, code, topic_id, at, actor,"
                        " reason) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code_system, code, topic_id)"
                        " DO NOTHING",
                        (*values, at, actor, reason),
                    ).rowcount
                else:
                    changed = self.db.execute(
                        "DELETE FROM suggestion_rejections WHERE code_system = ? AND code = ? AND topic_id = ?", values
                    ).rowcount
                if changed:
                    self.db.execute(
                        "INSERT INTO suggestion_audit (at, actor, action, code_system, code, topic_id,"
                        " reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (at, actor, action, *values, reason),
                    )
                    done.append((system, code, topic_id))
        return done
