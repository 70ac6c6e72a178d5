"""Suggested mappings (pure): evidence, level, confidence, curated rules and rejections respected."""

from __future__ import annotations

import pytest

from infobutton import resolver
from infobutton.concepts import ConceptIndex
from infobutton.mappings.suggestions import parse_pair, suggest
from infobutton.models import Code, CodeSystem, MappingRule, Scope, Topic

ICD = CodeSystem.ICD10CM


def topic(tid: str, title: str, **extra) -> Topic:
    return Topic(id=tid, title=title, url=f"https://medlineplus.gov/{tid}.html", language="en", **extra)


TOPICS = {
    t.id: t
    for t in [
        topic("diabetestype2", "Diabetes Type 2"),
        topic("diabetes", "Diabetes"),
        topic("leukemia", "Leukemia"),
        topic("acutelymphocyticleukemia", "Acute Lymphocytic Leukemia", also_called=("ALL",)),
        topic("chronicmyeloidleukemia", "Chronic Myeloid Leukemia"),
        topic("crohnsdisease", "Crohn's Disease"),
        topic("enteritis", "Enteritis"),
        topic("tuberculosis", "Tuberculosis"),
        topic("asthma", "Asthma", status="withdrawn"),
        Topic(
            id="diabetestype2-es",
            title="Diabetes tipo 2",
            language="es",
            url="https://medlineplus.gov/spanish/diabetestype2.html",
            also_called=("Type 2 diabetes",),
        ),
    ]
}
INDEX = ConceptIndex(TOPICS.values())


def codes(*values: str) -> list[Code]:
    return [Code(ICD, v) for v in values]


def rules(*items: MappingRule):
    return resolver.index_rules(items)


def run(asked, index=None, rejected=frozenset()):
    return suggest(codes(*asked), index or {}, TOPICS.get, INDEX.match, rejected)


def brief(found) -> list[tuple]:
    return [(s.code, s.topic_id, s.confident) for s in found]


def test_one_rule_on_the_category_covers_the_family_with_its_evidence():
    [s] = run(["E11.9", "E11.65", "E11.9"])
    assert (s.code_system, s.code, s.topic_id, s.scope) == (ICD, "E11", "diabetestype2", Scope.DESCENDANTS)
    assert s.confident and s.doubts == ()
    assert s.covers == ("E11.9", "E11.65")
    assert (s.evidence.code, s.evidence.title, s.evidence.name, s.evidence.kind) == (
        "E11",
        "Type 2 diabetes mellitus",
        "Diabetes Type 2",
        "title",
    )
    assert s.evidence.exact is False and set(s.evidence.words) == {"type", "2", "diabete"}
    assert s.evidence.sentence() == (
        "ICD-10-CM title \u2018Type 2 diabetes mellitus\u2019 (E11) holds the topic name \u2018Diabetes Type 2\u2019"
    )
    assert s.rule_fields() == {
        "code_system": "ICD-10-CM",
        "code": "E11",
        "topic_id": "diabetestype2",
        "scope": "descendants",
        "reason": "suggested: " + s.evidence.sentence(),
    }


def test_the_level_is_the_broadest_title_that_holds_the_name():
    """CML's name is in C92.1's title, not in C92's ("Myeloid leukemia"): the subcategory carries it,
    the category carries Leukemia."""
    found = run(["C92.10"])
    assert brief(found) == [("C92", "leukemia", True), ("C92.1", "chronicmyeloidleukemia", True)]
    cml = found[1]
    assert cml.evidence.title == "Chronic myeloid leukemia, BCR/ABL-positive"
    assert cml.covers == ("C92.10",)


def test_a_confident_family_rule_makes_a_narrower_proposal_redundant():
    """A18.0's title lists two sites ("Tuberculosis of bones and joints"), so A18.01's chain stops at
    its own title; the A18 rule reaches it all the same, and covers it."""
    assert brief(run(["A18.01"])) == [("A18.01", "tuberculosis", True)]
    [s] = run(["A18.01", "A18.4"])
    assert (s.code, s.covers) == ("A18", ("A18.01", "A18.4"))
    # Not when the family rule is in doubt: the narrower one stays for --apply.
    doubtful = rules(MappingRule(ICD, "A18.6", "diabetes", Scope.EXACT))
    assert brief(run(["A18.01", "A18.4"], doubtful)) == [
        ("A18", "tuberculosis", False),
        ("A18.01", "tuberculosis", True),
    ]


