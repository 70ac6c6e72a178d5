"""The bundled hematologic mappings give the expected answer for every code of the leukemia
neighbourhood: C88, C90-C95, D45-D47 and Z85.6, every code simple-icd-10-cm lists
under them, for an adult and for a child, plus the five SNOMED CT leukemia concepts.

The expectations below are written from the clinical decisions (mappings/README.md), not from
the CSV files or from the resolver's output, so a wrong or missing row fails here.
"""

from __future__ import annotations

import pytest
import simple_icd_10_cm as cm

from infobutton import bundled, concepts, resolver
from infobutton.models import Code, CodeSystem, Criterion, KnowledgeRequest, Scope, Topic

from .conftest import icd

LEUK = "leukemia"
ALL = "acutelymphocyticleukemia"
AML = "acutemyeloidleukemia"
CLL = "chroniclymphocyticleukemia"
CML = "chronicmyeloidleukemia"
CHILD = "childhoodleukemia"
MDS = "myelodysplasticsyndromes"
MM = "multiplemyeloma"
MPD = "myeloproliferativedisorders"
LYMPHOMA = "lymphoma"
TOPIC_IDS = (LEUK, ALL, AML, CLL, CML, CHILD, MDS, MM, MPD, LYMPHOMA)

ROOTS = ("C88", "C90", "C91", "C92", "C93", "C94", "C95", "D45", "D46", "D47", "Z85.6")
CODES = [code for root in ROOTS for code in (root, *cm.get_descendants(root))]
CODES_IN_TABULAR_LIST = 199  # simple-icd-10-cm 1.5 (ICD-10-CM FY2025)

# key -> (adult, child aged 6). "C91.0*" is C91.0 and every code under it; "C94" is that code only.
# A code takes the entry with the longest key that covers it.
EXPECTED: dict[str, tuple[list[str], list[str]]] = {
    # Leukemias: the specific page, then (under 18) Childhood Leukemia, then the overview.
    "C91*": ([LEUK], [CHILD, LEUK]),
    "C91.0*": ([ALL, LEUK], [ALL, CHILD, LEUK]),
    "C91.1*": ([CLL, LEUK], [CLL, CHILD, LEUK]),
    "C92*": ([LEUK], [CHILD, LEUK]),
    "C92.0*": ([AML, LEUK], [AML, CHILD, LEUK]),
    "C92.1*": ([CML, LEUK], [CML, CHILD, LEUK]),
    "C92.2*": ([LEUK], [CHILD, LEUK]),  # atypical CML, BCR/ABL-negative: never the CML page
    "C92.3*": ([AML, LEUK], [AML, CHILD, LEUK]),  # myeloid sarcoma (WHO: with AML)
    "C92.4*": ([AML, LEUK], [AML, CHILD, LEUK]),
    "C92.5*": ([AML, LEUK], [AML, CHILD, LEUK]),
    "C92.6*": ([AML, LEUK], [AML, CHILD, LEUK]),
    "C92.A*": ([AML, LEUK], [AML, CHILD, LEUK]),
    "C93*": ([LEUK], [CHILD, LEUK]),
    "C93.0*": ([AML, LEUK], [AML, CHILD, LEUK]),
    "C94": ([LEUK], [CHILD, LEUK]),
    "C94.0*": ([AML, LEUK], [AML, CHILD, LEUK]),
    "C94.2*": ([AML, LEUK], [AML, CHILD, LEUK]),
    "C94.3*": ([LEUK], [CHILD, LEUK]),
    "C94.4*": ([AML, LEUK], [AML, CHILD, LEUK]),  # acute panmyelosis with myelofibrosis (WHO: AML)
    "C94.6": ([MDS, MPD], [MDS, MPD]),  # myelodysplastic disease NEC: not a leukemia
    "C94.8*": ([LEUK], [CHILD, LEUK]),
    "C95*": ([LEUK], [CHILD, LEUK]),
    "Z85.6": ([LEUK], [CHILD, LEUK]),
    # Myelodysplastic and myeloproliferative neoplasms: no leukemia page, no child rule.
    "D46*": ([MDS], [MDS]),
    "D45": ([MPD], [MPD]),
    "D47.1": ([MPD], [MPD]),
    "D47.3": ([MPD], [MPD]),
    "D47.4": ([MPD], [MPD]),
    # Deliberately unanswered (mappings/README.md says why): mixed category, mastocytosis, MGUS,
    # lymphoproliferative disease NOS, PTLD, Castleman disease, histiocytic tumours.
    "D47": ([], []),
    "D47.0*": ([], []),
    "D47.2": ([], []),
    "D47.Z*": ([], []),
    "D47.9": ([], []),
    # Plasma cell neoplasms and C88 B-cell lymphomas: no leukemia page, no child rule.
    "C90": ([MM], [MM]),
    "C90.0*": ([MM], [MM]),
    "C90.1*": ([MM], [MM]),  # plasma cell leukemia: a plasma cell myeloma variant (WHO)
    "C90.2*": ([MM], [MM]),
    "C90.3*": ([MM], [MM]),
    "C88*": ([LYMPHOMA], [LYMPHOMA]),
}

