"""Mapping rules in SQL, with their history.

Every write is one transaction that changes the rules, bumps ``meta.mapping_version``, stores a
snapshot of the whole set as version n (``store.history``) and one audit row per changed rule.
Writers are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: a row lock on the version counter),
so version numbers never collide and optimistic checks cannot race.

Optimistic concurrency: a rule's ``revision`` is a hash of its stored values; an update or delete
names the revision it read and fails with 409 when the rule changed in between.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from ..models import CodeSystem, Gender, InvalidRequest, MappingRule, Scope
from . import meta
from .db import Database

COLUMNS = "id, code_system, code, topic_id, scope, priority, min_age, max_age, gender, reason"
_INSERT = (
    "INSERT INTO mapping_rules (code_system, code, topic_id, scope, priority, min_age,"
    " max_age, gender, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def rule_from_row(row: tuple) -> MappingRule:
    rid, system, code, topic_id, scope, priority, min_age, max_age, gender, reason = row
    return MappingRule(
        id=rid,
        code_system=CodeSystem[system],
        code=code,
        topic_id=topic_id,
        scope=Scope(scope),
        priority=priority,
        min_age=min_age,
        max_age=max_age,
        gender=Gender(gender) if gender else None,
        reason=reason or "",
    )


def rule_values(rule: MappingRule) -> tuple:
    return (
        rule.code_system.name,
        rule.code,
        rule.topic_id,
        rule.scope.value,
        rule.priority,
        rule.min_age,
        rule.max_age,
        rule.gender.value if rule.gender else None,
        rule.reason,
    )


def rule_to_dict(rule: MappingRule) -> dict:
    """The stored form of a rule in snapshots and audit rows (and the core of the API's JSON)."""
    return {
        "id": rule.id,
        "code_system": rule.code_system.name,
        "code": rule.code,
        "topic_id": rule.topic_id,
        "scope": rule.scope.value,
        "priority": rule.priority,
        "min_age": rule.min_age,
        "max_age": rule.max_age,
        "gender": rule.gender.value if rule.gender else None,
        "reason": rule.reason,
    }


def rule_from_dict(data: dict) -> MappingRule:
    return rule_from_row(
        tuple(
            data[k]
            for k in (
                "id",
                "code_system",
                "code",
                "topic_id",
                "scope",
                "priority",
                "min_age",
                "max_age",
                "gender",
                "reason",
            )
        )
    )


def identity(rule: MappingRule) -> tuple:
    """What makes two rules the same rule (the unique index): system, code, topic, scope, context."""
    return (rule.code_system, rule.code, rule.topic_id, rule.scope, rule.min_age, rule.max_age, rule.gender)


def revision(rule: MappingRule) -> str:
    """A short hash of everything stored for the rule: the ETag of one mapping."""
    text = json.dumps(rule_to_dict(rule), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class MappingConflict(InvalidRequest):
    """The rule changed (or went) since the caller read it; ``current`` is what is stored now."""

    def __init__(self, message: str, current: MappingRule | None):
        super().__init__("If-Match", message, 409)
        self.current = current


@dataclass(frozen=True)
class Change:
    """One rule's before and after in a write (None before = added, None after = removed)."""

    before: MappingRule | None
    after: MappingRule | None


class SqlMappingStore:
    def __init__(self, db: Database):
        self.db = db

    # -- reads -------------------------------------------------------------------------------

    def rules(self) -> list[MappingRule]:
        return [rule_from_row(r) for r in self.db.query(f"SELECT {COLUMNS} FROM mapping_rules ORDER BY id")]

    def get(self, rule_id: int) -> MappingRule | None:
        row = self.db.execute(f"SELECT {COLUMNS} FROM mapping_rules WHERE id = ?", (rule_id,)).fetchone()
        return rule_from_row(row) if row else None

    def find(
        self,
        *,
        code_system: CodeSystem | None = None,
        code: str | None = None,
        topic_id: str | None = None,
        text: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[MappingRule], int]:
        """A page of rules matching every given filter, and how many match in all."""
        where, params = [], []
        if code_system is not None:
            where.append("code_system = ?")
            params.append(code_system.name)
        if code:
            where.append("code = ?")
            params.append(code)
        if topic_id:
            where.append("topic_id = ?")
            params.append(topic_id)
        if text:
            where.append("(LOWER(code) LIKE ? OR LOWER(topic_id) LIKE ? OR LOWER(reason) LIKE ?)")
            pattern = "%" + text.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
            params += [pattern] * 3
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        rows = self.db.query(
            f"SELECT {COLUMNS} FROM mapping_rules{clause}"
            " ORDER BY code_system, code, priority DESC, topic_id, id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        total = int(self.db.scalar(f"SELECT COUNT(*) FROM mapping_rules{clause}", params) or 0)
        return [rule_from_row(r) for r in rows], total

    def count(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM mapping_rules") or 0)

    def version(self) -> int:
        return meta.counter(self.db, "mapping_version")

    # -- writes ------------------------------------------------------------------------------

    def insert(self, rule: MappingRule, *, actor: str = "system", reason: str = "") -> MappingRule:
        """Insert one rule inside the caller's transaction (or its own) and return it with its id."""
        with self.db.transaction():
            self._lock()
            added = self._insert(rule)
            self._record([Change(None, added)], actor, "create", reason or rule.reason)
        return added

    create = insert

    def update(
        self, rule_id: int, rule: MappingRule, *, expected: str | None, actor: str, reason: str = ""
    ) -> MappingRule:
        """Replace rule ``rule_id`` if it is still at revision ``expected`` (None: any)."""
        with self.db.transaction():
            self._lock()
            before = self._current(rule_id, expected)
            after = replace(rule, id=rule_id)
            self.db.execute(
                "UPDATE mapping_rules SET code_system = ?, code = ?, topic_id = ?, scope = ?,"
                " priority = ?, min_age = ?, max_age = ?, gender = ?, reason = ? WHERE id = ?",
                (*rule_values(after), rule_id),
            )
            self._record([Change(before, after)], actor, "update", reason or after.reason)
        return after

    def delete(self, rule_id: int, *, expected: str | None, actor: str, reason: str = "") -> int:
        """Remove rule ``rule_id`` if it is still at revision ``expected``; the new version."""
        with self.db.transaction():
            self._lock()
            before = self._current(rule_id, expected)
            self.db.execute("DELETE FROM mapping_rules WHERE id = ?", (rule_id,))
            return self._record([Change(before, None)], actor, "delete", reason)

    def apply(
        self, changes: list[Change], *, actor: str, action: str, reason: str = "", expected_version: int | None = None
    ) -> int:
        """Add, change and remove several rules as one version (imports). ``expected_version``
        guards a reviewed diff: if the set moved on since, nothing is written (409)."""
        with self.db.transaction():
            self._lock()
            if expected_version is not None and self.version() != expected_version:
                raise InvalidRequest("version", "the mappings changed since this diff was made; review it again", 409)
            done = []
            for change in changes:
                if change.before is not None:
                    self._current(change.before.id, revision(change.before))
                if change.after is None:
                    self.db.execute("DELETE FROM mapping_rules WHERE id = ?", (change.before.id,))
                    done.append(change)
                elif change.before is None:
                    done.append(Change(None, self._insert(change.after)))
                else:
                    after = replace(change.after, id=change.before.id)
                    self.db.execute(
                        "UPDATE mapping_rules SET code_system = ?, code = ?, topic_id = ?, scope = ?,"
                        " priority = ?, min_age = ?, max_age = ?, gender = ?, reason = ? WHERE id = ?",
                        (*rule_values(after), after.id),
                    )
                    done.append(Change(change.before, after))
            return self._record(done, actor, action, reason)

    def replace_all(
        self, rules: list[MappingRule], reason: str = "", *, actor: str = "system", action: str = "replace"
    ) -> None:
        """Swap the whole rule set in one transaction."""
        with self.db.transaction():
            self._lock()
            old = self.rules()
            self.db.execute("DELETE FROM mapping_rules")
            new = [self._insert(rule) for rule in rules]
            changes = [Change(r, None) for r in old] + [Change(None, r) for r in new]
            self._record(changes, actor, action, reason)

    def restore(self, n: int, *, actor: str, reason: str = "") -> int | None:
        """Make the set equal to version ``n`` again, as a new version (ids kept); None when it
        already is. 404 for a version never recorded."""
        from .history import SqlHistoryStore

        with self.db.transaction():
            self._lock()
            target = SqlHistoryStore(self.db).snapshot(n)
            if target is None:
                raise InvalidRequest("n", f"no mapping version {n}", 404)
            current = {r.id: r for r in self.rules()}
            wanted = {r.id: r for r in target}
            changes = [Change(r, None) for rid, r in current.items() if rid not in wanted]
            changes += [Change(current.get(rid), r) for rid, r in wanted.items() if current.get(rid) != r]
            if not changes:
                return None
            self.db.execute("DELETE FROM mapping_rules")
            for rule in target:
                self.db.execute(
                    "INSERT INTO mapping_rules (id, code_system, code, topic_id, scope, priority,"
                    " min_age, max_age, gender, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (rule.id, *rule_values(rule)),
                )
            self._advance_id_sequence()
            return self._record(changes, actor, "restore", reason or f"restore version {n}")

    # -- inside a write ----------------------------------------------------------------------

    def _lock(self) -> None:
        """Serialise mapping writers (SQLite's BEGIN IMMEDIATE already does)."""
        if self.db.dialect == "postgresql":
            self.db.execute("SELECT value FROM meta WHERE key = 'mapping_version' FOR UPDATE")

    def _insert(self, rule: MappingRule) -> MappingRule:
        cur = self.db.execute(_INSERT + " RETURNING id", rule_values(rule))
        return replace(rule, id=cur.fetchone()[0])

    def _current(self, rule_id: int, expected: str | None) -> MappingRule:
        current = self.get(rule_id)
        if current is None:
            if expected is not None:
                raise MappingConflict(f"mapping {rule_id} was deleted since you read it", None)
            raise InvalidRequest("id", f"no mapping {rule_id}", 404)
        if expected is not None and revision(current) != expected:
            raise MappingConflict(
                f"mapping {rule_id} was changed since you read it (revision {revision(current)},"
                f" you sent {expected}); reload, reapply your edit and save again",
                current,
            )
        return current

    def _advance_id_sequence(self) -> None:
        """After inserting explicit ids, make sure new rules get ids never used before."""
        if self.db.dialect != "postgresql":
            return  # AUTOINCREMENT keeps the highest id ever used
        seq = self.db.scalar("SELECT pg_get_serial_sequence('mapping_rules', 'id')")
        last = int(self.db.scalar(f"SELECT last_value FROM {seq}") or 1)
        top = int(self.db.scalar("SELECT MAX(id) FROM mapping_rules") or 1)
        self.db.execute("SELECT setval(?, ?)", (seq, max(last, top)))

    def _record(self, changes: list[Change], actor: str, action: str, reason: str) -> int:
        """Bump the version, snapshot the set as that version and audit each change."""
        n = meta.bump(self.db, "mapping_version")
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rules = self.rules()
        self.db.execute(
            "INSERT INTO mapping_versions (n, at, actor, action, reason, rule_count, rules)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                n,
                at,
                actor,
                action,
                reason,
                len(rules),
                json.dumps([rule_to_dict(r) for r in rules], separators=(",", ":")),
            ),
        )
        for change in changes:
            rule = change.after or change.before
            self.db.execute(
                "INSERT INTO mapping_audit (at, actor, action, mapping_id, before, after, reason,"
                " version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    at,
                    actor,
                    action,
                    rule.id if rule else None,
                    json.dumps(rule_to_dict(change.before)) if change.before else None,
                    json.dumps(rule_to_dict(change.after)) if change.after else None,
                    reason,
                    n,
                ),
            )
        return n
