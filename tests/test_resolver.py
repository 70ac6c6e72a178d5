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
    return Topic(
        id=tid,
        title=tid.title(),
        url=f"https://example.org/{tid}.html",
        language=lang,
        twin=TopicRef(twin, twin, f"https://example.org/{twin}.html") if twin else None,
        status=status,
    )


TOPICS = {
    t.id: t
    for t in [
        topic("leukemia", twin="leukemia-es"),
        topic("leukemia-es", "es", twin="leukemia"),
        topic("all"),
        topic("child"),
        topic("cml"),
        topic("gone", status="withdrawn"),
    ]
}


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
    index = rules(
        rule("C91.0", "all", priority=1),
        rule("C91", "leukemia"),
        rule("92818009", "cml", system=CodeSystem.SNOMEDCT, scope=Scope.EXACT),
        rule("92818009", "leukemia", system=CodeSystem.SNOMEDCT, scope=Scope.EXACT),
    )
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


# -- layers: curated → automatic → upstream → free text, each labelled ----------------------------

from infobutton.concepts import ConceptIndex  # noqa: E402
from infobutton.crosswalk import Translation  # noqa: E402
from infobutton.models import Provenance  # noqa: E402

SNOMED = CodeSystem.SNOMEDCT
NAMED = {
    t.id: t
    for t in [
        Topic("diabetestype2", "Diabetes Type 2", "https://medlineplus.gov/diabetestype2.html", "en", source="index"),
        Topic("aml", "Acute Myeloid Leukemia", "https://medlineplus.gov/acutemyeloidleukemia.html", "en"),
        Topic("leukemia", "Leukemia", "https://medlineplus.gov/leukemia.html", "en"),
        Topic("child", "Childhood Leukemia", "https://medlineplus.gov/childhoodleukemia.html", "en"),
        Topic("gout", "Gout", "https://medlineplus.gov/gout.html", "en"),
    ]
}
INDEX = ConceptIndex(NAMED.values())
CONCEPTS = INDEX.match


def layered(request, index=None, **kw):
    return resolver.resolve(request, index or {}, NAMED.get, 3, concepts=CONCEPTS, named=INDEX.named, **kw)


def crit(system, value, **kw):
    return KnowledgeRequest(criteria=(Criterion(Code(system, value), raw_code=value, **kw),))


def test_code_without_rule_is_answered_when_its_whole_title_is_a_topic_name_and_says_so():
    [match] = layered(crit(ICD, "M10.9"))  # "Gout, unspecified": "unspecified" says nothing clinical
    assert match.topic.id == "gout" and match.provenance is Provenance.AUTOMATIC
    assert match.distance == 0 and not match.from_text
    assert match.reason == (
        "matched the ICD-10-CM title \u2018Gout, unspecified\u2019 to the topic name \u2018Gout\u2019"
    )
    # without the whole-name lookup there is no automatic layer at all
    assert resolver.resolve(crit(ICD, "M10.9"), {}, NAMED.get, 3, concepts=CONCEPTS) == []


def test_automatic_match_may_come_from_a_category_whose_whole_title_the_code_names():
    # E11.9 "Type 2 diabetes mellitus without complications" is not a topic name as a whole; its
    # category E11 "Type 2 diabetes mellitus" is, and E11.9's own title names that topic too.
    [match] = layered(crit(ICD, "E11.9"))
    assert match.topic.id == "diabetestype2" and match.distance == 1
    assert match.reason == (
        "matched the ICD-10-CM title of E11 \u2018Type 2 diabetes mellitus\u2019 to the topic name"
        " \u2018Diabetes Type 2\u2019, which the code's own title \u2018Type 2 diabetes mellitus without"
        " complications\u2019 names"
    )
    # A title that only holds a name is no evidence: C92.30 "Myeloid sarcoma, not having achieved
    # remission" under C92 "Myeloid leukemia" is not answered "Leukemia".
    assert layered(crit(ICD, "C92.30")) == []
    # an ancestor title that lists several conditions is not climbed: O22 "Venous complications and
    # hemorrhoids in pregnancy" says nothing about O22.30 deep phlebothrombosis
    assert [code for code, _ in resolver.title_chain(Code(ICD, "O22.30"))] == ["O22.30", "O22.3"]
    assert resolver.title_chain(Code(ICD, "Z80.3")) == []  # family history: not the patient's disease