SNOMED_EXPECTED = {
    "93143009": ([LEUK], [CHILD, LEUK]),
    "91857003": ([ALL, LEUK], [ALL, CHILD, LEUK]),
    "91861009": ([AML, LEUK], [AML, CHILD, LEUK]),
    "92814006": ([CLL, LEUK], [CLL, CHILD, LEUK]),
    "92818009": ([CML, LEUK], [CML, CHILD, LEUK]),
}


def covers(key: str, code: str) -> bool:
    if key.endswith("*"):
        stem = key[:-1]
        return code == stem or code.startswith(stem + ("" if "." in stem else "."))
    return code == key


def expected_key(code: str) -> str:
    keys = [key for key in EXPECTED if covers(key, code)]
    assert keys, f"{code} ({cm.get_description(code)}) has no expected answer: decide one"
    return max(keys, key=lambda key: len(key.rstrip("*")))


# Link-only topics with their MedlinePlus titles (../shared/medlineplus, the seed page).
TITLES = {
    LEUK: "Leukemia",
    ALL: "Acute Lymphocytic Leukemia",
    AML: "Acute Myeloid Leukemia",
    CLL: "Chronic Lymphocytic Leukemia",
    CML: "Chronic Myeloid Leukemia",
    CHILD: "Childhood Leukemia",
    MDS: "Myelodysplastic Syndromes",
    MM: "Multiple Myeloma",
    MPD: "Myeloproliferative Disorders",
    LYMPHOMA: "Lymphoma",
}
TOPICS = {
    tid: Topic(id=tid, title=TITLES[tid], url=f"https://medlineplus.gov/{tid}.html", language="en") for tid in TOPIC_IDS
}
CONCEPTS = concepts.ConceptIndex(TOPICS.values())


@pytest.fixture(scope="module")
def index():
    return resolver.index_rules(bundled.load_rules())


def answer(index, system: CodeSystem, code: str, **context) -> list[str]:
    request = KnowledgeRequest(criteria=(Criterion(Code(system, code)),), **context)
    return [m.topic.id for m in resolver.resolve(request, index, TOPICS.get)]


def answer_in_layers(index, code: str, **context) -> list[str]:
    """With automatic concept matching on, as the app resolves."""
    request = KnowledgeRequest(criteria=(Criterion(Code(CodeSystem.ICD10CM, code)),), **context)
    return [m.topic.id for m in resolver.resolve(request, index, TOPICS.get, concepts=CONCEPTS.match)]


def test_the_table_covers_the_whole_tabular_list_and_every_entry_is_used():
    assert len(CODES) == len(set(CODES)) == CODES_IN_TABULAR_LIST, (
        "the tabular list changed under C88/C90-C95/D45-D47/Z85.6: review the new codes"
    )
    used = {expected_key(code) for code in CODES}
    assert used == set(EXPECTED)


@pytest.mark.parametrize("code", CODES)
def test_every_code_answers_as_expected_for_adult_and_child(index, code):
    adult, child = EXPECTED[expected_key(code)]
    assert answer(index, CodeSystem.ICD10CM, code, age_years=40) == adult
    assert answer(index, CodeSystem.ICD10CM, code, age_years=6) == child
    # Without an age no child rule fires; at 18 the patient is an adult.
    assert answer(index, CodeSystem.ICD10CM, code) == adult
    assert answer(index, CodeSystem.ICD10CM, code, age_years=18) == adult
    # Concept matching never adds to a curated code, nor answers one left unanswered on purpose.
    assert answer_in_layers(index, code, age_years=40) == adult
    assert answer_in_layers(index, code, age_years=6) == child


