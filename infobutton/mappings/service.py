"""Mapping management: validated changes, CSV import with a diff, restore and preview.

The API, the web UI and the CLI all go through ``MappingAdmin``, so every way in validates the
same way, writes one transaction with its audit row and version, and makes the change live in
this worker at once (``KnowledgeService.refresh_now``) and in every other within
``version_check_interval``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from .. import resolver
from ..knowledge import KnowledgeService
from ..models import InvalidRequest, MappingRule, TopicMatch
from ..request import parse as parse_request
from ..store.codec import rule_from_dict, rule_to_dict
from ..store.history import SqlHistoryStore
from ..store.mappings import Change, SqlMappingStore, identity, revision
from . import csv_io
from .validation import MAX_REASON_LENGTH, ValidationFailed, unknown_fields, validate

# The removal guard of a ``replace`` import (like the topic importer's withdrawal guard): one that
# would remove more than MAX_REMOVE mappings, or more than MAX_REMOVE_FRACTION of them, is
# refused unless forced; a two-line CSV can no longer wipe a curated set by mistake.
MAX_REMOVE = 10
MAX_REMOVE_FRACTION = 0.5


@dataclass
class ImportPlan:
    """What importing a CSV would do: the diff shown before anything is written."""

    mode: str
    base_version: int
    added: list[MappingRule] = field(default_factory=list)
    changed: list[tuple[MappingRule, MappingRule]] = field(default_factory=list)
    removed: list[MappingRule] = field(default_factory=list)
    unchanged: int = 0
    guard: str = ""  # why committing needs force (the removal guard), "" when it does not

    @property
    def changes(self) -> list[Change]:
        return (
            [Change(None, r) for r in self.added]
            + [Change(before, after) for before, after in self.changed]
            + [Change(r, None) for r in self.removed]
        )

    def to_dict(self) -> dict:
        return {
            "mode": self.mode,
            "base_version": self.base_version,
            "added": [mapping_json(r) for r in self.added],
            "changed": [{"before": mapping_json(b), "after": mapping_json(a)} for b, a in self.changed],
            "removed": [mapping_json(r) for r in self.removed],
            "unchanged": self.unchanged,
            "needs_force": self.guard or None,
        }


def removal_guard(removed: int, total: int) -> str:
    """Why removing ``removed`` of ``total`` mappings needs force, or "" when it does not."""
    if removed > MAX_REMOVE or removed > MAX_REMOVE_FRACTION * total:
        return (
            f"the import would remove {removed} of {total} mappings (more than {MAX_REMOVE}, or more than "
            f"{MAX_REMOVE_FRACTION:.0%}, needs force); nothing was changed"
        )
    return ""


def mapping_json(rule: MappingRule) -> dict:
    """A rule as the API shows it: the stored form, the system's label and OID, the revision."""
    data = rule_to_dict(rule)
    data["code_system"] = rule.code_system.label
    data["code_system_oid"] = rule.code_system.oid
    if rule.id is not None:
        data["revision"] = revision(rule)
    return data


def match_json(match: TopicMatch) -> dict:
    return {
        "topic_id": match.topic.id,
        "title": match.topic.title,
        "url": match.topic.url,
        "language": match.topic.language,
        "mapping_id": match.rule.id if match.rule else None,
        "distance": match.distance,
    }


