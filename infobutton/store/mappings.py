"""Mapping rules in SQL."""

from __future__ import annotations

from dataclasses import replace

from ..models import CodeSystem, Gender, MappingRule, Scope
from . import versions
from .db import Database

COLUMNS = "id, code_system, code, topic_id, scope, priority, min_age, max_age, gender, reason"


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


class SqlMappingStore:
    def __init__(self, db: Database):
        self.db = db

    def rules(self) -> list[MappingRule]:
        return [rule_from_row(r) for r in self.db.query(f"SELECT {COLUMNS} FROM mapping_rules ORDER BY id")]

    def insert(self, rule: MappingRule) -> MappingRule:
        """Insert one rule inside the caller's transaction (or its own) and return it with its id."""
        with self.db.transaction():
            cur = self.db.execute(
                "INSERT INTO mapping_rules (code_system, code, topic_id, scope, priority, min_age,"
                " max_age, gender, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                rule_values(rule),
            )
            rid = cur.fetchone()[0]
            versions.bump(self.db, "mapping_version")
        return replace(rule, id=rid)

    def replace_all(self, rules: list[MappingRule], reason: str = "") -> None:
        """Swap the whole rule set in one transaction."""
        with self.db.transaction():
            self.db.execute("DELETE FROM mapping_rules")
            for rule in rules:
                self.db.execute(
                    "INSERT INTO mapping_rules (code_system, code, topic_id, scope, priority,"
                    " min_age, max_age, gender, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rule_values(rule),
                )
            versions.bump(self.db, "mapping_version")

    def count(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM mapping_rules") or 0)

    def version(self) -> int:
        return versions.read(self.db, "mapping_version")
