"""URL-IG parameter parsing: multi-instance, deprecated forms, context, variants and errors."""

import pytest
from werkzeug.datastructures import MultiDict

from infobutton.models import CodeSystem, Gender, InvalidRequest, Recipient
from infobutton.request import MAX_VALUE_LENGTH, parse

from .conftest import ICD10CM, SNOMEDCT


def p(pairs):
    return parse(MultiDict(pairs).items(multi=True))


def test_single_criterion_is_normalised():
    r = p([("mainSearchCriteria.v.c", " c9100 "), ("mainSearchCriteria.v.cs", ICD10CM)])
    (c,) = r.criteria
    assert c.code.system is CodeSystem.ICD10CM and c.code.value == "C91.00"
    assert c.raw_code == "c9100"
    assert r.language == "en"


def test_multiple_instances_in_index_order_with_gaps():
    r = p(
        [
            ("mainSearchCriteria.v.c3", "92818009"),
            ("mainSearchCriteria.v.cs3", SNOMEDCT),
            ("mainSearchCriteria.v.c", "C91.00"),
            ("mainSearchCriteria.v.cs", ICD10CM),
            ("mainSearchCriteria.v.c1", "Z85.6"),
            ("mainSearchCriteria.v.cs1", "2.16.840.1.113883.6.90"),
            ("mainSearchCriteria.v.dn1", "History of leukemia"),
        ]
    )
    assert [c.code.value for c in r.criteria] == ["C91.00", "Z85.6", "92818009"]
    assert r.criteria[1].display_name == "History of leukemia"
    assert r.criteria[2].code.system is CodeSystem.SNOMEDCT


def test_index_zero_is_the_first_instance():
    r = p(
        [
            ("mainSearchCriteria.v.c0", "C91.00"),
            ("mainSearchCriteria.v.cs0", ICD10CM),
            ("mainSearchCriteria.v.c1", "C92.10"),
            ("mainSearchCriteria.v.cs1", ICD10CM),
        ]
    )
    assert [c.code.value for c in r.criteria] == ["C91.00", "C92.10"]


def test_deprecated_c_form_is_accepted_and_echoed_as_v():
    r = p([("mainSearchCriteria.c.c", "C91.00"), ("mainSearchCriteria.c.cs", ICD10CM)])
    assert r.criteria[0].code.value == "C91.00"
    assert ("mainSearchCriteria.v.c", "C91.00") in r.echo


def test_code_system_by_uri_and_name():
    for cs in ("http://hl7.org/fhir/sid/icd-10-cm", "ICD-10-CM", "icd10cm", "urn:oid:" + ICD10CM):
        assert (
            p([("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", cs)]).criteria[0].code.system
            is CodeSystem.ICD10CM
        )
    assert (
        p([("mainSearchCriteria.v.c", "93143009"), ("mainSearchCriteria.v.cs", "http://snomed.info/sct")])
        .criteria[0]
        .code.system
        is CodeSystem.SNOMEDCT
    )


@pytest.mark.parametrize(
    "value,expected",
    [
        ("en", "en"),
        ("EN", "en"),
        ("es", "es"),
        ("es-US", "es"),
        ("spa", "es"),
        ("sp", "es"),
        ("en_US", "en"),
        ("fr", "en"),
    ],
)
def test_language_variants(value, expected):
    r = p([("mainSearchCriteria.v.ot", "leukemia"), ("informationRecipient.languageCode.c", value)])
    assert r.language == expected


def test_performer_language_used_when_recipient_language_missing():
    r = p([("mainSearchCriteria.v.ot", "x"), ("performer.languageCode.c", "es")])
    assert r.language == "es"
    assert ("performer.languageCode", "es") in r.echo


@pytest.mark.parametrize(
    "value,unit,years",
    [
        ("5", "a", 5),
        ("18", "mo", 1.5),
        ("52", "wk", 52 * 7 / 365.25),
        ("365.25", "d", 1),
        ("48", "h", 48 / 8766),
        ("30", None, 30),
    ],
)
def test_age_units(value, unit, years):
    pairs = [("mainSearchCriteria.v.ot", "x"), ("age.v.v", value)] + ([("age.v.u", unit)] if unit else [])
    assert p(pairs).age_years == pytest.approx(years)


