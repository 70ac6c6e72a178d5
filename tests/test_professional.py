"""Professional content for health professionals: the NCI PDQ Health
Professional Version summaries (topics/professional-nci-pdq.xml) reached by the curated rules of
mappings/professional.csv, limited to informationRecipient (else performer) PROV.

Done-when for C91.00: a PROV request gets the professional summary first. A patient's request
never gets a PDQ topic through these rules (they are for PROV only).

The expectations are written from the decisions in mappings/README.md ("professional.csv"), not
from the CSV, and run through the real app with the bundled catalogue and mappings.
"""

from __future__ import annotations

import json

import pytest

from infobutton import bundled, terminology
from infobutton.models import Code, CodeSystem, Recipient

from .conftest import icd

HP = "https://www.cancer.gov/types/leukemia/hp"
LANDING = HP
ADULT_ALL = f"{HP}/adult-all-treatment-pdq"
CHILD_ALL = f"{HP}/child-all-treatment-pdq"
ADULT_AML = f"{HP}/adult-aml-treatment-pdq"
CHILD_AML = f"{HP}/child-aml-treatment-pdq"
CLL = f"{HP}/cll-treatment-pdq"
CML = f"{HP}/cml-treatment-pdq"
CHILD_CML = f"{HP}/child-aml-treatment-pdq/childhood-cml-treatment-pdq"
HAIRY = f"{HP}/hairy-cell-treatment-pdq"
PDQ = {LANDING, ADULT_ALL, CHILD_ALL, ADULT_AML, CHILD_AML, CLL, CML, CHILD_CML, HAIRY}
MEDLINEPLUS_ALL = "https://medlineplus.gov/acutelymphocyticleukemia.html"

ADULT = {"age.v.v": "60", "age.v.u": "a"}
CHILD = {"age.v.v": "6", "age.v.u": "a"}
PROV = {"informationRecipient": "PROV"}
PAT = {"informationRecipient": "PAT"}


def entries(client, code: str, **extra) -> list[dict]:
    r = client.get("/infobutton", query_string=icd(code, knowledgeResponseType="application/json", **extra))
    assert r.status_code == 200, r.data
    return r.get_json()["feed"].get("entry", [])


def hrefs(client, code: str, **extra) -> list[str]:
    return [e["link"][0]["href"] for e in entries(client, code, **extra)]


# -- the done-when ---------------------------------------------------------------------------


def test_c91_00_for_a_health_professional_gets_the_adult_all_summary_first(client):
    answer = hrefs(client, "C91.00", **PROV, **ADULT)
    assert answer[0] == ADULT_ALL
    assert CHILD_ALL not in answer
    assert answer.index(ADULT_ALL) < answer.index(MEDLINEPLUS_ALL)  # the patient page stays, after it


def test_c91_00_for_a_health_professional_with_a_child_gets_the_childhood_all_summary_first(client):
    answer = hrefs(client, "C91.00", **PROV, **CHILD)
    assert answer[0] == CHILD_ALL
    assert ADULT_ALL not in answer
    assert MEDLINEPLUS_ALL in answer


def test_without_an_age_neither_age_summary_but_the_nci_leukemia_page(client):
    answer = hrefs(client, "C91.00", **PROV)
    assert LANDING in answer and not {ADULT_ALL, CHILD_ALL} & set(answer)
    assert answer[0] == LANDING  # professional topics first for PROV


def test_performer_prov_is_the_reader_when_no_recipient_is_sent(client):
    assert hrefs(client, "C91.00", performer="PROV", **ADULT)[0] == ADULT_ALL


# -- every family, for a health professional -------------------------------------------------


@pytest.mark.parametrize(
    "code, adult, child",
    [
        ("C91.00", ADULT_ALL, CHILD_ALL),
        ("C91.02", ADULT_ALL, CHILD_ALL),
        ("C91.10", CLL, CLL),  # no childhood CLL summary
        ("C91.40", HAIRY, HAIRY),  # no childhood hairy cell summary
        ("C92.00", ADULT_AML, CHILD_AML),
        ("C92.30", ADULT_AML, CHILD_AML),  # myeloid sarcoma
        ("C92.40", ADULT_AML, CHILD_AML),  # APL
        ("C92.50", ADULT_AML, CHILD_AML),
        ("C92.60", ADULT_AML, CHILD_AML),
        ("C92.A0", ADULT_AML, CHILD_AML),
        ("C93.00", ADULT_AML, CHILD_AML),
        ("C94.00", ADULT_AML, CHILD_AML),
        ("C94.20", ADULT_AML, CHILD_AML),
        ("C94.40", ADULT_AML, CHILD_AML),
        ("C92.10", CML, CHILD_CML),
    ],
)
def test_each_leukemia_gets_its_summary_first_and_the_nci_leukemia_page(client, code, adult, child):
    for age, first in ((ADULT, adult), (CHILD, child)):
        answer = hrefs(client, code, **PROV, **age)
        assert answer[0] == first, (code, age, answer)
        assert LANDING in answer
        assert set(answer) & PDQ == {first, LANDING}, (code, age, answer)  # no other summary


