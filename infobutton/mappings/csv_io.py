"""Mapping rules as CSV, one rule per row: the reviewed files in ``mappings/`` and the
admin import/export format. Parsing validates every line and reports each bad one.

The context-limit columns (``audience``, ``task``, ``setting``, ``language``, ``age_group``) come
last and may be left out: a file written before they existed reads as rules without limits."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..models import InvalidRequest, MappingRule, Topic
from .constraints import LIMITS, codes_of
from .validation import FIELDS, check, rule_and_errors, rule_from_fields

__all__ = ["FIELDS", "LineError", "cells", "format_rules", "parse", "parse_checked"]


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
    seen: dict[MappingRule, int] = {}  # rule without priority and reason → its line
    for row in reader:
        line = reader.line_num
        if None in row:
            errors.append(LineError(line, "line", "more fields than the header names"))
            continue
        rule, problems = rule_and_errors(row)  # a rule, or the problems
        if rule is not None:
            problems = check(rule, topic_of)
            key = replace(rule, priority=0, reason="")  # what makes it the same rule, limits included
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


def cells(rule: MappingRule) -> list[str]:
    """A rule's fields as CSV cells, in ``FIELDS`` order (a context limit: its codes separated by
    single spaces, "" for any)."""
    return [
        rule.code_system.label,
        rule.code,
        rule.topic_id,
        rule.scope.value,
        str(rule.priority),
        _number(rule.min_age),
        _number(rule.max_age),
        rule.gender.value if rule.gender else "",
        rule.reason,
        *(" ".join(codes_of(rule, limit)) for limit in LIMITS),
    ]


def format_rules(rules: list[MappingRule]) -> str:
    """CSV that ``parse`` reads back to the same rules."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in sorted(rules, key=lambda r: (r.code_system.name, r.code, -r.priority, r.topic_id, cells(r)[9:])):
        writer.writerow(cells(r))
    return out.getvalue()
