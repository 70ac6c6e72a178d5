"""A mapping rule's context limits (reader, task, setting, language, age
group): what each is called in the CSV, the JSON API and
the form, which codes it takes and how people read them, and how a set of codes is read.

Each limit is a set of codes, empty for "any"; a rule with a limit fires only for a request that
carries that context and matches it (URL-IG §2.1.2–2.1.3). The codes are HL7's and MeSH's
(``models.TASK_NAMES``, ``SETTING_NAMES``, ``AGE_GROUP_NAMES`` say where each list comes from).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..models import (
    AGE_GROUP_NAMES,
    AGE_GROUPS,
    LANGUAGE_NAMES,
    MAX_AGE_YEARS,
    SETTING_NAMES,
    TASK_NAMES,
    MappingRule,
    Recipient,
)

# informationRecipient / performer (URL-IG §2.1.2, HL7 RoleClass codes PAT, PROV, PAYOR)
RECIPIENT_NAMES = {
    Recipient.PATIENT.value: "patient",
    Recipient.PROVIDER.value: "health professional",
    Recipient.PAYOR.value: "payor",
}
_SEPARATOR = re.compile(r"[\s,;]+")
_SHOWN = 24  # at most this much of a bad value is repeated in a message


@dataclass(frozen=True)
class Limit:
    """One kind of context limit."""

    field: str  # the MappingRule attribute and JSON API field: "audiences"
    column: str  # the CSV column: "audience"
    noun: str  # in messages and forms: "audience"
    parameter: str  # the request parameter it is matched with (for people reading the form)
    choices: dict[str, str]  # allowed code → what people call it, in the order forms list them

    def parse(self, value: object) -> tuple[tuple[str, ...], str | None]:
        """The sorted, distinct codes of ``value`` (CSV or form text separated by spaces or
        commas, or a JSON list), any case; or () and why not."""
        found = set()
        for item in _items(value):
            code = item.lower() if self is LANGUAGE else item.upper()
            if code not in self.choices:
                shown = item if len(item) <= _SHOWN else item[:_SHOWN] + "…"
                return (), f"{self.noun} must be {self.allowed()}; {shown!r} is not one"
            found.add(code)
        return tuple(sorted(found)), None

    def allowed(self) -> str:
        codes = list(self.choices)
        return "one or more of " + ", ".join(codes[:-1]) + " or " + codes[-1]


def _items(value: object) -> Iterable[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [part for item in value for part in _items(item)]
    return [part for part in _SEPARATOR.split(str(value).strip()) if part]


AUDIENCE = Limit("audiences", "audience", "audience", "informationRecipient (else performer)", RECIPIENT_NAMES)
TASK = Limit("tasks", "task", "task", "taskContext.c.c", TASK_NAMES)
SETTING = Limit("settings", "setting", "care setting", "encounter.c.c", SETTING_NAMES)
LANGUAGE = Limit(
    "languages",
    "language",
    "language",
    "informationRecipient.languageCode.c",
    LANGUAGE_NAMES,
)
AGE_GROUP = Limit("age_groups", "age_group", "age group", "ageGroup.v.c (or age.v.v)", AGE_GROUP_NAMES)
LIMITS = (AUDIENCE, TASK, SETTING, LANGUAGE, AGE_GROUP)


def codes_of(rule: MappingRule, limit: Limit) -> tuple[str, ...]:
    """A rule's codes for one limit, as text (audiences are ``Recipient`` members)."""
    return tuple(getattr(v, "value", v) for v in getattr(rule, limit.field))


def years(value: float) -> str:
    """An age as people write it: 18 years, 1.5 years, 1 month (a twelfth of a year)."""
    months = value * 12
    if 0 < value < 1 and abs(months - round(months)) < 1e-9:
        return f"{round(months)} month" + ("s" if round(months) != 1 else "")
    return f"{value:g} year" + ("s" if value != 1 else "")


def ages(low: float, high: float | None) -> str:
    """An age range [low, high) in words."""
    if high is None or high >= MAX_AGE_YEARS:
        return f"{years(low)} and over"
    if low == 0:
        return f"under {years(high)}"
    return f"{years(low)} to under {years(high)}"


def age_group_conflicts(groups: tuple[str, ...], min_age: float | None, max_age: float | None) -> list[str]:
    """Messages for each age group whose years cannot overlap the rule's age range [min, max):
    such a rule could never fire for that group, which is a mistake, not a limit."""
    low = min_age if min_age is not None else 0.0
    high = max_age if max_age is not None else float("inf")
    problems = []
    for code in groups:
        start, end = AGE_GROUPS[code]
        if max(start, low) >= min(end, high):
            problems.append(
                f"{code} ({AGE_GROUP_NAMES[code]}, {ages(start, end)}) cannot overlap the rule's ages"
                f" ({ages(low, max_age)}); remove it or change the ages"
            )
    return problems


def conditions(rule: MappingRule) -> list[str]:
    """Every condition of a rule in words, for lists and diffs: age range, gender, then each
    context limit ("age 6 years to under 13 years", "F", "audience PROV", "task MLREV OE")."""
    found = []
    if rule.min_age is not None or rule.max_age is not None:
        found.append("age " + ages(rule.min_age or 0.0, rule.max_age))
    if rule.gender is not None:
        found.append(rule.gender.value)
    for limit in LIMITS:
        codes = codes_of(rule, limit)
        if codes:
            found.append(f"{limit.noun} {' '.join(codes)}")
    return found
