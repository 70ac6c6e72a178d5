"""Whether a mapping rule may be served: each field well formed, the code real in its system, the
topic active and English. Shared by the CSV format, the admin service and suggestions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import terminology
from ..models import (
    MAX_AGE_YEARS,
    Code,
    CodeSystem,
    Gender,
    InvalidRequest,
    MappingRule,
    Recipient,
    Scope,
    Topic,
)
from .constraints import AGE_GROUP, LIMITS, Limit, age_group_conflicts

# The limits of a rule's fields, each stated once: the messages, the OpenAPI document
# (``schemas.MappingInput``) and the form read them from here. An age is at most
# ``models.MAX_AGE_YEARS``, as a request's age is.
MAX_PRIORITY = 1000  # a priority is between -MAX_PRIORITY and MAX_PRIORITY
MAX_REASON_LENGTH = 1000  # characters of a rule's reason, and of a change's reason for the audit log
MAX_CODES = 100  # codes in one context limit (more than any list has, repeats included)


class ValidationFailed(InvalidRequest):
    """422 with one message per bad field (``field``) or CSV line (``line``)."""

    def __init__(self, errors: list[dict]):
        first = errors[0]
        super().__init__(str(first.get("field", "body")), first["message"], 422)
        self.errors = errors


class _Bad(ValueError):
    """Why a field's value is refused."""


# -- one reader per field: a raw value (CSV or form text, or a JSON value) → the rule's value ------


def _text(value: object) -> str:
    """Text as sent, stripped ("" for none); not text, or text that cannot be stored (NUL in
    PostgreSQL, a lone surrogate in UTF-8), is refused. Values are never repeated back."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad("must be text")
    if "\x00" in value:
        raise _Bad("must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise _Bad("must be valid Unicode text") from None
    return value.strip()


def _number_text(value: object, message: str) -> str:
    """A number as text: JSON numbers and text are read alike, anything else is ``message``."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Bad(message)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _required(value: object) -> str:
    text = _text(value)
    if not text:
        raise _Bad("required")
    return text


def _code_system(value: object) -> CodeSystem:
    try:
        return terminology.code_system(_required(value), "code_system")
    except InvalidRequest as exc:
        raise _Bad(exc.message) from None


def _scope(value: object) -> Scope:
    try:
        return Scope(_text(value) or Scope.DESCENDANTS.value)
    except (ValueError, _Bad):
        raise _Bad("must be exact or descendants") from None


def _priority(value: object) -> int:
    whole = "must be a whole number"
    try:
        number = int(_number_text(value, whole) or 0)
    except ValueError:
        raise _Bad(whole) from None
    if not -MAX_PRIORITY <= number <= MAX_PRIORITY:
        raise _Bad(f"must be between {-MAX_PRIORITY} and {MAX_PRIORITY}")
    return number


def _age(field: str) -> Callable[[object], float | None]:
    def read(value: object) -> float | None:
        text = _number_text(value, "must be a number")
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            raise _Bad("must be a number") from None
        if not 0 <= number <= MAX_AGE_YEARS:  # NaN too
            raise _Bad(f"{field} must be between 0 and {MAX_AGE_YEARS} years")
        return number

    return read


def _gender(value: object) -> Gender | None:
    try:
        text = _text(value)
        return Gender(text.upper()) if text else None
    except (ValueError, _Bad):
        raise _Bad("must be F, M or UN") from None


