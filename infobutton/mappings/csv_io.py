"""Mapping rules as CSV, one rule per row: the reviewed files in ``mappings/`` and the
admin import/export format. Parsing validates every line and reports each bad one."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from ..models import InvalidRequest, MappingRule, Topic
from .validation import FIELDS, check, rule_and_errors, rule_from_fields

__all__ = ["FIELDS", "LineError", "format_rules", "parse", "parse_checked"]


@dataclass(frozen=True)
class LineError:
    """What is wrong with one line: its number as an editor shows it, the column, why."""

    line: int
    field: str
    message: str


REQUIRED = ("code_system", "code", "topic_id")


def _reader(text: str) -> tuple[csv.DictReader, LineError | None]:
    """A reader over ``text`` (a byte-order mark, as spreadsheets save, dropped), or the header's
    error when a required column is missing."""
    # newline="": the csv module sees every line ending (\n, \r\n, a bare \r) as one
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    missing = set(REQUIRED) - set(reader.fieldnames or ())
    if missing:
        return reader, LineError(1, "header", f"missing columns: {', '.join(sorted(missing))}")
    return reader, None


def parse_checked(text: str, topic_of: Callable[[str], Topic | None]) -> tuple[list[MappingRule], list[LineError]]:
    """Like ``parse``, and every rule also passes ``check`` and appears once (one error per line)."""
    reader, header = _reader(text)
    if header is not None:
        return [], [header]
    rules: list[MappingRule] = []
    errors: list[LineError] = []
    seen: dict[tuple, int] = {}  # rule without priority and reason → its line
    for row in reader:
        line = reader.line_num
        if None in row:
            errors.append(LineError(line, "line", "more fields than the header names"))
            continue
        rule, problems = rule_and_errors(row)  # a rule, or the problems
        if rule is not None:
            problems = check(rule, topic_of)
            key = (rule.code_system, rule.code, rule.topic_id, rule.scope, rule.min_age, rule.max_age, rule.gender)
            if not problems and key in seen:
                problems = [("line", f"duplicates the rule on line {seen[key]}")]
            if not problems:
                seen[key] = line
                rules.append(rule)
        if problems:
            errors.append(LineError(line, *problems[0]))
    return rules, errors


def parse(text: str) -> tuple[list[MappingRule], list[LineError]]:
    """All rules of a CSV text, and one error per bad line (line numbers as an editor shows them)."""
    reader, header = _reader(text)
    if header is not None:
        return [], [header]
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
        writer.writerow(
            [
                r.code_system.label,
                r.code,
                r.topic_id,
                r.scope.value,
                r.priority,
                _number(r.min_age),
                _number(r.max_age),
                r.gender.value if r.gender else "",
                r.reason,
            ]
        )
    return out.getvalue()