def test_context_fields():
    r = p(
        [
            ("mainSearchCriteria.v.ot", "x"),
            ("informationRecipient", "prov"),
            ("performer", "PAT"),
            ("patientPerson.administrativeGenderCode.c", "f"),
            ("ageGroup.v.c", "D002648"),
            ("taskContext.c.c", "PROBLISTREV"),
            ("encounter.c.c", "AMB"),
            ("subtopic.v.c", "Q000175"),
            ("subTopic.v.c1", "Q000628"),
            ("knowledgeResponseType", "application/json"),
            ("callback", "cb"),
            ("someVendorParameter", "ignored"),
        ]
    )
    assert r.recipient is Recipient.PROVIDER and r.performer is Recipient.PATIENT
    assert r.gender is Gender.FEMALE and r.age_group == "D002648"
    assert r.task_context == "PROBLISTREV" and r.encounter == "AMB"
    assert r.subtopics == ("Q000175", "Q000628")
    assert r.response_type == "application/json" and r.callback == "cb"
    assert ("subTopic.v.c", "Q000628") in r.echo
    assert not any("someVendor" in scheme for scheme, _ in r.echo)


def test_free_text_only_criterion():
    r = p([("mainSearchCriteria.v.ot", "chronic myeloid leukemia")])
    assert r.criteria[0].code is None and r.criteria[0].original_text == "chronic myeloid leukemia"


@pytest.mark.parametrize(
    "pairs,parameter",
    [
        ([], "mainSearchCriteria.v.c"),
        ([("informationRecipient", "PAT")], "mainSearchCriteria.v.c"),
        ([("mainSearchCriteria.v.c", "C91.00")], "mainSearchCriteria.v.cs"),
        ([("mainSearchCriteria.v.c1", "C91.00")], "mainSearchCriteria.v.cs1"),
        ([("mainSearchCriteria.v.cs", ICD10CM)], "mainSearchCriteria.v.c"),
        ([("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", "9.9.9")], "mainSearchCriteria.v.cs"),
        ([("mainSearchCriteria.v.ot", "x"), ("age.v.v", "five")], "age.v.v"),
        ([("mainSearchCriteria.v.ot", "x"), ("age.v.v", "-1")], "age.v.v"),
        ([("mainSearchCriteria.v.ot", "x"), ("age.v.v", "nan")], "age.v.v"),
        ([("mainSearchCriteria.v.ot", "x"), ("age.v.v", "200")], "age.v.v"),
        ([("mainSearchCriteria.v.ot", "x"), ("age.v.v", "5"), ("age.v.u", "years")], "age.v.u"),
        ([("mainSearchCriteria.v.ot", "x"), ("age.v.u", "a")], "age.v.v"),
        ([("mainSearchCriteria.v.ot", "x"), ("ageGroup.v.c", "D999")], "ageGroup.v.c"),
        ([("mainSearchCriteria.v.ot", "x"), ("informationRecipient", "DOCTOR")], "informationRecipient"),
        (
            [("mainSearchCriteria.v.ot", "x"), ("patientPerson.administrativeGenderCode.c", "Q")],
            "patientPerson.administrativeGenderCode.c",
        ),
        (
            [("mainSearchCriteria.v.ot", "x"), ("informationRecipient.languageCode.c", "<b>")],
            "informationRecipient.languageCode.c",
        ),
    ],
)
def test_bad_input_names_the_parameter(pairs, parameter):
    with pytest.raises(InvalidRequest) as err:
        p(pairs)
    assert err.value.parameter == parameter
    assert 400 <= err.value.status < 500


def test_oversize_value_and_too_many_parameters():
    with pytest.raises(InvalidRequest) as err:
        p([("mainSearchCriteria.v.ot", "x" * (MAX_VALUE_LENGTH + 1))])
    assert err.value.status == 413 and err.value.parameter == "mainSearchCriteria.v.ot"
    with pytest.raises(InvalidRequest) as err:
        p([(f"x{i}", "1") for i in range(500)])
    assert err.value.status == 413
    with pytest.raises(InvalidRequest):
        p([(f"mainSearchCriteria.v.ot{i}", "x") for i in range(30)])


