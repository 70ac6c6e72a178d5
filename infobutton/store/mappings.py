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

from sqlalchemy import delete, func, insert, or_, select, update

from ..models import CodeSystem, InvalidRequest, MappingRule
from . import meta
from .codec import CONSTRAINTS, RULE_FIELDS, rule_from_row, rule_row, rule_to_dict, rule_values
from .db import Database
from .history import SqlHistoryStore
from .schema import mapping_audit, mapping_rules, mapping_versions
from .schema import meta as meta_table

_SELECT = select(*(mapping_rules.c[name] for name in RULE_FIELDS))


def identity(rule: MappingRule) -> tuple:
    """What makes two rules the same rule (the unique index): system, code, topic, scope, context
    (age range, gender and every context limit)."""
    return (
        rule.code_system,
        rule.code,
        rule.topic_id,
        rule.scope,
        rule.min_age,
        rule.max_age,
        rule.gender,
        *(getattr(rule, name) for name in CONSTRAINTS),
    )


def revision(rule: MappingRule) -> str:
    """A short hash of everything stored for the rule: the ETag of one mapping. Context limits
    left empty are not hashed, so a rule without any keeps the revision it had before they
    existed (revision 0005): an If-Match read before an upgrade still holds after it."""
    data = {k: v for k, v in rule_to_dict(rule).items() if k not in CONSTRAINTS or v}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


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
        self.history = SqlHistoryStore(db)

    # -- reads -------------------------------------------------------------------------------

    def rules(self) -> list[MappingRule]:
        return [rule_from_row(r) for r in self.db.query(_SELECT.order_by(mapping_rules.c.id))]

    def get(self, rule_id: int | None) -> MappingRule | None:
        row = self.db.one(_SELECT.where(mapping_rules.c.id == rule_id))
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
        c = mapping_rules.c
        where = []
        if code_system is not None:
            where.append(c.code_system == code_system.name)
        if code:
            where.append(c.code == code)
        if topic_id:
            where.append(c.topic_id == topic_id)
        if text:
            pattern = "%" + text.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
            where.append(or_(*(func.lower(col).like(pattern) for col in (c.code, c.topic_id, c.reason))))
        rows = self.db.query(
            _SELECT.where(*where)
            .order_by(c.code_system, c.code, c.priority.desc(), c.topic_id, c.id)
            .limit(limit)
            .offset(offset)
        )
        total = int(self.db.scalar(select(func.count()).select_from(mapping_rules).where(*where)) or 0)
        return [rule_from_row(r) for r in rows], total

    def count(self) -> int:
        return int(self.db.scalar(select(func.count()).select_from(mapping_rules)) or 0)

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
            self._update(after)
            self._record([Change(before, after)], actor, "update", reason or after.reason)
        return after

    def delete(self, rule_id: int, *, expected: str | None, actor: str, reason: str = "") -> int:
        """Remove rule ``rule_id`` if it is still at revision ``expected``; the new version."""
        with self.db.transaction():
            self._lock()
            before = self._current(rule_id, expected)
            self.db.execute(delete(mapping_rules).where(mapping_rules.c.id == rule_id))
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
            added = []
            for change in changes:
                before = change.before
                if before is not None:
                    self._current(before.id, revision(before))
                if change.after is None:
                    if before is not None:
                        self.db.execute(delete(mapping_rules).where(mapping_rules.c.id == before.id))
                        done.append(change)
                elif before is None:
                    added.append(change.after)
                else:
                    after = replace(change.after, id=before.id)
                    self._update(after)
                    done.append(Change(change.before, after))
            done += [Change(None, rule) for rule in self._insert_many(added)]
            return self._record(done, actor, action, reason)

    def replace_all(
        self, rules: list[MappingRule], reason: str = "", *, actor: str = "system", action: str = "replace"
    ) -> None:
        """Swap the whole rule set in one transaction."""
        with self.db.transaction():
            self._lock()
            old = self.rules()
            self.db.execute(delete(mapping_rules))
            new = self._insert_many(rules)
            changes = [Change(r, None) for r in old] + [Change(None, r) for r in new]
            self._record(changes, actor, action, reason)

    def restore(self, n: int, *, actor: str, reason: str = "") -> int | None:
        """Make the set equal to version ``n`` again, as a new version (ids kept); None when it
        already is. 404 for a version never recorded."""
        with self.db.transaction():
            self._lock()
            target = self.history.snapshot(n)
            if target is None:
                raise InvalidRequest("n", f"no mapping version {n}", 404)
            current = {r.id: r for r in self.rules()}
            wanted = {r.id: r for r in target}
            changes = [Change(r, None) for rid, r in current.items() if rid not in wanted]
            changes += [Change(current.get(rid), r) for rid, r in wanted.items() if current.get(rid) != r]
            if not changes:
                return None
            self.db.execute(delete(mapping_rules))
            if target:
                self.db.execute(insert(mapping_rules), [rule_row(rule) for rule in target])
            self._advance_id_sequence()
            return self._record(changes, actor, "restore", reason or f"restore version {n}")

    # -- inside a write ----------------------------------------------------------------------

    def _lock(self) -> None:
        """Serialise mapping writers (SQLite's BEGIN IMMEDIATE already does)."""
        if self.db.dialect == "postgresql":
            self.db.execute(select(meta_table.c.value).where(meta_table.c.key == "mapping_version").with_for_update())

    def _insert(self, rule: MappingRule) -> MappingRule:
        row = self.db.execute(insert(mapping_rules).values(**rule_values(rule)).returning(mapping_rules.c.id))
        return replace(rule, id=row.scalar())

    def _insert_many(self, rules: list[MappingRule]) -> list[MappingRule]:
        """Insert rules in one executemany (a shipped crosswalk holds thousands), with new ids
        above any id ever used, as AUTOINCREMENT and a sequence give them one by one."""
        if not rules:
            return []
        top = int(self.db.scalar(select(func.max(mapping_rules.c.id))) or 0)
        if self.db.dialect == "postgresql":
            seq = self.db.scalar(select(func.pg_get_serial_sequence("mapping_rules", "id")))
            used = int(self.db.scalar(f"SELECT last_value FROM {seq}") or 0)
        else:
            used = int(self.db.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'mapping_rules'") or 0)
        added = [replace(rule, id=n) for n, rule in enumerate(rules, start=max(top, used) + 1)]
        self.db.execute(insert(mapping_rules), [{"id": rule.id, **rule_values(rule)} for rule in added])
        self._advance_id_sequence()
        return added

    def _update(self, rule: MappingRule) -> None:
        self.db.execute(update(mapping_rules).where(mapping_rules.c.id == rule.id).values(**rule_values(rule)))

    def _current(self, rule_id: int | None, expected: str | None) -> MappingRule:
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
        seq = self.db.scalar(select(func.pg_get_serial_sequence("mapping_rules", "id")))
        last = int(self.db.scalar(f"SELECT last_value FROM {seq}") or 1)
        top = int(self.db.scalar(select(func.max(mapping_rules.c.id))) or 1)
        self.db.execute(select(func.setval(seq, max(last, top))))

    def _record(self, changes: list[Change], actor: str, action: str, reason: str) -> int:
        """Bump the version, snapshot the set as that version and audit each change."""
        n = meta.bump(self.db, "mapping_version")
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rules = self.rules()
        self.db.execute(
            insert(mapping_versions).values(
                n=n,
                at=at,
                actor=actor,
                action=action,
                reason=reason,
                rule_count=len(rules),
                rules=json.dumps([rule_to_dict(r) for r in rules], separators=(",", ":")),
            )
        )
        audit = []
        for change in changes:
            rule = change.after or change.before
            audit.append(
                {
                    "at": at,
                    "actor": actor,
                    "action": action,
                    "mapping_id": rule.id if rule else None,
                    "before": json.dumps(rule_to_dict(change.before)) if change.before else None,
                    "after": json.dumps(rule_to_dict(change.after)) if change.after else None,
                    "reason": reason,
                    "version": n,
                }
            )
        if audit:
            self.db.execute(insert(mapping_audit), audit)
        return n