def _reason(value: object) -> str:
    text = _text(value)
    if len(text) > MAX_REASON_LENGTH:
        raise _Bad(f"at most {MAX_REASON_LENGTH} characters")
    # one kind of line break, so every stored reason writes to CSV and reads back the same
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _optional_id(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad("must be a whole number")
    return value


# A rule's own fields (the MappingRule attribute, the CSV column and the JSON name), each with its
# reader, in the order CSV columns are written.
SCALARS: dict[str, Callable[[object], object]] = {
    "code_system": _code_system,
    "code": _required,
    "topic_id": _required,
    "scope": _scope,
    "priority": _priority,
    "min_age": _age("min_age"),
    "max_age": _age("max_age"),
    "gender": _gender,
    "reason": _reason,
}
# Every field of a rule, by its CSV column name (the context limits last: ``constraints.LIMITS``;
# the JSON API and the form call those by their plural ``field`` names).
FIELDS = (*SCALARS, *(limit.column for limit in LIMITS))
# Sent with a rule by the JSON API and the form but not part of it: checked when present.
CHANGE_FIELDS: dict[str, Callable[[object], object]] = {
    "change_reason": _reason,  # why, for the audit log
    "revision": _text,  # instead of If-Match
    "code_system_oid": _text,  # as the API shows a rule
    "id": _optional_id,
}
# What a JSON object or form may hold: anything else is an unknown field.
JSON_FIELDS = frozenset({*SCALARS, *(limit.field for limit in LIMITS), *CHANGE_FIELDS})


def _limit(limit: Limit, row: dict) -> tuple[str, tuple[str, ...], str | None]:
    """A context limit's codes, read from its JSON name (a list) if the row has it, else from its
    CSV column (codes separated by spaces): the name it came by, the codes, and why not."""
    if limit.field not in row:
        return limit.column, *limit.parse(row.get(limit.column))
    value = row[limit.field]
    if value is not None and not isinstance(value, list | tuple):
        return limit.field, (), "must be a list of codes"
    if value is not None and len(value) > MAX_CODES:
        return limit.field, (), f"at most {MAX_CODES} codes"
    return limit.field, *limit.parse(value)


def unknown_fields(data: dict) -> list[tuple[str, str]]:
    """A problem for each name of a JSON object or form that is no field of a rule or a change."""
    return [(str(name), "unknown field") for name in data if name not in JSON_FIELDS]


def rule_and_errors(row: dict) -> tuple[MappingRule | None, list[tuple[str, str]]]:
    """One rule from string (or JSON) fields, and one (field, message) per bad field: each field
    by its reader (``SCALARS``, and ``CHANGE_FIELDS`` when present), then the age range, then each
    context limit (a problem reported under the name it came by)."""
    errors: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    for name, read in (*SCALARS.items(), *((n, r) for n, r in CHANGE_FIELDS.items() if n in row)):
        try:
            values[name] = read(row.get(name))
        except _Bad as exc:
            errors.append((name, str(exc)))
    low, high = values.get("min_age"), values.get("max_age")
    if low is not None and high is not None and low >= high:
        errors.append(("max_age", "must be greater than min_age"))
    ages_bad = {"min_age", "max_age"} & {name for name, _ in errors}
    limits: dict[str, Any] = {}
    for limit in LIMITS:
        name, limits[limit.field], problem = _limit(limit, row)
        if problem:
            errors.append((name, problem))
        elif limit is AGE_GROUP and not ages_bad:
            errors += [(name, message) for message in age_group_conflicts(limits[limit.field], low, high)]
    if errors:
        return None, errors
    rule = {name: values[name] for name in SCALARS}
    rule["code"] = terminology.normalise(rule["code_system"], rule["code"])
    limits["audiences"] = tuple(Recipient(code) for code in limits["audiences"])
    return MappingRule(**rule, **limits), []


def validate(row: dict, topic_of: Callable[[str], Topic | None]) -> tuple[MappingRule | None, list[tuple[str, str]]]:
    """A rule that may be served, or every problem: each bad field (``rule_and_errors``), and
    whether the code is real and the topic served (``check``) for those that are well formed.
    The JSON API, the form, CSV import and the CLI all validate a rule through here."""
    rule, problems = rule_and_errors(row)
    if rule is not None:
        problems = check(rule, topic_of)
        return (None if problems else rule), problems
    bad = {name for name, _ in problems}
    if not bad & {"code_system", "code"}:
        problems += check_code(_code_system(row.get("code_system")), _required(row.get("code")))
    if "topic_id" not in bad:
        problems += check_topic(_required(row.get("topic_id")), topic_of)
    return None, problems


def rule_from_fields(row: dict[str, str]) -> MappingRule:
    """One rule from string fields; InvalidRequest names the first bad field."""
    rule, errors = rule_and_errors(row)
    if rule is None:  # then errors says why
        raise InvalidRequest(*errors[0])
    return rule


def check(rule: MappingRule, topic_of: Callable[[str], Topic | None]) -> list[tuple[str, str]]:
    """What a well-formed rule still needs before it may be served: the code exists in its
    system (ICD-10-CM tabular list; SNOMED CT Verhoeff and LOINC mod-10 check digits; RxNorm,
    NDC, CPT, MeSH shapes) and the topic exists, is active and is an English topic."""
    return check_code(rule.code_system, rule.code) + check_topic(rule.topic_id, topic_of)


def check_code(system: CodeSystem, code: str) -> list[tuple[str, str]]:
    """The code exists, and is not an ICD-10-CM code with a 7th-character extension: those are
    answered as their family (``terminology.family``), so a rule on one would never fire."""
    found = Code(system, terminology.normalise(system, code))
    if not terminology.is_valid(found):
        return [("code", f"{code} is not a valid {system.label} code")]
    family = terminology.family(found)
    if family != found:
        return [
            (
                "code",
                f"{found.value} is {family.value} with a 7th character, which never changes the answer:"
                f" map {family.value}",
            )
        ]
    return []


def check_topic(topic_id: str, topic_of: Callable[[str], Topic | None]) -> list[tuple[str, str]]:
    topic = topic_of(topic_id)
    if topic is None:
        return [("topic_id", f"no topic {topic_id!r}")]
    if topic.status != "active":
        return [("topic_id", f"topic {topic_id!r} is {topic.status}, not served")]
    if topic.language != "en":
        return [("topic_id", f"map the English topic; {topic_id!r} is served through its English twin")]
    return []
