"""Mapping rules as CSV, one rule per row: the reviewed files in ``mappings/`` and the
admin import/export format. Parsing validates every line and reports each bad one.

The context-limit columns (``audience``, ``task``, ``setting``, ``language``, ``age_group``) come
last and may be left out: a file written before they existed reads as rules without limits.

Safe to open in a spreadsheet: a written cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return gets a leading apostrophe (OWASP, "CSV Injection"), so a spreadsheet shows it as
text instead of running it as a formula; reading drops that apostrophe again, so an export
imports back unchanged. A cell longer than the csv module reads (131,072 characters) is a line
error, not a crash; the longest field a rule has is its reason
(``validation.MAX_REASON_LENGTH`` characters)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from ..models import InvalidRequest, MappingRule, Topic
from .constraints import LIMITS, codes_of
from .validation import FIELDS, rule_from_fields, validate

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


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(cell: str) -> str:
    """A cell as written: one more apostrophe before a formula character that leads it after any
    apostrophes, so reading gives back exactly the cell."""
    return "'" + cell if cell.lstrip("'").startswith(FORMULA_STARTS) else cell


def _as_written(cell):
    """A cell as read: ``neutralised`` undone (``None`` and the overflow list left alone)."""
    if isinstance(cell, str) and cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def _rows(reader: csv.DictReader) -> Iterator[tuple[int, dict | LineError]]:
    """(line, row) per data line, with its cells as written; a line the csv module cannot read
    is a LineError, after which reading stops (the rest of the file is not trusted)."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # raised before the line that starts the record is counted
            line = reader.line_num + 1
            yield line, LineError(line, "line", f"not readable as CSV: {exc}")
            return
        yield reader.line_num, {key: _as_written(value) for key, value in row.items()}


def parse_checked(text: str, topic_of: Callable[[str], Topic | None]) -> tuple[list[MappingRule], list[LineError]]:
    """Like ``parse``, and every rule also passes ``check`` and appears once (one error per line)."""
    reader, header = _reader(text)
    if header is not None:
        return [], [header]
    rules: list[MappingRule] = []
    errors: list[LineError] = []
    seen: dict[MappingRule, int] = {}  # rule without priority and reason → its line
    for line, row in _rows(reader):
        if isinstance(row, LineError):
            errors.append(row)
            break
        if None in row:
            errors.append(LineError(line, "line", "more fields than the header names"))
            continue
        rule, problems = validate(row, topic_of)  # a rule, or the problems
        if rule is not None:
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
    for line, row in _rows(reader):
        if isinstance(row, LineError):
            errors.append(row)
            break
        try:
            rules.append(rule_from_fields(row))
        except InvalidRequest as exc:
            errors.append(LineError(line, exc.parameter, exc.message))
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
    """CSV that ``parse`` reads back to the same rules, every cell safe to open (``neutralised``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in sorted(rules, key=lambda r: (r.code_system.name, r.code, -r.priority, r.topic_id, cells(r)[9:])):
        writer.writerow([neutralised(cell) for cell in cells(r)])
    return out.getvalue()
