"""Ranking (resolver.ranking, resolver.for_reader): distance, layer, context fit, priority and a
stable tie-breaker; professional topics for health professionals; reasons that name every limit;
the context-limit and ranking rules on a small catalogue."""

import random
from dataclasses import replace

import pytest
from werkzeug.datastructures import MultiDict

from infobutton import resolver
from infobutton.concepts import ConceptIndex
from infobutton.models import (
    Code,
    CodeSystem,
    Criterion,
    Gender,
    KnowledgeRequest,
    MappingRule,
    Provenance,
    Recipient,
    Scope,
    Topic,
)
from infobutton.request import parse

from .conftest import ICD10CM

ICD = CodeSystem.ICD10CM
PAT, PROV, PAYOR = Recipient.PATIENT, Recipient.PROVIDER, Recipient.PAYOR


def topic(tid, title, audience=""):
    return Topic(tid, title, f"https://example.org/{tid}.html", "en", audience=audience)


# A small catalogue: the leukemia family (real MedlinePlus titles) and two health-professional
# summaries standing in for NCI PDQ ones (test data: ids and titles are made up for these tests).
TOPICS = {
    t.id: t
    for t in [
        topic("leukemia", "Leukemia"),
        topic("childhoodleukemia", "Childhood Leukemia"),
        topic("acutelymphocyticleukemia", "Acute Lymphocytic Leukemia"),
        topic("chroniclymphocyticleukemia", "Chronic Lymphocytic Leukemia"),
        topic("pro-all", "Professional summary of ALL treatment", "professional"),
        topic("pro-leukemia", "Professional summary of leukemia", "professional"),
    ]
}

# The bundled rules for C91 as they are shipped (mappings/leukemia.csv), plus PROV rules for the
# professional summaries.
DONE_WHEN_RULES = [
    MappingRule(ICD, "C91", "leukemia", reason="the leukemia overview", id=1),
    MappingRule(ICD, "C91.0", "acutelymphocyticleukemia", priority=10, reason="ALL", id=2),
    MappingRule(ICD, "C91.1", "chroniclymphocyticleukemia", priority=10, reason="CLL", id=3),
    MappingRule(ICD, "C91", "childhoodleukemia", priority=5, max_age=18, reason="under 18", id=4),
    MappingRule(ICD, "C91.0", "pro-all", audiences=(PROV,), reason="PDQ ALL treatment", id=5),
]


def request(code="C91.00", **context):
    return KnowledgeRequest(criteria=(Criterion(Code(ICD, code), raw_code=code),), **context)


def ids(matches):
    return [m.topic.id for m in matches]


def resolve(req, rules, topics=TOPICS, limit=10, **kw):
    return resolver.resolve(req, resolver.index_rules(rules), topics.get, limit, **kw)


# -- the done-when ---------------------------------------------------------------------------


@pytest.mark.parametrize("age,childhood", [(6, True), (17, True), (18, False), (60, False)])
def test_childhood_leukemia_for_a_child_with_c91_00_and_never_for_an_adult(age, childhood):
    matches = resolve(request(age_years=float(age)), DONE_WHEN_RULES)
    assert ("childhoodleukemia" in ids(matches)) is childhood
    if childhood:
        # ALL on C91.0 is nearer (distance 1); then the child's rule beats the generic overview
        assert ids(matches) == ["acutelymphocyticleukemia", "childhoodleukemia", "leukemia"]
        child = matches[1]
        assert child.reason == "curated rule for ICD-10-CM C91 and below, patient under 18: under 18"


def test_a_60_year_old_never_gets_childhood_leukemia_however_he_is_described():
    for context in ({"age_years": 60.0}, {"age_group": "D008875"}, {"age_years": 60.0, "age_group": "D002648"}):
        for reader in (None, PAT, PROV):
            assert "childhoodleukemia" not in ids(resolve(request(recipient=reader, **context), DONE_WHEN_RULES))


def test_prov_gets_the_professional_topic_first_and_a_patient_never_sees_it():
    prov = resolve(request(age_years=6.0, recipient=PROV), DONE_WHEN_RULES)
    assert ids(prov) == ["pro-all", "acutelymphocyticleukemia", "childhoodleukemia", "leukemia"]
    assert prov[0].reason == (
        "curated rule for ICD-10-CM C91.0 and below, for health professionals: PDQ ALL treatment; "
        "a resource for health professionals, ranked first for a health professional"
    )
    for reader in (PAT, PAYOR, None):
        assert "pro-all" not in ids(resolve(request(age_years=6.0, recipient=reader), DONE_WHEN_RULES))


