"""Mapping rules as CSV, one rule per row: the reviewed files in ``mappings/`` and the
admin import/export format. Parsing validates every line and reports each bad one."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from . import terminology
from .models import Gender, InvalidRequest, MappingRule, Scope

FIELDS = ("code_system", "code", "topic_id", "scope", "priority", "min_age", "max_age", "gender", "reason")


@dataclass(frozen=True)
class LineError:
    line: int
    field: str
    message: str


def _age(value: str, field: str) -> float | None:
    if not value:
        return None
    number = float(value)
    if not 0 <= number <= 150:
        raise ValueError(f"{field} must be between 0 and 150 years")
    return number


def rule_from_fields(row: dict[str, str]) -> MappingRule:
    """One rule from string fields; InvalidRequest names the first bad field."""
    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    system = terminology.code_system(get("code_system"), "code_system")
    if not get("code"):
        raise InvalidRequest("code", "required")
    if not get("topic_id"):
        raise InvalidRequest("topic_id", "required")
    try:
        scope = Scope(get("scope") or "descendants")
    except ValueError:
        raise InvalidRequest("scope", "must be exact or descendants") from None
    try:
        priority = int(get("priority") or 0)
    except ValueError:
        raise InvalidRequest("priority", "must be a whole number") from None
    ages = {}
    for name in ("min_age", "max_age"):
        try:
            ages[name] = _age(get(name), name)
        except ValueError as exc:
            raise InvalidRequest(name, str(exc) if "between" in str(exc) else "must be a number") from None
    if ages["min_age"] is not None and ages["max_age"] is not None and ages["min_age"] >= ages["max_age"]:
        raise InvalidRequest("max_age", "must be greater than min_age")
    try:
        gender = Gender(get("gender").upper()) if get("gender") else None
    except ValueError:
        raise InvalidRequest("gender", "must be F, M or UN") from None
    return MappingRule(
        code_system=system,
        code=terminology.normalise(system, get("code")),
        topic_id=get("topic_id"),
        scope=scope,
        priority=priority,
        gender=gender,
        reason=get("reason"),
        **ages,
    )


def parse(text: str) -> tuple[list[MappingRule], list[LineError]]:
    """All rules of a CSV text, and one error per bad line (line numbers as an editor shows them)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"code_system", "code", "topic_id"} - set(reader.fieldnames or ())
    if missing:
        return [], [LineError(1, "header", f"missing columns: {', '.join(sorted(missing))}")]
    rules, errors = [], []
    for row in reader:
        try:
            rules.append(rule_from_fields(row))
        except InvalidRequest as exc:
            errors.append(LineError(reader.line_num, exc.parameter, exc.message))
    return rules, errors


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(value)


def format_rules(rules: list[MappingRule]) -> str:
    """CSV that ``parse`` reads back to the same rules."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in sorted(rules, key=lambda r: (r.code_system.name, r.code, -r.priority, r.topic_id)):
        writer.writerow([
            r.code_system.label, r.code, r.topic_id, r.scope.value, r.priority,
            _number(r.min_age), _number(r.max_age), r.gender.value if r.gender else "", r.reason,
        ])
    return out.getvalue()
