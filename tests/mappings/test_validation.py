"""A rule's fields, context limits included: each read from its JSON name or its CSV column,
normalised, and every bad value reported under the name it came by, with what is allowed."""

from __future__ import annotations

import pytest

from infobutton.mappings.constraints import LIMITS, ages, years
from infobutton.mappings.validation import FIELDS, rule_and_errors
from infobutton.models import AGE_GROUP_NAMES, AGE_GROUPS, SETTINGS, TASKS, Recipient

BASE = {"code_system": "ICD-10-CM", "code": "C91", "topic_id": "leukemia"}


def test_fields_are_the_old_columns_then_the_limits_in_order():
    assert FIELDS == (
        "code_system",
        "code",
        "topic_id",
        "scope",
        "priority",
        "min_age",
        "max_age",
        "gender",
        "reason",
        "audience",
        "task",
        "setting",
        "language",
        "age_group",
    )
    assert [limit.field for limit in LIMITS] == ["audiences", "tasks", "settings", "languages", "age_groups"]


def test_every_limit_offers_exactly_the_codes_the_request_may_carry():
    by_field = {limit.field: set(limit.choices) for limit in LIMITS}
    assert by_field["audiences"] == {r.value for r in Recipient}
    assert by_field["tasks"] == set(TASKS) and len(TASKS) == 37
    assert by_field["settings"] == set(SETTINGS) and len(SETTINGS) == 11
    assert by_field["languages"] == {"en", "es"}
    assert by_field["age_groups"] == set(AGE_GROUPS) == set(AGE_GROUP_NAMES)
    assert {"MEDLISTREV", "IMMLISTREV"}.isdisjoint(TASKS) and {"MLREV", "IMMLREV", "PROBLISTE"} <= set(TASKS)


@pytest.mark.parametrize(
    "given, field, expected",
    [
        ({"audiences": ["prov", "PAT", "pat"]}, "audiences", (Recipient.PATIENT, Recipient.PROVIDER)),
        ({"audience": "PAYOR"}, "audiences", (Recipient.PAYOR,)),
        ({"tasks": ["oe", "PROBLISTREV"]}, "tasks", ("OE", "PROBLISTREV")),
        ({"task": "mlrev,immlrev"}, "tasks", ("IMMLREV", "MLREV")),
        ({"settings": ["emer", "AMB"]}, "settings", ("AMB", "EMER")),
        ({"setting": " vr "}, "settings", ("VR",)),
        ({"languages": ["ES", "en"]}, "languages", ("en", "es")),
        ({"language": "es"}, "languages", ("es",)),
        ({"age_groups": ["d000369", "D000368"]}, "age_groups", ("D000368", "D000369")),
        ({"age_group": "D007223"}, "age_groups", ("D007223",)),
        ({"audiences": []}, "audiences", ()),
        ({"tasks": None}, "tasks", ()),
        ({"setting": ""}, "settings", ()),
        ({}, "languages", ()),
        ({"age_groups": ["D002648", "D000293"]}, "age_groups", ("D000293", "D002648")),
    ],
)
def test_limits_are_read_normalised_and_sorted(given, field, expected):
    rule, errors = rule_and_errors(BASE | given)
    assert errors == [] and getattr(rule, field) == expected


@pytest.mark.parametrize(
    "given, field, allowed",
    [
        ({"audiences": ["PAT", "doctor"]}, "audiences", "PAT, PROV or PAYOR"),
        ({"audience": "PATIENT"}, "audience", "PAT, PROV or PAYOR"),
        ({"tasks": ["MEDLISTREV"]}, "tasks", "MLREV"),
        ({"task": "IMMLISTREV"}, "task", "IMMLREV"),
        ({"settings": ["ICU"]}, "settings", "AMB, EMER, FLD, HH, IMP, ACUTE, NONAC, OBSENC, PRENC, SS or VR"),
        ({"setting": "inpatient"}, "setting", "IMP"),
        ({"languages": ["fr"]}, "languages", "en or es"),
        ({"language": "english"}, "language", "en or es"),
        ({"age_groups": ["D000000"]}, "age_groups", "D000328"),
        ({"age_group": "adult"}, "age_group", "D000328"),
        ({"tasks": [1]}, "tasks", "OE"),
        ({"audiences": [["PAT"], "x" * 500]}, "audiences", "PAYOR"),
    ],
)
def test_a_bad_limit_is_reported_under_the_name_it_came_by_with_the_allowed_codes(given, field, allowed):
    rule, errors = rule_and_errors(BASE | given)
    assert rule is None and [name for name, _ in errors] == [field]
    message = errors[0][1]
    noun = {"audience": "audience", "task": "task", "setting": "care setting", "language": "language"}
    assert message.startswith(noun.get(field.removesuffix("s"), "age group") + " must be one or more of ")
    assert allowed in message and len(message) < 1000  # a long bad value is not repeated whole