# -- professional topics -----------------------------------------------------------------------------

# Rules without an audience limit, so the responder's handling of Topic.audience alone decides.
OPEN_RULES = [
    MappingRule(ICD, "C91", "leukemia", id=1),
    MappingRule(ICD, "C91.0", "pro-all", priority=20, id=2),  # nearer and higher priority than leukemia
]


@pytest.mark.parametrize(
    "recipient,performer,expected",
    [
        (PROV, None, ["pro-all", "leukemia"]),
        (None, PROV, ["pro-all", "leukemia"]),  # the performer reads when no recipient is said
        (PAT, PROV, ["leukemia"]),  # the recipient is the patient
        (PAT, None, ["leukemia"]),
        (PAYOR, None, ["leukemia"]),
        (None, None, ["leukemia"]),  # a reader not said is not assumed to be a professional
    ],
)
def test_professional_topics_first_for_prov_and_dropped_for_others(recipient, performer, expected):
    assert ids(resolve(request(recipient=recipient, performer=performer), OPEN_RULES)) == expected


def test_professional_topic_first_for_prov_even_when_less_specific():
    rules = [
        MappingRule(ICD, "C91.0", "acutelymphocyticleukemia", priority=10, id=1),
        MappingRule(ICD, "C91", "pro-leukemia", id=2),
    ]
    assert ids(resolve(request(recipient=PROV), rules)) == ["pro-leukemia", "acutelymphocyticleukemia"]
    assert ids(resolve(request(recipient=PAT), rules)) == ["acutelymphocyticleukemia"]


@pytest.mark.parametrize("recipient", [PAT, PAYOR, None])
def test_a_professional_topic_is_kept_last_for_others_only_when_nothing_else_fits(recipient):
    only = [MappingRule(ICD, "C91.0", "pro-all", reason="PDQ", id=1)]
    [match] = resolve(request(recipient=recipient), only)
    assert match.topic.id == "pro-all"
    assert match.reason == (
        "curated rule for ICD-10-CM C91.0 and below: PDQ; "
        "a resource for health professionals, shown as nothing else fits"
    )


def test_a_professional_topic_for_one_code_goes_when_another_code_is_answered_for_a_patient():
    rules = [MappingRule(ICD, "C91.0", "pro-all", id=1), MappingRule(ICD, "C91.1", "chroniclymphocyticleukemia", id=2)]
    two = KnowledgeRequest(criteria=(Criterion(Code(ICD, "C91.00")), Criterion(Code(ICD, "C91.10"))), recipient=PAT)
    assert ids(resolve(two, rules)) == ["chroniclymphocyticleukemia"]
    assert ids(resolve(replace(two, recipient=PROV), rules)) == ["pro-all", "chroniclymphocyticleukemia"]


def test_the_limit_applies_after_professional_topics_are_placed():
    rules = OPEN_RULES + [MappingRule(ICD, "C91.0", "acutelymphocyticleukemia", priority=10, id=3)]
    assert ids(resolve(request(recipient=PAT), rules, limit=1)) == ["acutelymphocyticleukemia"]
    assert ids(resolve(request(recipient=PROV), rules, limit=1)) == ["pro-all"]


def test_automatic_matches_place_professional_topics_too():
    named = {
        t.id: t
        for t in [
            topic("aml", "Acute Myeloid Leukemia"),
            replace(
                topic("pro-aml", "Acute Myeloid Leukemia Treatment (Health Professional Version)", "professional"),
                also_called=("Acute myeloid leukemia",),
            ),
        ]
    }
    index = ConceptIndex(named.values())
    # C92.00 "Acute myeloblastic leukemia, not having achieved remission" is under C92.0 "Acute
    # myeloblastic leukemia", the whole name of both, and names both itself
    for reader, expected in ((PROV, ["pro-aml", "aml"]), (PAT, ["aml"])):
        matches = resolver.resolve(
            request("C92.00", recipient=reader), {}, named.get, 5, concepts=index.match, named=index.named
        )
        assert ids(matches) == expected
        assert all(m.provenance is Provenance.AUTOMATIC for m in matches)


# -- the order: distance, layer, context fit, priority, tie-breaker ------------------------------------


def test_nearer_code_match_beats_context_fit_and_priority():
    rules = [
        MappingRule(ICD, "C91.0", "leukemia", id=1),
        MappingRule(ICD, "C91", "childhoodleukemia", priority=99, max_age=18, gender=Gender.FEMALE, id=2),
    ]
    assert ids(resolve(request(age_years=6.0, gender=Gender.FEMALE), rules)) == ["leukemia", "childhoodleukemia"]