class MappingAdmin:
    def __init__(self, store: SqlMappingStore, history: SqlHistoryStore, knowledge: KnowledgeService):
        self.store = store
        self.history = history
        self.knowledge = knowledge  # validates against served topics; refreshed after each change

    # -- validation --------------------------------------------------------------------------

    def rule_from(self, data: object, *, exclude_id: int | None = None) -> MappingRule:
        """A validated rule from a JSON object or form; ValidationFailed lists every bad field."""
        if not isinstance(data, dict):
            raise InvalidRequest("body", "a JSON object is required", 400)
        rule, problems = validate(data, self.knowledge.topic)
        if rule is not None:
            for other in self.store.find(code_system=rule.code_system, code=rule.code, limit=10_000)[0]:
                if other.id != exclude_id and identity(other) == identity(rule):
                    problems.append(("topic_id", f"duplicates mapping {other.id}"))
        errors = [{"field": f, "message": m} for f, m in unknown_fields(data) + problems]
        if errors or rule is None:  # no rule without a problem
            raise ValidationFailed(errors)
        return rule

    # -- single changes ----------------------------------------------------------------------

    def create(self, data: dict, actor: str) -> MappingRule:
        rule = self.rule_from(data)
        added = self.store.create(rule, actor=actor, reason=_reason(data))
        self.knowledge.refresh_now()
        return added

    def create_many(
        self, items: list[dict], actor: str, *, action: str = "create", reason: str = ""
    ) -> tuple[list[MappingRule], int | None]:
        """Add several rules as one version (accepted suggestions), each validated as ``create``
        validates; any bad one and nothing is written (422, ``line`` = its place in the batch)."""
        rules, errors, seen = [], [], set()
        for line, data in enumerate(items, 1):
            try:
                rule = self.rule_from(data)
            except ValidationFailed as exc:
                errors += [{"line": line, **e} for e in exc.errors]
                continue
            if identity(rule) in seen:
                errors.append({"line": line, "field": "topic_id", "message": "twice in this batch"})
            seen.add(identity(rule))
            rules.append(rule)
        if errors:
            raise ValidationFailed(errors)
        if not rules:
            return [], None
        version = self.store.apply(
            [Change(None, r) for r in rules], actor=actor, action=action, reason=reason[:MAX_REASON_LENGTH]
        )
        self.knowledge.refresh_now()
        added = [entry.after for entry in self.history.audit(version=version, limit=len(rules))[0]]
        return [rule_from_dict(a) for a in reversed(added)], version

    def update(self, rule_id: int, data: dict, expected: str | None, actor: str) -> MappingRule:
        if self.store.get(rule_id) is None:
            raise InvalidRequest("id", f"no mapping {rule_id}", 404)
        rule = self.rule_from(data, exclude_id=rule_id)
        updated = self.store.update(rule_id, rule, expected=expected, actor=actor, reason=_reason(data))
        self.knowledge.refresh_now()
        return updated

    def delete(self, rule_id: int, expected: str | None, actor: str, reason: str = "") -> int:
        version = self.store.delete(rule_id, expected=expected, actor=actor, reason=reason)
        self.knowledge.refresh_now()
        return version

    def restore(self, n: int, actor: str, reason: str = "") -> int | None:
        version = self.store.restore(n, actor=actor, reason=reason)
        self.knowledge.refresh_now()
        return version

    # -- CSV -----------------------------------------------------------------------------------

    def plan_import(self, text: str, mode: str = "merge") -> ImportPlan:
        """The diff of importing ``text``; ValidationFailed (one message per bad line) if any line
        is bad. ``merge`` adds and updates; ``replace`` also removes rules the CSV lacks."""
        if mode not in ("merge", "replace"):
            raise InvalidRequest("mode", "must be merge or replace", 400)
        base = self.store.version()
        rules, errors = csv_io.parse_checked(text, self.knowledge.topic)
        if errors:
            raise ValidationFailed([{"line": e.line, "field": e.field, "message": e.message} for e in errors])
        current = {identity(r): r for r in self.store.rules()}
        plan = ImportPlan(mode, base)
        incoming = set()
        for rule in rules:
            key = identity(rule)
            incoming.add(key)
            old = current.get(key)
            if old is None:
                plan.added.append(rule)
            elif (old.priority, old.reason) != (rule.priority, rule.reason):
                plan.changed.append((old, rule))
            else:
                plan.unchanged += 1
        if mode == "replace":
            plan.removed = [r for key, r in current.items() if key not in incoming]
            plan.guard = removal_guard(len(plan.removed), len(current))
        return plan

    def import_csv(
        self,
        text: str,
        *,
        mode: str,
        actor: str,
        reason: str = "",
        dry_run: bool = False,
        expected_version: int | None = None,
        force: bool = False,
    ) -> tuple[ImportPlan, int | None]:
        """Plan, and unless ``dry_run`` apply as one version (None when nothing changes). A
        replace that trips the removal guard is refused (409, parameter ``force``, nothing
        written) unless ``force``; a dry run shows the plan with ``guard`` set."""
        plan = self.plan_import(text, mode)
        if dry_run or not plan.changes:
            return plan, None
        if plan.guard and not force:
            raise InvalidRequest("force", plan.guard, 409)
        version = self.store.apply(
            plan.changes,
            actor=actor,
            action="import",
            reason=reason or f"CSV import ({mode})",
            expected_version=expected_version,
        )
        self.knowledge.refresh_now()
        return plan, version

    def export_csv(self) -> str:
        return csv_io.format_rules(self.store.rules())

    # -- preview -------------------------------------------------------------------------------

    def proposed_rules(self, changes: Iterable[dict]) -> list[MappingRule]:
        """The current rules with proposed changes applied, in memory only.

        Each change is ``{"op": "add", "rule": {...}}``, ``{"op": "update", "id": n, "rule":
        {...}}`` or ``{"op": "delete", "id": n}``; a bare rule object means add.
        """
        rules = {r.id: r for r in self.store.rules()}
        for change in changes:
            if not isinstance(change, dict):
                raise InvalidRequest("with", "each change must be a JSON object", 400)
            if "rule" not in change and "op" not in change:
                change = {"op": "add", "rule": change}
            op = change.get("op", "add")
            if op not in ("add", "update", "delete"):
                raise InvalidRequest("with", "op must be add, update or delete", 400)
            rule_id = change.get("id")
            if op in ("update", "delete") and rule_id not in rules:
                raise InvalidRequest("with", f"no mapping {rule_id}", 404)
            if op == "delete":
                del rules[rule_id]
                continue
            rule = self.rule_from(change.get("rule"), exclude_id=rule_id)
            # an update's id is a key of rules, so one of the stored rules' ids
            rules[rule_id if op == "update" else -1 - len(rules)] = rule if op == "add" else replace(rule, id=rule_id)
        return list(rules.values())

    def preview(self, params: list[tuple[str, str]], changes: list[dict]) -> dict:
        """What the request returns now and with the proposed changes (pure: no writes)."""
        request = parse_request(params)
        proposed = self.proposed_rules(changes)
        knowledge = self.knowledge
        now = knowledge.resolve(request)
        after = resolver.resolve(request, resolver.index_rules(proposed), knowledge.topic, knowledge.max_topics)
        return {
            "now": [match_json(m) for m in now],
            "after": [match_json(m) for m in after],
            "changed": [m.topic.id for m in now] != [m.topic.id for m in after],
        }


def parse_changes(values: list[str]) -> list[dict]:
    """``with`` query values: each a JSON change object or a JSON list of them."""
    changes = []
    for value in values:
        try:
            data = json.loads(value)
        except ValueError:
            raise InvalidRequest("with", 'must be JSON: {"op": "add", "rule": {...}}', 400) from None
        changes.extend(data if isinstance(data, list) else [data])
    return changes


def _reason(data: dict) -> str:
    return str(data.get("change_reason") or data.get("reason") or "").strip()[:MAX_REASON_LENGTH]