def test_a_curated_code_is_never_second_guessed_by_automatic_matching():
    # The only rule reaching E11 is for children; an adult gets nothing rather than an automatic guess.
    index = rules(rule("E11", "child", max_age=18, reason="test"))
    assert layered(crit(ICD, "E11.9"), index) == []
    [match] = layered(replace(crit(ICD, "E11.9"), age_years=6.0), index)
    assert match.provenance is Provenance.CURATED
    assert match.reason == "curated rule for ICD-10-CM E11 and below, patient under 18: test"


def test_display_name_of_a_valid_icd10cm_code_is_never_read():
    # J06.9 is a cold; an EHR display name saying leukemia must not change the answer.
    assert layered(crit(ICD, "J06.9", display_name="Acute myeloid leukemia")) == []


def test_snomed_display_name_is_matched_as_automatic_from_text():
    [match] = layered(crit(SNOMED, "91861009", display_name="Acute myeloid leukemia, disease"))
    assert match.topic.id == "aml" and match.provenance is Provenance.AUTOMATIC and match.from_text
    assert "SNOMED CT display name" in match.reason
    # hairy cell leukemia is never AML; nor, by its display name alone, the Leukemia overview: a
    # display name answers only when it is a topic's name as a whole
    assert layered(crit(SNOMED, "118613001", display_name="Hairy cell leukemia")) == []


def test_free_text_only_without_a_valid_code():
    def search(text, language, limit):
        return [NAMED["leukemia"]]

    assert layered(crit(ICD, "J06.9", original_text="leukemia"), search=search) == []
    [by_name] = layered(KnowledgeRequest(criteria=(Criterion(None, original_text="leukemia"),)), search=search)
    assert by_name.provenance is Provenance.FREE_TEXT and by_name.from_text and by_name.topic.id == "leukemia"
    [by_search] = layered(KnowledgeRequest(criteria=(Criterion(None, original_text="blood cancer"),)), search=search)
    assert by_search.provenance is Provenance.FREE_TEXT and "every word" in by_search.reason
    [sent_as_code] = layered(crit(ICD, "LEUKEMIA"))  # not an ICD-10-CM code: its text is read
    assert sent_as_code.provenance is Provenance.FREE_TEXT


def test_upstream_only_for_valid_codes_without_a_local_answer_and_labelled_with_its_host():
    asked = []

    def upstream(code, language, limit):
        asked.append(code.value)
        return [replace(NAMED["leukemia"], id="up", source="upstream:connect.example.org")]

    [match] = layered(crit(ICD, "J06.9"), upstream=upstream)
    assert match.provenance is Provenance.UPSTREAM and "connect.example.org" in match.reason
    layered(crit(ICD, "E11.9"), upstream=upstream)  # answered locally
    assert asked == ["J06.9"]
    # a code with a 7th character is asked as its family, so the family answers alike there too
    [injury] = layered(crit(ICD, "S72.002A"), upstream=upstream)
    assert asked[-1] == "S72.002" and injury.reason.endswith("for S72.002")


def test_an_upstream_topic_the_catalogue_holds_is_served_as_the_catalogue_s():
    def upstream(code, language, limit):
        return [replace(NAMED["leukemia"], summary_html="<p>theirs</p>", source="upstream:connect.example.org")]

    [match] = layered(crit(ICD, "J06.9"), upstream=upstream)
    assert match.topic is NAMED["leukemia"] and match.provenance is Provenance.UPSTREAM
    withdrawn = {"leukemia": replace(NAMED["leukemia"], status="withdrawn")}
    [theirs] = resolver.resolve(crit(ICD, "J06.9"), {}, withdrawn.get, 3, upstream=upstream)
    assert theirs.topic.summary_html == "<p>theirs</p>"  # a withdrawn local topic is not served


def test_translated_codes_resolve_as_icd10cm_and_name_the_translation():
    def translate(code):
        if code.value == "204.00":
            return (Translation(Code(ICD, "C91.00"), "CMS GEM: ICD-9-CM 204.00 \u2192 ICD-10-CM C91.00"),)
        return ()

    index = rules(rule("C91", "leukemia", reason="Lymphoid leukemia"))
    [match] = layered(crit(CodeSystem.ICD9CM, "204.00"), index, translate=translate)
    assert match.provenance is Provenance.CURATED and match.topic.id == "leukemia"
    assert match.reason.endswith("(CMS GEM: ICD-9-CM 204.00 \u2192 ICD-10-CM C91.00)")
    assert layered(crit(CodeSystem.ICD9CM, "999.99"), index, translate=translate) == []