@pytest.mark.parametrize("code", sorted(SNOMED_EXPECTED))
def test_snomed_leukemia_concepts_for_adult_and_child(index, code):
    adult, child = SNOMED_EXPECTED[code]
    assert answer(index, CodeSystem.SNOMEDCT, code, age_years=40) == adult
    assert answer(index, CodeSystem.SNOMEDCT, code, age_years=6) == child
    assert answer(index, CodeSystem.SNOMEDCT, code, age_group="D002648") == child  # MeSH Child


def test_only_named_snomed_concepts_are_mapped():
    snomed = {r.code for r in bundled.load_rules() if r.code_system is CodeSystem.SNOMEDCT}
    assert snomed == set(SNOMED_EXPECTED)
    assert all(r.scope is Scope.EXACT for r in bundled.load_rules() if r.code_system is CodeSystem.SNOMEDCT)


def test_every_rule_names_its_evidence():
    """An ICD-10-CM rule quotes its code's tabular title or one of its inclusion terms; a
    SNOMED CT rule names its concept; no reason is empty."""
    for rule in bundled.load_rules():
        assert rule.reason and rule.code in rule.reason, rule
        if rule.code_system is CodeSystem.ICD10CM:
            names = [cm.get_description(rule.code), *cm.get_inclusion_term(rule.code)]
            assert any(f"'{name}'" in rule.reason for name in names), rule


def test_the_two_corrections_the_informaticist_asked_for_hold():
    rules = bundled.load_rules()
    # C92.2 (atypical CML, BCR/ABL-negative) is never the CML page, by any rule.
    assert not [r for r in rules if r.topic_id == CML and r.code.startswith("C92.2")]
    # No child rule outside the leukemias.
    for rule in rules:
        if rule.topic_id == CHILD and rule.code_system is CodeSystem.ICD10CM:
            assert rule.code[:3] in {"C91", "C92", "C93", "C94", "C95", "Z85"} and rule.code != "C94.6", rule


# -- end to end through the app, with the bundled catalogue ------------------------------------


def _bundled_topic_ids() -> set[str]:
    return {t.id for t in bundled.load_topics()}


def test_every_mapped_topic_ships():
    assert set(TOPIC_IDS) <= _bundled_topic_ids()


def topics_for(client, code: str, **extra) -> list[str]:
    r = client.get("/infobutton", query_string=icd(code, knowledgeResponseType="application/json", **extra))
    assert r.status_code == 200
    return [e["link"][0]["href"] for e in r.get_json()["feed"].get("entry", [])]


def page(tid: str) -> str:
    return f"https://medlineplus.gov/{tid}.html"


CHILD_AGE = {"age.v.v": "6", "age.v.u": "a"}


@pytest.mark.parametrize(
    "code,extra,expected",
    [
        ("C92.20", {}, [LEUK]),  # atypical CML: not the CML page
        ("C92.30", CHILD_AGE, [AML, CHILD, LEUK]),
        ("C94.40", {}, [AML, LEUK]),
        ("C94.30", CHILD_AGE, [CHILD, LEUK]),
        ("Z85.6", CHILD_AGE, [CHILD, LEUK]),
        ("D47.2", {}, []),  # MGUS: deliberately unanswered
    ],
)
def test_end_to_end_leukemia_codes(client, code, extra, expected):
    assert topics_for(client, code, **extra) == [page(tid) for tid in expected]


@pytest.mark.parametrize(
    "code,extra,expected",
    [
        ("C94.6", {}, [MDS, MPD]),
        ("D46.9", CHILD_AGE, [MDS]),
        ("D45", {}, [MPD]),
        ("D47.4", {}, [MPD]),
        ("C90.00", {}, [MM]),
        ("C88.00", {}, [LYMPHOMA]),
    ],
)
def test_end_to_end_other_hematologic_codes(client, code, extra, expected):
    assert topics_for(client, code, **extra) == [page(tid) for tid in expected]