def test_a_code_with_a_7th_character_is_proposed_as_its_family():
    """E11.3541 is E11.354 with the eye as 7th character: its chain starts at E11.354 and climbs to
    E11, as E11.354's would; a rule on E11.3541 itself would never be asked for."""
    assert brief(run(["E11.3541"])) == [("E11", "diabetestype2", True)]


def test_not_confident_when_the_title_holds_another_topic_too():
    found = run(["K50.00"])
    assert brief(found) == [("K50", "crohnsdisease", False), ("K50", "enteritis", False)]
    assert found[0].doubts == ("the title of K50 also holds Enteritis",)


def test_what_a_curated_rule_says_is_never_suggested_and_a_reached_code_is_not_confident():
    index = rules(MappingRule(ICD, "C91", "leukemia"))
    found = run(["C91.00"], index)
    assert brief(found) == [("C91.0", "acutelymphocyticleukemia", False)]
    assert found[0].doubts == ("curated rules already reach C91.0 (C91 \u2192 leukemia)",)
    # A rule limited to a patient context still says the topic: no suggestion repeats it.
    limited = rules(MappingRule(ICD, "E11.9", "diabetestype2", Scope.EXACT, max_age=18))
    assert run(["E11.9"], limited) == []


def test_curated_rules_under_the_family_make_it_doubtful():
    index = rules(MappingRule(ICD, "E11.65", "diabetes", Scope.EXACT))
    [s] = run(["E11.9"], index)
    assert (s.code, s.confident) == ("E11", False)
    assert s.doubts == ("curated rules already map codes under E11 (E11.65)",)


def test_a_level_curated_for_the_topic_is_skipped_for_the_next_title_down():
    index = rules(MappingRule(ICD, "E11", "diabetestype2", Scope.EXACT))
    [s] = run(["E11.65"], index)
    assert (s.code, s.topic_id, s.confident) == ("E11.6", "diabetestype2", True)
    assert s.evidence.code == "E11.6"


def test_evidence_only_above_a_curated_level_is_proposed_on_the_code_but_not_confident():
    """Tuberculous pleurisy (A15.6) is tuberculosis only by its category's title; with A15 itself
    curated (exact) the proposal falls back to the asked code, and says where the match is."""
    index = rules(MappingRule(ICD, "A15", "tuberculosis", Scope.EXACT))
    [s] = run(["A15.6"], index)
    assert (s.code, s.topic_id, s.evidence.code) == ("A15.6", "tuberculosis", "A15")
    assert not s.confident
    assert s.doubts[0] == "the match is on the title of A15, not on A15.6's own"
    assert brief(run(["A15.6"])) == [("A15", "tuberculosis", True)]


def test_a_rejection_suppresses_the_topic_for_the_code_and_below():
    family = frozenset({(ICD, "E11", "diabetestype2")})
    assert run(["E11.9", "E11.65"], rejected=family) == []
    one = frozenset({(ICD, "E11.9", "diabetestype2")})
    assert run(["E11.9"], rejected=one) == []
    [s] = run(["E11.65"], rejected=one)  # the family rule would reach the rejected code
    assert (s.code, s.confident) == ("E11", False)
    assert s.doubts == ("rejected for E11.9 under E11",)
    other_topic = frozenset({(ICD, "E11", "diabetes")})
    assert brief(run(["E11.9"], rejected=other_topic)) == [("E11", "diabetestype2", True)]


def test_only_served_english_topics_and_only_codes_with_titles():
    assert run(["J45.909"]) == []  # the Asthma topic is withdrawn
    assert [s.topic_id for s in run(["E11.9"])] == ["diabetestype2"]  # never the Spanish twin
    assert suggest([Code(CodeSystem.SNOMEDCT, "44054006")], {}, TOPICS.get, INDEX.match) == []
    assert run(["E11.999"]) == []  # not a code
    assert run(["Z83.3"]) == []  # family history of diabetes: not the patient's disease


def test_parse_pair():
    assert parse_pair(" e119:diabetestype2 ") == ("E11.9", "diabetestype2")
    for bad in ("E11", ":x", "E11:", ""):
        with pytest.raises(ValueError):
            parse_pair(bad)
