"""Code systems, normalisation, validation and the ICD-10-CM hierarchy."""

import pytest

from infobutton import terminology
from infobutton.models import Code, CodeSystem, InvalidRequest


@pytest.mark.parametrize(
    "text,system",
    [
        ("2.16.840.1.113883.6.90", CodeSystem.ICD10CM),
        ("2.16.840.1.113883.6.103", CodeSystem.ICD9CM),
        ("2.16.840.1.113883.6.96", CodeSystem.SNOMEDCT),
        ("2.16.840.1.113883.6.1", CodeSystem.LOINC),
        ("2.16.840.1.113883.6.88", CodeSystem.RXNORM),
        ("2.16.840.1.113883.6.69", CodeSystem.NDC),
        ("2.16.840.1.113883.6.12", CodeSystem.CPT),
        ("2.16.840.1.113883.6.177", CodeSystem.MESH),
        ("http://snomed.info/sct", CodeSystem.SNOMEDCT),
        ("http://loinc.org", CodeSystem.LOINC),
        ("SNOMED CT", CodeSystem.SNOMEDCT),
        ("RxNorm", CodeSystem.RXNORM),
        ("icd-10-cm", CodeSystem.ICD10CM),
    ],
)
def test_code_system_lookup(text, system):
    assert terminology.code_system(text) is system


def test_unknown_code_system():
    with pytest.raises(InvalidRequest) as err:
        terminology.code_system("1.2.3")
    assert err.value.parameter == "mainSearchCriteria.v.cs"


@pytest.mark.parametrize(
    "raw,value",
    [
        ("C9100", "C91.00"),
        ("c91.00", "C91.00"),
        (" C91 ", "C91"),
        ("Z856", "Z85.6"),
        ("C91.", "C91"),
        ("S72001A", "S72.001A"),
        ("leukemia", "LEUKEMIA"),
        ("C81-C96", "C81-C96"),
    ],
)
def test_icd10cm_normalisation(raw, value):
    assert terminology.normalise(CodeSystem.ICD10CM, raw) == value


def test_icd10cm_validity_and_hierarchy():
    assert terminology.is_valid(Code(CodeSystem.ICD10CM, "C91.00"))
    assert not terminology.is_valid(Code(CodeSystem.ICD10CM, "C91.99"))
    assert terminology.ancestors(Code(CodeSystem.ICD10CM, "C91.00")) == ("C91.0", "C91", "C81-C96")
    assert terminology.ancestors(Code(CodeSystem.ICD10CM, "NOPE")) == ()
    assert "lymphoblastic" in terminology.describe(Code(CodeSystem.ICD10CM, "C91.00"))


@pytest.mark.parametrize(
    "system,value,valid",
    [
        (CodeSystem.SNOMEDCT, "93143009", True),
        (CodeSystem.SNOMEDCT, "93143008", False),
        (CodeSystem.SNOMEDCT, "91857003", True),
        (CodeSystem.LOINC, "2345-7", True),
        (CodeSystem.LOINC, "2345-8", False),
        (CodeSystem.LOINC, "718-7", True),
        (CodeSystem.RXNORM, "197361", True),
        (CodeSystem.RXNORM, "abc", False),
        (CodeSystem.NDC, "0002-3227-30", True),
        (CodeSystem.NDC, "12-34", False),
        (CodeSystem.CPT, "99213", True),
        (CodeSystem.MESH, "D007938", True),
    ],
)
def test_check_digits_and_shapes(system, value, valid):
    assert terminology.is_valid(Code(system, value)) is valid


def test_billable_codes_are_every_leaf_category_and_subcategory_once():
    codes = terminology.billable()
    assert len(codes) == len(set(codes)) == 74_719
    # Categories that share their name with a block of their own are billable too.
    for alone_in_its_block in ("B20", "F99", "P84", "R99", "Z66"):
        assert alone_in_its_block in codes
    # Leaf block names are not codes.
    assert "C00-C75" not in codes and "T07-T88" not in codes
    assert "C91.00" in codes and "C91.0" not in codes


def test_billable_codes_under_a_prefix():
    e11 = terminology.billable_under("E11")
    assert len(e11) == 87 and e11[0] == "E11.00" and "E11.9" in e11 and "E11.6" not in e11
    assert terminology.billable_under("e116") == [c for c in e11 if c.startswith("E11.6")]
    assert terminology.billable_under("E11.9") == ["E11.9"]
    for bad in ("", "1", "<x>", "E11.9.9.9.9"):
        with pytest.raises(InvalidRequest):
            terminology.billable_under(bad)