@pytest.mark.parametrize(
    "given, field, message",
    [
        ({"age_groups": "D000293"}, "age_groups", "must be a list of codes"),  # text is the CSV column's
        ({"tasks": ["OE"] * 101}, "tasks", "at most 100 codes"),
        ({"code": 7}, "code", "must be text"),
        ({"reason": "a\x00b"}, "reason", "must not contain NUL characters"),
        ({"topic_id": "\ud800"}, "topic_id", "must be valid Unicode text"),
        ({"priority": True}, "priority", "must be a whole number"),
        ({"priority": 2.5}, "priority", "must be a whole number"),
        ({"min_age": [1]}, "min_age", "must be a number"),
        ({"max_age": float("nan")}, "max_age", "max_age must be between 0 and 150 years"),
        ({"change_reason": "x" * 1001}, "change_reason", "at most 1000 characters"),
        ({"id": "3"}, "id", "must be a whole number"),
    ],
)
def test_a_json_value_of_the_wrong_kind_is_named_not_stored(given, field, message):
    assert rule_and_errors(BASE | given) == (None, [(field, message)])


def test_json_numbers_and_text_read_alike():
    rule, errors = rule_and_errors(BASE | {"priority": 5.0, "min_age": 1, "max_age": "2.5"})
    assert errors == [] and (rule.priority, rule.min_age, rule.max_age) == (5, 1.0, 2.5)


def test_every_bad_field_is_reported_at_once():
    rule, errors = rule_and_errors(
        BASE
        | {"scope": "x", "audiences": ["x"], "tasks": ["x"], "settings": ["x"], "languages": ["x"], "age_groups": ["x"]}
    )
    assert rule is None and [f for f, _ in errors] == [
        "scope",
        "audiences",
        "tasks",
        "settings",
        "languages",
        "age_groups",
    ]


@pytest.mark.parametrize(
    "min_age, max_age, groups, refused",
    [
        ("", "", ["D000368"], []),
        ("0", "18", ["D007223", "D002675", "D002648", "D000293"], []),
        ("12", "14", ["D002648", "D000293"], []),  # each overlaps 12-14
        ("65", "", ["D000368", "D000369"], []),
        ("65", "", ["D000293", "D000368"], ["D000293"]),
        ("", "2", ["D007223", "D002675"], ["D002675"]),  # under 2 never meets 2-6
        ("6", "13", ["D002675", "D002648", "D000293"], ["D000293", "D002675"]),  # in code order
        ("80", "", ["D000368"], ["D000368"]),  # Aged is 65 to under 80
    ],
)
def test_an_age_group_beside_an_age_range_must_overlap_it(min_age, max_age, groups, refused):
    rule, errors = rule_and_errors(BASE | {"min_age": min_age, "max_age": max_age, "age_groups": groups})
    assert [message.split(" ")[0] for _, message in errors] == refused
    assert all(field == "age_groups" and "cannot overlap" in m for field, m in errors)
    assert (rule is None) == bool(refused)


def test_a_bad_age_range_is_reported_once_not_as_an_age_group_conflict_too():
    _, errors = rule_and_errors(BASE | {"min_age": "40", "max_age": "18", "age_groups": ["D000368"]})
    assert errors == [("max_age", "must be greater than min_age")]


def test_ages_read_as_people_write_them():
    assert [years(v) for v in (1 / 12, 0.5, 1, 18, 1.5)] == ["1 month", "6 months", "1 year", "18 years", "1.5 years"]
    assert (
        ages(0, 2) == "under 2 years"
        and ages(80, 150) == "80 years and over"
        and ages(6, 13) == "6 years to under 13 years"
    )
