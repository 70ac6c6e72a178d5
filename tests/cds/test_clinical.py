"""FHIR clinical data → infobutton criteria and patient context."""

from datetime import date

import pytest

from infobutton.cds import clinical
from infobutton.models import CodeSystem, Gender

TODAY = date(2024, 6, 15)


@pytest.mark.parametrize(
    "birth,years",
    [
        ("2018-06-15", 6),
        ("2018-06-16", 5),
        ("2018", 6),
        ("2018-07", 5),
        ("1900-01-01", 124),
        ("2030-01-01", None),
        ("garbage", None),
        ("", None),
        (None, None),
        (19, None),
        ("2018-13-01", None),
    ],
)
def test_age_from_birth_date(birth, years):
    assert clinical.age_in_years(birth, TODAY) == years


@pytest.mark.parametrize(
    "gender,expected",
    [
        ("female", Gender.FEMALE),
        ("male", Gender.MALE),
        ("other", Gender.UNDIFFERENTIATED),
        ("unknown", None),
        (None, None),
    ],
)
def test_gender(gender, expected):
    patient = {"resourceType": "Patient", "gender": gender, "birthDate": "2000-01-01"}
    assert clinical.demographics(patient, TODAY) == (24.0, expected)


def test_demographics_absent_or_from_a_bundle():
    assert clinical.demographics(None, TODAY) == (None, None)
    wrapped = {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "gender": "male"}}]}
    assert clinical.demographics(wrapped, TODAY) == (None, Gender.MALE)


def test_criteria_by_fhir_uri_and_oid_unknown_systems_skipped():
    concept = {
        "coding": [
            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C9100", "display": "ALL"},
            {"system": "urn:oid:2.16.840.1.113883.6.96", "code": "91857003"},
            {"system": "http://example.org/local", "code": "X1"},
            {"system": "http://snomed.info/sct"},
            "not a coding",
            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C91.00"},  # the same code again
        ],
        "text": "ALL",
    }
    found = clinical.criteria(concept)
    assert [(c.code.system, c.code.value) for c in found] == [
        (CodeSystem.ICD10CM, "C91.00"),
        (CodeSystem.SNOMEDCT, "91857003"),
    ]
    assert found[0].display_name == "ALL" and found[0].raw_code == "C9100"


def test_text_only_concept_becomes_free_text():
    found = clinical.criteria({"coding": [{"system": "http://example.org/x", "code": "1"}], "text": " ALL "})
    assert len(found) == 1 and found[0].code is None and found[0].original_text == "ALL"
    assert clinical.criteria({}) == () and clinical.criteria("junk") == ()


def test_order_subjects_only_selected_and_coded():
    draft = {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "id": "m1",
                    "medicationCodeableConcept": {
                        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "282388"}]
                    },
                }
            },
            {"resource": {"resourceType": "ServiceRequest", "id": "s1", "code": {"text": "free text only"}}},
            {
                "resource": {
                    "resourceType": "ServiceRequest",
                    "id": "s2",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
                }
            },
        ],
    }
    subjects = clinical.order_subjects(draft, ["MedicationRequest/m1", "ServiceRequest/s1"])
    assert [(s.kind, s.criteria[0].code.value) for s in subjects] == [("MedicationRequest", "282388")]
