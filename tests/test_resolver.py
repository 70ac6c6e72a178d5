"""Ranking, hierarchy coverage, context rules, language twins and merging (pure)."""

from dataclasses import replace

from infobutton import resolver
from infobutton.models import (
    Code,
    CodeSystem,
    Criterion,
    Gender,
    KnowledgeRequest,
    MappingRule,
    Scope,
    Topic,
    TopicRef,
)

ICD = CodeSystem.ICD10CM


def topic(tid, lang="en", twin=None, status="active"):
    return Topic(id=tid, title=tid.title(), url=f"https://example.org/{tid}.html", language=lang,
                 twin=TopicRef(twin, twin, f"https://example.org/{twin}.html") if twin else None, status=status)


TOPICS = {t.id: t for t in [
    topic("leukemia", twin="leukemia-es"), topic("leukemia-es", "es", twin="leukemia"),
    topic("all"), topic("child"), topic("cml"), topic("gone", status="withdrawn"),
]}


def req(*codes, **context):
    criteria = tuple(Criterion(Code(system, value)) for system, value in codes)
    return KnowledgeRequest(criteria=criteria, **context)


def rules(*items):
    return resolver.index_rules(items)


def resolve(request, index, limit=3, search=None):
    return [m.topic.id for m in resolver.resolve(request, index, TOPICS.get, limit, search=search)]


def rule(code, tid, **kw):
    return MappingRule(kw.pop("system", ICD), code, tid, **kw)


def test_most_specific_mapping_ranks_first_and_topic_appears_once():
    index = rules(rule("C91", "leukemia"), rule("C91.0", "all", priority=10), rule("C81-C96", "leukemia"))
    assert resolve(req((ICD, "C91.00")), index) == ["all", "leukemia"]


def test_descendant_scope_covers_children_but_exact_does_not():
    index = rules(rule("C91", "leukemia", scope=Scope.EXACT), rule("C91.0", "all"))
    assert resolve(req((ICD, "C91.00")), index) == ["all"]
    assert resolve(req((ICD, "C91")), index) == ["leukemia"]


def test_block_mapping_covers_its_categories():
    index = rules(rule("C81-C96", "leukemia"))
    assert resolve(req((ICD, "C92.10")), index) == ["leukemia"]


def test_priority_breaks_ties_at_the_same_level():
    index = rules(rule("C91", "leukemia", priority=0), rule("C91", "child", priority=5, max_age=18))
    assert resolve(req((ICD, "C91.00"), age_years=5), index) == ["child", "leukemia"]


def test_age_rule_fires_only_with_matching_context():
    index = rules(rule("C91", "leukemia"), rule("C91", "child", priority=5, max_age=18))
    assert resolve(req((ICD, "C91.00")), index) == ["leukemia"]
    assert resolve(req((ICD, "C91.00"), age_years=40), index) == ["leukemia"]
    assert resolve(req((ICD, "C91.00"), age_years=17.9), index) == ["child", "leukemia"]
    assert resolve(req((ICD, "C91.00"), age_group="D002648"), index) == ["child", "leukemia"]
    assert resolve(req((ICD, "C91.00"), age_group="D000368"), index) == ["leukemia"]


def test_gender_rule():
    index = rules(rule("C91", "child", gender=Gender.FEMALE))
    assert resolve(req((ICD, "C91.00"), gender=Gender.FEMALE), index) == ["child"]
    assert resolve(req((ICD, "C91.00"), gender=Gender.MALE), index) == []


def test_language_twin_served_and_english_fallback():
    index = rules(rule("C91", "leukemia"), rule("C91.0", "all", priority=1))
    assert resolve(req((ICD, "C91.00"), language="es"), index) == ["all", "leukemia-es"]


def test_withdrawn_and_missing_topics_are_skipped():
    index = rules(rule("C91", "gone"), rule("C91", "missing"), rule("C91", "cml"))
    assert resolve(req((ICD, "C91.00")), index) == ["cml"]


def test_limit_and_round_robin_merge_of_criteria():
    index = rules(rule("C91.0", "all", priority=1), rule("C91", "leukemia"),
                  rule("92818009", "cml", system=CodeSystem.SNOMEDCT, scope=Scope.EXACT),
                  rule("92818009", "leukemia", system=CodeSystem.SNOMEDCT, scope=Scope.EXACT))
    request = req((ICD, "C91.00"), (CodeSystem.SNOMEDCT, "92818009"))
    assert resolve(request, index, limit=3) == ["all", "cml", "leukemia"]
    assert resolve(request, index, limit=1) == ["all"]


def test_free_text_and_invalid_codes_go_to_search():
    calls = []

    def search(text, language, limit):
        calls.append((text, language))
        return [TOPICS["cml"]]

    request = KnowledgeRequest(criteria=(Criterion(None, original_text="chronic myeloid"),))
    assert resolve(request, {}, search=search) == ["cml"]
    bogus = KnowledgeRequest(criteria=(Criterion(Code(ICD, "LEUKEMIA"), raw_code="leukemia"),), language="es")
    assert resolve(bogus, {}, search=search) == ["cml"]
    assert calls == [("chronic myeloid", "en"), ("leukemia", "es")]
    # a valid code with no mapping does not fall back to text search
    assert resolve(req((ICD, "J45.909")), {}, search=search) == []


def test_match_records_rule_and_distance():
    index = rules(rule("C91", "leukemia"))
    (match,) = resolver.resolve(req((ICD, "C91.00")), index, TOPICS.get)
    assert match.distance == 2 and match.rule.code == "C91"
    assert replace(match.rule, id=None) == rule("C91", "leukemia")
