"""Suggested mappings for librarians: which codes to look at, accept and reject.

The API, the web UI and the CLI all go through ``SuggestionAdmin``: suggestions come from the pure
``mappings.suggestions.suggest`` over the worker's current rules, topics and rejections; an accepted
suggestion becomes a curated rule through ``MappingAdmin`` (validated, audited as ``accept`` with
the evidence as its reason, one version per batch, live at once here and within
``version_check_interval`` elsewhere); rejections are kept in ``store.rejections``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .. import terminology
from ..knowledge import KnowledgeService
from ..models import Code, CodeSystem, InvalidRequest, MappingRule
from ..store.rejections import Key, Rejection, SqlRejectionStore
from ..usage import UsageRecorder
from .service import MappingAdmin
from .suggestions import Suggestion, suggest
from .validation import MAX_REASON_LENGTH, ValidationFailed, check_code

MAX_CODES = 5000  # billable codes one prefix may cover (a chapter such as C has 1,226)
GAP_CODES = 1000  # the gap report's codes one suggestion run takes, most asked first


def suggestion_json(s: Suggestion) -> dict:
    return {
        "code_system": s.code_system.label,
        "code_system_oid": s.code_system.oid,
        "code": s.code,
        "topic_id": s.topic_id,
        "topic_title": s.topic_title,
        "scope": s.scope.value,
        "confident": s.confident,
        "doubts": list(s.doubts),
        "covers": list(s.covers),
        "evidence": {
            "code": s.evidence.code,
            "title": s.evidence.title,
            "name": s.evidence.name,
            "kind": s.evidence.kind,
            "words": list(s.evidence.words),
            "exact": s.evidence.exact,
            "text": s.evidence.sentence(),
        },
        "reason": s.reason(),
    }


def rejection_json(r: Rejection) -> dict:
    return {
        "code_system": r.code_system.label,
        "code_system_oid": r.code_system.oid,
        "code": r.code,
        "topic_id": r.topic_id,
        "at": r.at,
        "actor": r.actor,
        "reason": r.reason,
    }


def _gap_code(gap: dict) -> Code:
    """The Code of a gap report row (``usage.UsageRecorder.gaps``)."""
    return Code(terminology.code_system(gap["code_system"]), gap["code"])


def _split(codes: str | Iterable[str]) -> list[str]:
    parts = re.split(r"[\s,]+", codes) if isinstance(codes, str) else list(codes)
    return [p for p in (str(x).strip() for x in parts) if p]


class SuggestionAdmin:
    def __init__(
        self, knowledge: KnowledgeService, rejections: SqlRejectionStore, mappings: MappingAdmin, usage: UsageRecorder
    ):
        self.knowledge = knowledge
        self.rejections = rejections
        self.mappings = mappings  # accepted suggestions become rules here
        self.usage = usage  # the gap report's codes

    # -- what to look at ---------------------------------------------------------------------

    def codes(
        self, *, codes: str | Iterable[str] | None = None, prefix: str | None = None, gaps: bool = False, days: int = 30
    ) -> list[Code]:
        """The asked codes: listed ones, the gap report's, or every billable code under a prefix
        (exactly one of them)."""
        given = [name for name, value in (("codes", codes), ("prefix", prefix), ("gaps", gaps)) if value]
        if len(given) != 1:
            raise InvalidRequest(given[-1] if given else "codes", "give exactly one of codes, prefix or gaps")
        if codes:
            values = _split(codes)
            found = [Code(CodeSystem.ICD10CM, terminology.normalise(CodeSystem.ICD10CM, v)) for v in values]
            bad = [v for v, c in zip(values, found, strict=True) if not terminology.is_valid(c)]
            if bad:
                raise InvalidRequest("codes", f"not ICD-10-CM codes: {', '.join(bad[:10])}")
            return found
        if prefix:
            billable = terminology.billable_under(prefix)
            if len(billable) > MAX_CODES:
                raise InvalidRequest(
                    "prefix", f"{prefix!r} covers {len(billable)} billable codes; narrow it (at most {MAX_CODES})"
                )
            return [Code(CodeSystem.ICD10CM, v) for v in billable]
        return [_gap_code(g) for g in self.usage.gaps(days=days, limit=GAP_CODES)]

    def suggest(self, codes: Iterable[Code]) -> list[Suggestion]:
        knowledge = self.knowledge
        return suggest(codes, knowledge.rules(), knowledge.topic, knowledge.concepts, self.rejections.keys())

    def annotate_gaps(self, report: list[dict]) -> list[dict]:
        """The gap report with each code's suggestions (``suggestions``) added."""
        codes = [_gap_code(g) for g in report]
        found = self.suggest(codes)
        return [
            g
            | {"suggestions": [suggestion_json(s) for s in found if c.value in s.covers and s.code_system is c.system]}
            for g, c in zip(report, codes, strict=True)
        ]

    # -- accept --------------------------------------------------------------------------------

    def current(self, system: CodeSystem, code: str, topic_id: str) -> Suggestion | None:
        """The suggestion of ``topic_id`` for ``code`` as it stands now, if it is still made."""
        return next((s for s in self.suggest([Code(system, code)]) if s.key == (system, code, topic_id)), None)

    def accept(self, data: dict, actor: str) -> MappingRule:
        """One suggestion (``code_system``, ``code``, ``topic_id``) as a curated rule; 409 when it
        is no longer suggested (accepted, curated, rejected or the evidence went)."""
        system, code, topic_id = self.key_of(data)
        found = self.current(system, code, topic_id)
        if found is None:
            raise InvalidRequest(
                "topic_id",
                f"{topic_id} is not a current suggestion for"
                f" {system.label} {code} (already curated, rejected, or no"
                " title holds its name)",
                409,
            )
        reason = str(data.get("change_reason") or "").strip() or f"accepted {found.reason()}"
        rules, _ = self.mappings.create_many([found.rule_fields()], actor, action="accept", reason=reason)
        return rules[0]

    def apply(self, found: list[Suggestion], actor: str, reason: str = "") -> tuple[list[MappingRule], int | None]:
        """Accept the confident ones among ``found`` as one version; (rules, version)."""
        confident = [s for s in found if s.confident]
        if not confident:
            return [], None
        summary = "; ".join(f"{s.code} \u2192 {s.topic_id} ({s.evidence.sentence()})" for s in confident)
        reason = reason.strip() or f"accepted {len(confident)} confident suggestion(s): {summary}"
        return self.mappings.create_many([s.rule_fields() for s in confident], actor, action="accept", reason=reason)

    # -- reject --------------------------------------------------------------------------------

    def key_of(self, data: object) -> Key:
        """(code system, code, topic) from a JSON object or form; 422 naming each bad field."""
        if not isinstance(data, dict):
            raise InvalidRequest("body", "a JSON object is required", 400)
        errors = []
        raw_system = str(data.get("code_system") or "ICD-10-CM")
        try:
            system = terminology.code_system(raw_system, "code_system")
        except InvalidRequest as exc:
            errors.append({"field": "code_system", "message": exc.message})
            system = None
        code = str(data.get("code") or "").strip()
        topic_id = str(data.get("topic_id") or "").strip()
        if not code:
            errors.append({"field": "code", "message": "required"})
        elif system is not None:
            code = terminology.normalise(system, code)
            errors += [{"field": f, "message": m} for f, m in check_code(system, code)]
        if not topic_id:
            errors.append({"field": "topic_id", "message": "required"})
        elif self.knowledge.topic(topic_id) is None:
            errors.append({"field": "topic_id", "message": f"no topic {topic_id!r}"})
        if errors or system is None:  # no system without an error
            raise ValidationFailed(errors)
        return system, code, topic_id

    def reject(self, items: list[dict], actor: str, reason: str = "") -> list[Key]:
        """Reject each (code system, code, topic) in one transaction; those newly rejected."""
        keys = [self.key_of(item) for item in items]
        return self.rejections.reject(keys, actor=actor, reason=reason.strip()[:MAX_REASON_LENGTH])

    def unreject(self, items: list[dict], actor: str, reason: str = "") -> list[Key]:
        keys = [self.key_of(item) for item in items]
        return self.rejections.unreject(keys, actor=actor, reason=reason.strip()[:MAX_REASON_LENGTH])
