"""Whether a mapping rule may be served: each field well formed, the code real in its system, the
topic active and English. Shared by the CSV format, the admin service and suggestions."""

from __future__ import annotations

from collections.abc import Callable

from .. import terminology
from ..models import Code, CodeSystem, Gender, InvalidRequest, MappingRule, Recipient, Scope, Topic
from .constraints import AGE_GROUP, LIMITS, age_group_conflicts

# Every field of a rule, by its CSV column name (the context limits last: ``constraints.LIMITS``;
# the JSON API and the form call those by their plural ``field`` names).
FIELDS = (
    "code_system",
    "code",
    "topic_id",
    "scope",
    "priority",
    "min_age",
    "max_age",
    "gender",
    "reason",
    *(limit.column for limit in LIMITS),
)


class ValidationFailed(InvalidRequest):
    """422 with one message per bad field (``field``) or CSV line (``line``)."""

    def __init__(self, errors: list[dict]):
        first = errors[0]
        super().__init__(str(first.get("field", "body")), first["message"], 422)
        self.errors = errors


def _age(value: str, field: str) -> float | None:
    if not value:
        return None
    number = float(value)
    if not 0 <= number <= 150:
        raise ValueError(f"{field} must be between 0 and 150 years")
    return number


def rule_and_errors(row: dict) -> tuple[MappingRule | None, list[tuple[str, str]]]:
    """One rule from string (or JSON scalar) fields, and one (field, message) per bad field.

    A context limit is read from its JSON name (``audiences``: a list, or text) if the row has
    it, else from its CSV column (``audience``: codes separated by spaces), and a problem is
    reported under the name it came by."""

    def get(name: str) -> str:
        value = row.get(name)
        return "" if value is None else str(value).strip()

    errors: list[tuple[str, str]] = []
    system = None
    try:
        system = terminology.code_system(get("code_system"), "code_system")
    except InvalidRequest as exc:
        errors.append(("code_system", exc.message if get("code_system") else "required"))
    for name in ("code", "topic_id"):
        if not get(name):
            errors.append((name, "required"))
    scope = Scope.DESCENDANTS
    try:
        scope = Scope(get("scope") or "descendants")
    except ValueError:
        errors.append(("scope", "must be exact or descendants"))
    priority = 0
    try:
        priority = int(get("priority") or 0)
        if not -1000 <= priority <= 1000:
            errors.append(("priority", "must be between -1000 and 1000"))
    except ValueError:
        errors.append(("priority", "must be a whole number"))
    ages: dict[str, float | None] = {"min_age": None, "max_age": None}
    for name in ages:
        try:
            ages[name] = _age(get(name), name)
        except ValueError as exc:
            errors.append((name, str(exc) if "between" in str(exc) else "must be a number"))
    if ages["min_age"] is not None and ages["max_age"] is not None and ages["min_age"] >= ages["max_age"]:
        errors.append(("max_age", "must be greater than min_age"))
    gender = None
    try:
        gender = Gender(get("gender").upper()) if get("gender") else None
    except ValueError:
        errors.append(("gender", "must be F, M or UN"))
    if len(get("reason")) > 1000:
        errors.append(("reason", "at most 1000 characters"))
    limits: dict[str, tuple[str, ...]] = {}
    for limit in LIMITS:
        key = limit.field if limit.field in row else limit.column
        limits[limit.field], problem = limit.parse(row.get(key))
        if problem:
            errors.append((key, problem))
        elif limit is AGE_GROUP and not {"min_age", "max_age"} & {name for name, _ in errors}:
            errors += [
                (key, message) for message in age_group_conflicts(limits[limit.field], ages["min_age"], ages["max_age"])
            ]
    if errors or system is None:  # no system without an error
        return None, errors
    return MappingRule(
        code_system=system,
        code=terminology.normalise(system, get("code")),
        topic_id=get("topic_id"),
        scope=scope,
        priority=priority,
        gender=gender,
        # one kind of line break, so every stored reason writes to CSV and reads back the same
        reason=get("reason").replace("\r\n", "\n").replace("\r", "\n"),
        min_age=ages["min_age"],
        max_age=ages["max_age"],
        audiences=tuple(Recipient(code) for code in limits["audiences"]),
        tasks=limits["tasks"],
        settings=limits["settings"],
        languages=limits["languages"],
        age_groups=limits["age_groups"],
    ), []


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
