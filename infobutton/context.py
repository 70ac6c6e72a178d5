"""The request context a mapping rule may be limited to: whether a request meets a rule's limits,
how many of them it meets, and the limits in plain words (pure).

A rule's limits are all optional and a rule without one matches anything; a rule with one needs
the request to carry that context and match it (URL-IG R4 §2.1.2–2.1.3):

- the reader, ``informationRecipient`` else ``performer`` (PAT, PROV, PAYOR);
- the task, ``taskContext.c.c`` (HL7 ActTaskCode), and the care setting, ``encounter.c.c``
  (HL7 ActEncounterCode);
- the language of the answer (``informationRecipient.languageCode.c`` else
  ``performer.languageCode.c``, English when neither is sent: the answer is English then);
- the patient's gender and age: an age range [min_age, max_age) in years and/or MeSH age groups.

Ages are half-open intervals of years throughout. A request's ``age.v.v`` is a point: it meets
[low, high) when low <= age < high, so "under 18" holds at 17 a (and 17.99 a) and not at 18 a;
30 mo is 2.5 years (Child, Preschool, not Infant), 200 wk 3.83 years. A request's
``ageGroup.v.c`` is its MeSH group's [min, max) range and meets a rule's range when the two
overlap, since the patient may be anywhere in it: an Adolescent (13 to under 19) may be under 18,
an Adult (19 to under 45) never is. MeSH groups overlap one another (Young Adult 19–24 lies in
Adult 19–44; Infant 0–23 months holds Infant, Newborn); overlap is what decides, never the code.
When a request sends both, ``age.v.v`` decides: it is the more precise.
"""

from __future__ import annotations

from . import models
from .models import AGE_GROUP_NAMES, AGE_GROUPS, LANGUAGE_NAMES, MAX_AGE_YEARS, KnowledgeRequest, MappingRule, Recipient

# The activity a reason names: the ActTaskCode display without its "task" ("during problem list
# review"), and the ActEncounterCode display without its "encounter" ("in inpatient encounters").
TASK_NAMES = {code: name.removesuffix(" task") for code, name in models.TASK_NAMES.items()}
SETTING_NAMES = {code: name.removesuffix(" encounter") for code, name in models.SETTING_NAMES.items()}

READER_NAMES = {
    Recipient.PROVIDER: "health professionals",
    Recipient.PATIENT: "patients",
    Recipient.PAYOR: "payors",
}

PROFESSIONAL = "professional"  # Topic.audience of a health-professional resource


def reader(request: KnowledgeRequest) -> Recipient | None:
    """Who reads the answer: informationRecipient, else performer (URL-IG §2.1.2); None if neither."""
    return request.recipient or request.performer


def patient_age(request: KnowledgeRequest) -> tuple[float, float] | None:
    """The patient's age in years: (a, a) for age.v.v, the MeSH group's [min, max) for
    ageGroup.v.c (age.v.v wins when both are sent), None when the request carries neither."""
    if request.age_years is not None:
        return request.age_years, request.age_years
    if request.age_group is not None and request.age_group in AGE_GROUPS:
        low, high = AGE_GROUPS[request.age_group]
        return float(low), float(high)
    return None


def age_meets(age: tuple[float, float], low: float, high: float) -> bool:
    """Whether a patient age from ``patient_age`` meets the half-open range [low, high): a point
    lies in it, a group's range overlaps it."""
    start, end = age
    if start == end:
        return low <= start < high
    return start < high and low < end


def fit(rule: MappingRule) -> int:
    """A rule's context fit when it applies: how many of the reader's limits it has (reader, task,
    setting, language; URL-IG §2.1.2), all of which held. A rule written for this information need
    beats a generic one on the same level, before the librarian's priority. Patient limits (age,
    age group, gender; §2.1.3) only decide whether a rule fires: a child-only rule must not jump
    ahead of the specific page for the child's disease that the librarian ranked first."""
    return sum((bool(rule.audiences), bool(rule.tasks), bool(rule.settings), bool(rule.languages)))


def applies(rule: MappingRule, request: KnowledgeRequest) -> bool:
    """Whether every one of the rule's limits holds for this request. A limited rule needs the
    context it is limited by: without an age, an age rule does not fire; without a task, a task
    rule does not; an unknown task or setting code matches no limited rule."""
    if rule.audiences and reader(request) not in rule.audiences:
        return False
    if rule.tasks and request.task_context not in rule.tasks:
        return False
    if rule.settings and request.encounter not in rule.settings:
        return False
    if rule.languages and request.language not in rule.languages:
        return False
    if rule.gender is not None and request.gender is not rule.gender:
        return False
    if rule.min_age is not None or rule.max_age is not None or rule.age_groups:
        age = patient_age(request)
        if age is None:
            return False
        low = rule.min_age if rule.min_age is not None else 0.0
        high = rule.max_age if rule.max_age is not None else float("inf")
        if (rule.min_age is not None or rule.max_age is not None) and not age_meets(age, low, high):
            return False
        if rule.age_groups and not any(age_meets(age, *AGE_GROUPS[g]) for g in rule.age_groups if g in AGE_GROUPS):
            return False
    return True


def _either(words: list[str]) -> str:
    """ "a", "a or b", "a, b or c"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _patient(rule: MappingRule) -> str:
    """ "female patient under 18 in age group Child (MeSH D002648)", or "" for no patient limit."""
    age = ""
    if rule.min_age is not None and rule.max_age is not None:
        age = f" aged {rule.min_age:g} to under {rule.max_age:g}"
    elif rule.max_age is not None:
        age = f" under {rule.max_age:g}"
    elif rule.min_age is not None:
        age = f" {rule.min_age:g} and over"
    groups = ""
    if rule.age_groups:
        youngest_first = sorted(rule.age_groups, key=lambda g: (AGE_GROUPS.get(g, (MAX_AGE_YEARS, 0)), g))
        named = [f"{AGE_GROUP_NAMES.get(g, g)} (MeSH {g})" for g in youngest_first]
        groups = f" in age group {_either(named)}"
    gender = {"F": "female ", "M": "male "}.get(rule.gender.value, "") if rule.gender is not None else ""
    if not (age or groups or gender):
        return ""
    return f"{gender}patient{age}{groups}"


def describe(rule: MappingRule) -> list[str]:
    """Each of the rule's limits in words, in a fixed order: reader, task, setting, language,
    patient. E.g. ["for health professionals", "during problem list review", "in ambulatory
    encounters", "in Spanish", "patient under 18 in age group Child (MeSH D002648)"]."""
    parts = []
    if rule.audiences:
        parts.append("for " + _either([READER_NAMES[a] for a in sorted(rule.audiences, key=lambda a: a.value)]))
    if rule.tasks:
        parts.append("during " + _either(list(dict.fromkeys(TASK_NAMES.get(t, f"task {t}") for t in rule.tasks))))
    if rule.settings:
        parts.append(f"in {_either([SETTING_NAMES.get(s, s) for s in rule.settings])} encounters")
    if rule.languages:
        parts.append("in " + _either([LANGUAGE_NAMES.get(lang, lang) for lang in rule.languages]))
    patient = _patient(rule)
    if patient:
        parts.append(patient)
    return parts