@pytest.mark.parametrize("code", ["C91.50", "C91.Z0", "C92.20", "C92.90", "C93.10", "C94.30", "C95.90", "Z85.6"])
def test_other_leukemias_get_only_the_nci_leukemia_page(client, code):
    for age in (ADULT, CHILD):
        answer = hrefs(client, code, **PROV, **age)
        assert set(answer) & PDQ == {LANDING}, (code, age, answer)


def test_atypical_cml_never_gets_the_cml_summaries(client):
    for age in (ADULT, CHILD, {}):
        assert not {CML, CHILD_CML} & set(hrefs(client, "C92.20", **PROV, **age))


@pytest.mark.parametrize("code", ["C94.6", "D46.9", "D47.2", "C90.00", "C88.00"])
def test_no_professional_leukemia_topic_outside_the_leukemias(client, code):
    for age in (ADULT, CHILD):
        assert not PDQ & set(hrefs(client, code, **PROV, **age))


# -- patients and readers that are not health professionals ----------------------------------

LEUKEMIA_CODES = ["C91.00", "C91.10", "C91.40", "C92.00", "C92.10", "C92.40", "C93.00", "C94.40", "C95.90", "Z85.6"]


@pytest.mark.parametrize("code", LEUKEMIA_CODES)
@pytest.mark.parametrize("reader", [PAT, {"informationRecipient": "PAYOR"}, {"performer": "PAT"}, {}])
def test_a_request_that_is_not_a_health_professionals_never_gets_a_pdq_topic(client, code, reader):
    for age in (ADULT, CHILD, {}):
        answer = hrefs(client, code, **reader, **age)
        assert answer, (code, reader, age)  # the MedlinePlus pages still answer
        assert not PDQ & set(answer), (code, reader, age, answer)


# -- credit: a link to cancer.gov, never MedlinePlus or NLM ----------------------------------


def test_pdq_entries_link_to_cancer_gov_and_are_not_credited_to_medlineplus(client):
    found = [e for e in entries(client, "C91.00", **PROV, **ADULT) if e["link"][0]["href"] in PDQ]
    assert len(found) == 2
    for entry in found:
        text = json.dumps(entry, ensure_ascii=False)
        assert "Links to the page for this topic on cancer.gov" in text
        assert "National Library of Medicine" not in text and "From MedlinePlus.gov" not in text


# -- the rules themselves --------------------------------------------------------------------


def professional_rules():
    topics = {t.id: t for t in bundled.load_topics()}
    return [r for r in bundled.load_rules() if topics[r.topic_id].audience == "professional"], topics


def test_every_pdq_rule_is_for_prov_on_a_valid_code_and_names_its_evidence():
    rules, topics = professional_rules()
    assert len(rules) == 37
    for rule in rules:
        assert rule.audiences == (Recipient.PROVIDER,), rule
        assert rule.code_system is CodeSystem.ICD10CM and terminology.is_valid(Code(rule.code_system, rule.code)), rule
        assert (rule.tasks, rule.settings, rule.languages, rule.age_groups, rule.gender) == ((), (), (), (), None)
        title = terminology.describe(Code(rule.code_system, rule.code))
        assert f"{rule.code} '{title}'" in rule.reason, rule  # the tabular title, quoted
        topic = topics[rule.topic_id]
        assert topic.status == "active" and topic.url.startswith("https://www.cancer.gov/types/leukemia/hp")
        assert f"'{topic.title}'" in rule.reason, rule  # the summary (or page) it points at, by its title


def test_pdq_rules_outrank_the_medlineplus_rules_and_a_summary_the_nci_leukemia_page_on_the_same_code():
    rules, _ = professional_rules()
    others = [r for r in bundled.load_rules() if r not in rules]
    for rule in rules:
        same_code = [r.priority for r in others if (r.code_system, r.code) == (rule.code_system, rule.code)]
        assert all(rule.priority > p for p in same_code), rule
        if rule.topic_id != "nci-leukemia-hp":
            landing = [r.priority for r in rules if r.code == rule.code and r.topic_id == "nci-leukemia-hp"]
            assert all(rule.priority > p for p in landing), rule  # C94.0: the AML summary, then the page


def test_age_split_summaries_meet_at_18_and_the_others_have_no_age_limit():
    rules, _ = professional_rules()
    for rule in rules:
        if rule.topic_id.startswith("nci-pdq-adult-") or rule.topic_id == "nci-pdq-cml-hp":
            assert (rule.min_age, rule.max_age) == (18, None), rule
        elif rule.topic_id.startswith("nci-pdq-child-"):
            assert (rule.min_age, rule.max_age) == (None, 18), rule
        else:
            assert (rule.min_age, rule.max_age) == (None, None), rule