def test_context_fit_then_priority_at_the_same_distance():
    """Specificity, layer, context fit, then priority. A rule written for this task
    beats a generic rule of higher priority; patient limits gate but do not add fit."""
    rules = [
        MappingRule(ICD, "C91", "acutelymphocyticleukemia", id=1),  # generic
        MappingRule(ICD, "C91", "childhoodleukemia", max_age=18, id=2),  # a patient limit: no fit
        MappingRule(ICD, "C91", "leukemia", max_age=18, tasks=("PROBLISTREV",), id=3),  # fits the task
        MappingRule(ICD, "C91", "chroniclymphocyticleukemia", priority=1, id=4),  # higher priority
    ]
    req = request(age_years=6.0, task_context="PROBLISTREV")
    assert ids(resolve(req, rules)) == [
        "leukemia",
        "chroniclymphocyticleukemia",
        "acutelymphocyticleukemia",
        "childhoodleukemia",
    ]
    # without the task, that rule does not fire; priority, then topic id, order the rest
    without_task = ids(resolve(request(age_years=6.0), rules))
    assert without_task == ["chroniclymphocyticleukemia", "acutelymphocyticleukemia", "childhoodleukemia"]


def test_a_reader_rule_beats_a_higher_priority_generic_rule_on_the_same_code():
    rules = [
        MappingRule(ICD, "C91", "leukemia", priority=10, id=1),
        MappingRule(ICD, "C91", "childhoodleukemia", audiences=(Recipient.PATIENT,), id=2),
    ]
    patient = request(recipient=Recipient.PATIENT)
    assert ids(resolve(patient, rules)) == ["childhoodleukemia", "leukemia"]
    assert ids(resolve(request(), rules)) == ["leukemia"]  # no reader: the limited rule does not fire


def test_the_specific_page_stays_before_childhood_leukemia_on_the_same_code():
    """mappings/README.md: for a child, the specific page, then Childhood Leukemia, then the
    overview, also where all three rules sit on the same code (C94.0, SNOMED CT concepts)."""
    rules = [
        MappingRule(ICD, "C94.0", "leukemia", id=1),
        MappingRule(ICD, "C94.0", "acutemyeloidleukemia", priority=10, id=2),
        MappingRule(ICD, "C94.0", "childhoodleukemia", priority=5, max_age=18, id=3),
    ]
    topics = {**TOPICS, "acutemyeloidleukemia": topic("acutemyeloidleukemia", "Acute Myeloid Leukemia")}
    assert ids(resolve(request("C94.00", age_years=6.0), rules, topics)) == [
        "acutemyeloidleukemia",
        "childhoodleukemia",
        "leukemia",
    ]


def test_priority_then_topic_id_break_the_remaining_ties():
    rules = [
        MappingRule(ICD, "C91", "leukemia", id=1),
        MappingRule(ICD, "C91", "childhoodleukemia", id=2),
        MappingRule(ICD, "C91", "chroniclymphocyticleukemia", priority=1, id=3),
        MappingRule(ICD, "C91", "acutelymphocyticleukemia", id=4),
    ]
    assert ids(resolve(request(), rules)) == [
        "chroniclymphocyticleukemia",
        "acutelymphocyticleukemia",
        "childhoodleukemia",
        "leukemia",
    ]


def test_ranking_puts_the_curated_layer_before_the_automatic_one_at_the_same_distance():
    t = TOPICS["leukemia"]
    c = Criterion(Code(ICD, "C91.00"))
    curated = resolver.TopicMatch(t, c, DONE_WHEN_RULES[0], 2, Provenance.CURATED)
    automatic = resolver.TopicMatch(TOPICS["childhoodleukemia"], c, None, 2, Provenance.AUTOMATIC)
    assert sorted([automatic, curated], key=resolver.ranking) == [curated, automatic]


# -- stability -------------------------------------------------------------------------------------------