def test_cache_key_ignores_spelling_but_not_context():
    a = p([("mainSearchCriteria.v.c", "C9100"), ("mainSearchCriteria.v.cs", ICD10CM)])
    b = p([("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)])
    c = p([("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM), ("age.v.v", "5")])
    assert [c.code for c in a.criteria] == [c.code for c in b.criteria]
    assert b.cache_key != c.cache_key


def test_query_pairs_is_the_inverse_of_parse():
    from infobutton.request import query_pairs

    original = p(
        [
            ("mainSearchCriteria.v.c", "C91.00"),
            ("mainSearchCriteria.v.cs", ICD10CM),
            ("mainSearchCriteria.v.c1", "92818009"),
            ("mainSearchCriteria.v.cs1", SNOMEDCT),
            ("mainSearchCriteria.v.dn1", "CML"),
            ("mainSearchCriteria.v.ot2", "leukemia"),
            ("informationRecipient", "PAT"),
            ("patientPerson.administrativeGenderCode.c", "F"),
            ("age.v.v", "18"),
            ("age.v.u", "mo"),
            ("taskContext.c.c", "PROBLISTREV"),
        ]
    )
    again = p(query_pairs(original, "es", "application/json"))
    assert again.criteria == original.criteria
    assert (again.recipient, again.gender, again.task_context) == (
        original.recipient,
        original.gender,
        original.task_context,
    )
    assert again.age_years == pytest.approx(original.age_years)
    assert again.language == "es" and again.response_type == "application/json"


@pytest.mark.parametrize(
    "value,unit,years",
    [
        ("17", "a", 17.0),
        ("18", "a", 18.0),
        ("216", "mo", 18.0),  # exactly 18, so "under 18" does not hold
        ("30", "mo", 2.5),
        ("200", "wk", 200 * 7 / 365.25),
        ("365.25", "d", 1.0),
        ("8766", "h", 1.0),
        ("525960", "min", 1.0),
        (" 6 ", " a ", 6.0),
    ],
)
def test_age_units_convert_exactly_at_whole_years(value, unit, years):
    assert p([("mainSearchCriteria.v.ot", "x"), ("age.v.v", value), ("age.v.u", unit)]).age_years == years


@pytest.mark.parametrize("unit", ["A", "MO", "y", "yr", "years", "s", "mo{age}"])
def test_age_units_are_ucum_and_case_sensitive(unit):
    # UCUM is case-sensitive ("A" is the ampere); only a, mo, wk, d, h and min are ages here.
    with pytest.raises(InvalidRequest) as err:
        p([("mainSearchCriteria.v.ot", "x"), ("age.v.v", "5"), ("age.v.u", unit)])
    assert err.value.parameter == "age.v.u"


def test_age_and_age_group_are_both_kept():
    r = p([("mainSearchCriteria.v.ot", "x"), ("age.v.v", "77"), ("age.v.u", "a"), ("ageGroup.v.c", "d000368")])
    assert r.age_years == 77 and r.age_group == "D000368"


@pytest.mark.parametrize(
    "parameter,sent,kept",
    [
        ("taskContext.c.c", "probListRev", "PROBLISTREV"),
        ("taskContext.c.c", "MEDOE", "MEDOE"),
        ("taskContext.c.c", "someVendorTask", "SOMEVENDORTASK"),  # unknown codes are kept
        ("encounter.c.c", "amb", "AMB"),
        ("encounter.c.c", "Emer", "EMER"),
        ("encounter.c.c", "xyz", "XYZ"),
    ],
)
def test_task_and_setting_codes_are_upper_cased_and_any_code_is_accepted(parameter, sent, kept):
    r = p([("mainSearchCriteria.v.ot", "x"), (parameter, sent)])
    assert (r.task_context if parameter.startswith("task") else r.encounter) == kept
    assert (parameter, sent) in r.echo  # echoed as sent


def test_cache_key_holds_every_context_that_can_change_the_answer():
    """Rules may be limited by task, setting and reader: requests differing only there
    must not share a cached answer, whether parsed or built directly (CDS Hooks has no echo)."""
    from dataclasses import replace

    from infobutton.models import Code, Criterion, KnowledgeRequest

    base = [("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)]
    problist = p(base + [("taskContext.c.c", "PROBLISTREV")])
    medlist = p(base + [("taskContext.c.c", "MEDLISTREV")])
    assert problist.cache_key != medlist.cache_key
    assert p(base + [("taskContext.c.c", "problistrev")]).task_context == problist.task_context

    built = KnowledgeRequest(criteria=(Criterion(Code(CodeSystem.ICD10CM, "C91.00")),))
    variants = [
        built,
        replace(built, task_context="PROBLISTREV"),
        replace(built, task_context="MEDLISTREV"),
        replace(built, encounter="AMB"),
        replace(built, performer=Recipient.PROVIDER),
        replace(built, recipient=Recipient.PROVIDER),
        replace(built, subtopics=("Q000628",)),
        replace(built, age_group="D002648"),
        replace(built, language="es"),
    ]
    assert len({v.cache_key for v in variants}) == len(variants)
