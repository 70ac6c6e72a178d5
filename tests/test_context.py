"""Rule limits (context.py): which requests a limited rule fires for, age boundaries and units,
MeSH age groups against ranges and groups, reader × language × task, and the limits in words."""

import itertools

import pytest
from werkzeug.datastructures import MultiDict

from infobutton import context
from infobutton.models import (
    AGE_GROUPS,
    TASKS,
    Code,
    CodeSystem,
    Criterion,
    Gender,
    KnowledgeRequest,
    MappingRule,
    Recipient,
)
from infobutton.request import parse

from .conftest import ICD10CM

INFANT, PRESCHOOL, CHILD, ADOLESCENT = "D007223", "D002675", "D002648", "D000293"
YOUNG_ADULT, ADULT, MIDDLE_AGED, AGED, AGED_80 = "D055815", "D000328", "D008875", "D000368", "D000369"
NEWBORN = "D007231"


def rule(**limits) -> MappingRule:
    return MappingRule(CodeSystem.ICD10CM, "C91", "topic", **limits)


def request(*pairs) -> KnowledgeRequest:
    """A parsed request for C91.00 with these extra parameters (the way an EHR sends them)."""
    base = [("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)]
    return parse(MultiDict(base + list(pairs)).items(multi=True))


# -- ages: units and the boundaries of half-open [min, max) ranges ---------------------------------


@pytest.mark.parametrize(
    "value,unit,limits,fires",
    [
        # "under 18" holds at 17 a and 17.99 a, not at 18 a; 216 mo is exactly 18 years
        ("17", "a", {"max_age": 18}, True),
        ("17.99", "a", {"max_age": 18}, True),
        ("18", "a", {"max_age": 18}, False),
        ("215", "mo", {"max_age": 18}, True),
        ("216", "mo", {"max_age": 18}, False),
        ("18", "a", {"min_age": 18}, True),
        ("17", "a", {"min_age": 18}, False),
        # 30 months is 2.5 years: a preschool child, no longer an infant
        ("30", "mo", {"age_groups": (INFANT,)}, False),
        ("30", "mo", {"age_groups": (PRESCHOOL,)}, True),
        ("30", "mo", {"min_age": 2, "max_age": 6}, True),
        ("24", "mo", {"age_groups": (INFANT,)}, False),
        ("23", "mo", {"age_groups": (INFANT,)}, True),
        # 200 weeks is 3.83 years
        ("200", "wk", {"age_groups": (PRESCHOOL,)}, True),
        ("200", "wk", {"age_groups": (INFANT,)}, False),
        ("200", "wk", {"max_age": 4}, True),
        ("200", "wk", {"max_age": 3.5}, False),
        # days, hours and minutes: a newborn is under one month
        ("12", "h", {"age_groups": (NEWBORN,)}, True),
        ("90", "min", {"age_groups": (NEWBORN,)}, True),
        ("20", "d", {"age_groups": (NEWBORN,)}, True),
        ("40", "d", {"age_groups": (NEWBORN,)}, False),
        ("40", "d", {"age_groups": (INFANT,)}, True),
        # group edges: Adolescent 13 to under 19; Adult 19 to under 45 (Young Adult 19 to under 25 lies in it)
        ("18", "a", {"age_groups": (ADOLESCENT,)}, True),
        ("19", "a", {"age_groups": (ADOLESCENT,)}, False),
        ("19", "a", {"age_groups": (ADULT,)}, True),
        ("19", "a", {"age_groups": (YOUNG_ADULT,)}, True),
        ("25", "a", {"age_groups": (YOUNG_ADULT,)}, False),
        ("45", "a", {"age_groups": (ADULT,)}, False),
        ("45", "a", {"age_groups": (MIDDLE_AGED,)}, True),
        ("79.9", "a", {"age_groups": (AGED,)}, True),
        ("80", "a", {"age_groups": (AGED,)}, False),
        ("80", "a", {"age_groups": (AGED_80,)}, True),
        # several groups: any one will do
        ("8", "a", {"age_groups": (PRESCHOOL, CHILD)}, True),
        ("14", "a", {"age_groups": (PRESCHOOL, CHILD)}, False),
        # a range and groups together: both must hold
        ("15", "a", {"age_groups": (ADOLESCENT,), "max_age": 18}, True),
        ("18", "a", {"age_groups": (ADOLESCENT,), "max_age": 18}, False),
    ],
)
def test_age_units_and_boundaries(value, unit, limits, fires):
    assert context.applies(rule(**limits), request(("age.v.v", value), ("age.v.u", unit))) is fires


# Each MeSH age group a request may send (ageGroup.v.c) against rules limited by an age range and by
# groups: a group meets a range or a group when they overlap (the patient may be anywhere in it).
GROUP_RULES = {
    "under 18": {"max_age": 18},
    "18 and over": {"min_age": 18},
    "65 and over": {"min_age": 65},
    "2 to under 6": {"min_age": 2, "max_age": 6},
    "group Child": {"age_groups": (CHILD,)},
    "group Adult": {"age_groups": (ADULT,)},
    "group Infant": {"age_groups": (INFANT,)},
}
#                   under 18, 18+,  65+,  2-6,  Child, Adult, Infant
GROUP_TABLE = {
    NEWBORN: (True, False, False, False, False, False, True),
    INFANT: (True, False, False, False, False, False, True),  # under 2: never 2 to under 6
    PRESCHOOL: (True, False, False, True, False, False, False),
    CHILD: (True, False, False, False, True, False, False),  # 6 and over: never under 6
    ADOLESCENT: (True, True, False, False, False, False, False),
    YOUNG_ADULT: (False, True, False, False, False, True, False),
    ADULT: (False, True, False, False, False, True, False),
    MIDDLE_AGED: (False, True, False, False, False, False, False),
    AGED: (False, True, True, False, False, False, False),
    AGED_80: (False, True, True, False, False, False, False),
}


@pytest.mark.parametrize(
    "group,rule_name",
    [(group, name) for group in GROUP_TABLE for name in GROUP_RULES],
)
def test_each_mesh_age_group_against_ranges_and_groups(group, rule_name):
    expected = GROUP_TABLE[group][list(GROUP_RULES).index(rule_name)]
    assert context.applies(rule(**GROUP_RULES[rule_name]), request(("ageGroup.v.c", group))) is expected


def test_the_table_covers_every_mesh_age_group():
    assert set(GROUP_TABLE) == set(AGE_GROUPS)


@pytest.mark.parametrize("limits", list(GROUP_RULES.values()))
def test_an_age_limited_rule_needs_an_age(limits):
    assert not context.applies(rule(**limits), request())
    assert context.applies(rule(), request())  # a rule without limits matches anything


def test_age_wins_over_age_group_when_both_are_sent():
    # A 77-year-old sent with a childhood group (an EHR's stale group) is 77; and the other way round.
    under_18 = rule(max_age=18)
    assert not context.applies(under_18, request(("age.v.v", "77"), ("ageGroup.v.c", CHILD)))
    assert context.applies(under_18, request(("age.v.v", "8"), ("ageGroup.v.c", AGED)))
    # consistent ones simply agree
    assert context.applies(rule(age_groups=(AGED,)), request(("age.v.v", "77"), ("ageGroup.v.c", AGED)))


# -- reader × language × task (and setting) ---------------------------------------------------------

READERS = [None, "PAT", "PROV", "PAYOR"]
LANGUAGES = [None, "en", "es"]
TASK_CODES = [None, "PROBLISTREV", "MEDLISTREV", "NOTATASK"]


@pytest.mark.parametrize(
    "limit_reader,limit_language,limit_task,reader,language,task",
    list(
        itertools.product(
            [False, True],
            [False, True],
            [False, True],
            READERS,
            LANGUAGES,
            TASK_CODES,
        )
    ),
)
def test_reader_language_task_combinations(limit_reader, limit_language, limit_task, reader, language, task):
    """A rule limited to health professionals, Spanish and problem list review (each limit on or off)
    fires exactly when every limit it has holds; the request's language is English unless sent."""
    limited = rule(
        audiences=(Recipient.PROVIDER,) if limit_reader else (),
        languages=("es",) if limit_language else (),
        tasks=("PROBLISTREV",) if limit_task else (),
    )
    pairs = []
    if reader:
        pairs.append(("informationRecipient", reader))
    if language:
        pairs.append(("informationRecipient.languageCode.c", language))
    if task:
        pairs.append(("taskContext.c.c", task))
    expected = (
        (not limit_reader or reader == "PROV")
        and (not limit_language or language == "es")
        and (not limit_task or task == "PROBLISTREV")
    )
    assert context.applies(limited, request(*pairs)) is expected


@pytest.mark.parametrize(
    "pairs,reader",
    [
        ([("performer", "PROV")], Recipient.PROVIDER),  # no recipient: the performer reads
        ([("informationRecipient", "PAT"), ("performer", "PROV")], Recipient.PATIENT),  # the recipient does
        ([("informationRecipient", "payor")], Recipient.PAYOR),
        ([], None),
    ],
)
def test_reader_is_the_recipient_else_the_performer(pairs, reader):
    parsed = request(*pairs)
    assert context.reader(parsed) is reader
    assert context.applies(rule(audiences=(Recipient.PROVIDER,)), parsed) is (reader is Recipient.PROVIDER)
    assert context.applies(rule(audiences=(Recipient.PATIENT, Recipient.PAYOR)), parsed) is (
        reader in (Recipient.PATIENT, Recipient.PAYOR)
    )


@pytest.mark.parametrize(
    "encounter,fires",
    [(None, False), ("AMB", True), ("amb", True), ("EMER", True), ("IMP", False), ("XYZ", False)],
)
def test_care_setting(encounter, fires):
    pairs = [("encounter.c.c", encounter)] if encounter else []
    assert context.applies(rule(settings=("AMB", "EMER")), request(*pairs)) is fires


def test_task_codes_are_matched_whatever_their_case():
    assert context.applies(rule(tasks=("PROBLISTREV",)), request(("taskContext.c.c", "probListRev")))


def test_every_limit_must_hold_together_with_gender():
    limited = rule(gender=Gender.FEMALE, max_age=18, audiences=(Recipient.PATIENT,), settings=("AMB",))
    girl = [("patientPerson.administrativeGenderCode.c", "F"), ("age.v.v", "8"), ("informationRecipient", "PAT")]
    assert context.applies(limited, request(*girl, ("encounter.c.c", "AMB")))
    assert not context.applies(limited, request(*girl, ("encounter.c.c", "EMER")))
    assert not context.applies(limited, request(*girl))
    boy = [("patientPerson.administrativeGenderCode.c", "M"), ("age.v.v", "8"), ("informationRecipient", "PAT")]
    assert not context.applies(limited, request(*boy, ("encounter.c.c", "AMB")))


def test_a_programmatic_request_without_a_language_is_english():
    # CDS Hooks builds its requests directly; the language defaults to English like a parsed one.
    bare = KnowledgeRequest(criteria=(Criterion(Code(CodeSystem.ICD10CM, "C91.00")),))
    assert context.applies(rule(languages=("en",)), bare)
    assert not context.applies(rule(languages=("es",)), bare)


def test_fit_counts_the_readers_limits_once_each_and_never_the_patients():
    assert context.fit(rule()) == 0
    # patient limits decide whether a rule fires, not how well it fits
    assert context.fit(rule(min_age=2, max_age=6)) == 0
    assert context.fit(rule(max_age=18, gender=Gender.FEMALE, age_groups=(CHILD, ADOLESCENT))) == 0
    assert context.fit(rule(audiences=(Recipient.PATIENT, Recipient.PAYOR))) == 1
    full = rule(
        max_age=18,
        gender=Gender.FEMALE,
        audiences=(Recipient.PATIENT,),
        tasks=("PROBLISTREV",),
        settings=("AMB",),
        languages=("es",),
        age_groups=(CHILD,),
    )
    assert context.fit(full) == 4


# -- the limits in words ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "limits,words",
    [
        ({}, []),
        ({"audiences": (Recipient.PROVIDER,)}, ["for health professionals"]),
        ({"audiences": (Recipient.PATIENT,)}, ["for patients"]),
        ({"audiences": (Recipient.PATIENT, Recipient.PAYOR)}, ["for patients or payors"]),
        ({"tasks": ("PROBLISTREV",)}, ["during problem list review"]),
        ({"tasks": ("MEDOE", "OE")}, ["during medication order entry or order entry"]),
        ({"tasks": ("MLREV",)}, ["during medication list review"]),  # the display without "task"
        ({"settings": ("IMP",)}, ["in inpatient encounters"]),  # the display without "encounter"
        ({"settings": ("AMB",)}, ["in ambulatory encounters"]),
        ({"settings": ("AMB", "EMER", "IMP")}, ["in ambulatory, emergency or inpatient encounters"]),
        ({"languages": ("es",)}, ["in Spanish"]),
        ({"max_age": 18}, ["patient under 18"]),
        ({"min_age": 65}, ["patient 65 and over"]),
        ({"min_age": 2, "max_age": 6}, ["patient aged 2 to under 6"]),
        ({"gender": Gender.FEMALE}, ["female patient"]),
        ({"age_groups": (CHILD,)}, ["patient in age group Child (MeSH D002648)"]),
        (
            {"age_groups": (ADOLESCENT, PRESCHOOL)},  # youngest first, whatever the code order
            ["patient in age group Child, Preschool (MeSH D002675) or Adolescent (MeSH D000293)"],
        ),
        (
            {"gender": Gender.MALE, "max_age": 18, "age_groups": (CHILD,)},
            ["male patient under 18 in age group Child (MeSH D002648)"],
        ),
    ],
)
def test_each_limit_in_words(limits, words):
    assert context.describe(rule(**limits)) == words


def test_every_task_and_setting_has_words():
    from infobutton.models import SETTINGS

    assert set(context.TASK_NAMES) == set(TASKS)
    assert set(context.SETTING_NAMES) == set(SETTINGS)
    assert set(context.AGE_GROUP_NAMES) == set(AGE_GROUPS)