STABILITY_RULES = [
    MappingRule(ICD, "C91", "leukemia", reason="overview"),
    MappingRule(ICD, "C91", "leukemia", max_age=18, reason="overview for a child"),  # same topic, two rules
    MappingRule(ICD, "C91", "childhoodleukemia", priority=5, max_age=18, reason="child"),
    MappingRule(ICD, "C91", "childhoodleukemia", priority=5, age_groups=("D002648",), reason="child (MeSH)"),
    MappingRule(ICD, "C91", "acutelymphocyticleukemia", reason="tie one"),
    MappingRule(ICD, "C91", "chroniclymphocyticleukemia", reason="tie two"),
    MappingRule(ICD, "C91.0", "pro-all", audiences=(PROV,), reason="PDQ"),
    MappingRule(ICD, "C91.0", "pro-leukemia", reason="PDQ overview"),
    MappingRule(ICD, "C91.0", "acutelymphocyticleukemia", scope=Scope.EXACT, reason="exact only"),
]
STABILITY_REQUESTS = [
    request(),
    request(age_years=8.0),
    request(age_group="D002648", recipient=PROV),
    request(age_years=8.0, performer=PROV, language="es"),
    request("C91.0", recipient=PAT),
    request("C91.10", age_years=70.0),
]


def _answers(rules, topics=TOPICS):
    return [[(m.topic.id, m.reason, m.distance) for m in resolve(r, rules, topics)] for r in STABILITY_REQUESTS]


def test_the_same_order_whatever_the_order_and_ids_the_store_gives_the_rules():
    expected = _answers([replace(r, id=i + 1) for i, r in enumerate(STABILITY_RULES)])
    shuffler = random.Random(11)
    for _ in range(25):
        shuffled = STABILITY_RULES[:]
        shuffler.shuffle(shuffled)
        # a store filled in another order gives other ids
        stored = [replace(r, id=i + 1) for i, r in enumerate(shuffled)]
        assert _answers(stored) == expected
        # and may list them in any order
        shuffler.shuffle(stored)
        topics = list(TOPICS.items())
        shuffler.shuffle(topics)
        assert _answers(stored, dict(topics)) == expected


def test_the_same_request_twice_gives_the_same_order():
    rules = [replace(r, id=i + 1) for i, r in enumerate(STABILITY_RULES)]
    assert _answers(rules) == _answers(rules)


def test_ties_between_rules_for_one_topic_keep_the_nearest_and_best_fitting_reason():
    rules = [replace(r, id=i + 1) for i, r in enumerate(STABILITY_RULES)]
    [overview] = [m for m in resolve(request(age_years=8.0), rules) if m.topic.id == "leukemia"]
    assert overview.reason.endswith("patient under 18: overview for a child")


# -- reasons name every limit ------------------------------------------------------------------------------


def test_the_reason_names_every_limit_of_the_rule():
    full = MappingRule(
        ICD,
        "C91",
        "childhoodleukemia",
        max_age=18,
        gender=Gender.FEMALE,
        audiences=(PAT,),
        tasks=("PROBLISTREV",),
        settings=("AMB",),
        languages=("en",),
        age_groups=("D002648",),
        reason="MedlinePlus Childhood Leukemia",
    )
    req = parse(
        MultiDict(
            [
                ("mainSearchCriteria.v.c", "C91.00"),
                ("mainSearchCriteria.v.cs", ICD10CM),
                ("age.v.v", "8"),
                ("patientPerson.administrativeGenderCode.c", "F"),
                ("informationRecipient", "PAT"),
                ("taskContext.c.c", "PROBLISTREV"),
                ("encounter.c.c", "AMB"),
            ]
        ).items(multi=True)
    )
    [match] = resolve(req, [full])
    assert match.reason == (
        "curated rule for ICD-10-CM C91 and below, for patients, during problem list review, "
        "in ambulatory encounters, in English, female patient under 18 in age group Child (MeSH D002648): "
        "MedlinePlus Childhood Leukemia"
    )


@pytest.mark.parametrize(
    "limits,words",
    [
        ({"audiences": (PROV,)}, ", for health professionals:"),
        ({"tasks": ("MLREV",)}, ", during medication list review:"),
        ({"settings": ("EMER",)}, ", in emergency encounters:"),
        ({"languages": ("es",)}, ", in Spanish:"),
        (
            {"age_groups": ("D000368", "D000369")},
            ", patient in age group Aged (MeSH D000368) or Aged, 80 and over (MeSH D000369):",
        ),
        ({"min_age": 65}, ", patient 65 and over:"),
    ],
)
def test_the_reason_names_each_limit(limits, words):
    rule = MappingRule(ICD, "C91", "leukemia", reason="why", **limits)
    assert words in resolver.curated_reason(rule, 2)


def test_a_rule_without_limits_keeps_the_short_reason():
    assert resolver.curated_reason(MappingRule(ICD, "C91", "leukemia", reason="why"), 2) == (
        "curated rule for ICD-10-CM C91 and below: why"
    )
