"""The mappings and topics shipped with the project are complete and consistent."""

from infobutton import bundled, terminology
from infobutton.models import Code, CodeSystem

EXPECTED_TOPICS = {"leukemia", "acutelymphocyticleukemia", "acutemyeloidleukemia",
                   "chroniclymphocyticleukemia", "chronicmyeloidleukemia", "childhoodleukemia"}


def test_every_topic_has_a_spanish_twin_that_points_back():
    topics = {t.id: t for t in bundled.load_topics()}
    assert EXPECTED_TOPICS | {f"{t}-es" for t in EXPECTED_TOPICS} == set(topics)
    for tid in EXPECTED_TOPICS:
        en, es = topics[tid], topics[f"{tid}-es"]
        assert en.language == "en" and es.language == "es"
        assert en.twin.id == es.id and es.twin.id == en.id
        assert en.url.startswith("https://medlineplus.gov/") and "/spanish/" in es.url
        assert en.summary_html and es.summary_html and en.primary_institute


def test_leukemia_topic_carries_the_seed_page_sections():
    leukemia = next(t for t in bundled.load_topics() if t.id == "leukemia")
    categories = {s.category for s in leukemia.sites}
    assert {"Start Here", "Diagnosis and Tests", "Treatments and Therapies", "Related Issues", "Specifics",
            "Genetics", "Statistics and Research", "Clinical Trials", "Find an Expert",
            "Patient Handouts"} <= categories
    assert {r.id for r in leukemia.related} == EXPECTED_TOPICS - {"leukemia"}


def test_every_rule_is_valid_and_targets_a_bundled_topic():
    topics = {t.id for t in bundled.load_topics()}
    rules = bundled.load_rules()
    assert rules
    for rule in rules:
        assert rule.topic_id in topics, rule
        assert terminology.is_valid(Code(rule.code_system, rule.code)) or "-" in rule.code, rule


def test_leukemia_family_is_covered():
    codes = {(r.code_system, r.code) for r in bundled.load_rules()}
    for category in ("C91", "C92", "C93", "C95"):
        assert (CodeSystem.ICD10CM, category) in codes
    assert (CodeSystem.ICD10CM, "Z85.6") in codes
    for snomed in ("93143009", "91857003", "91861009", "92814006", "92818009"):
        assert (CodeSystem.SNOMEDCT, snomed) in codes
