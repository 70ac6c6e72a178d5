"""One injury, one answer: ICD-10-CM codes that differ only in their 7th character (the encounter,
the fetus, the stage …) are answered alike, by every layer, with the shipped data and any rule."""

from __future__ import annotations

import functools
from collections import defaultdict

import pytest
from werkzeug.datastructures import MultiDict

from infobutton import bundled, resolver, terminology
from infobutton.knowledge import KnowledgeService
from infobutton.mappings.validation import ValidationFailed
from infobutton.models import Code, CodeSystem, Criterion, KnowledgeRequest, MappingRule, Scope, Topic
from infobutton.request import parse
from infobutton.store import open_stores

from .conftest import icd

ICD = CodeSystem.ICD10CM


@functools.cache
def extended() -> list[str]:
    """Every billable code with a 7th-character extension."""
    return [v for v in terminology.billable() if terminology.family(Code(ICD, v)).value != v]


def test_family_is_the_code_without_its_7th_character():
    assert terminology.family(Code(ICD, "S72.002A")) == Code(ICD, "S72.002")
    assert terminology.family(Code(ICD, "T07.XXXD")) == Code(ICD, "T07")  # placeholders X go too
    assert terminology.family(Code(ICD, "O36.8210")) == Code(ICD, "O36.821")
    # a 7-character subcategory of the tabular list is a code in its own right
    assert terminology.family(Code(ICD, "H54.413A")) == Code(ICD, "H54.413A")
    assert terminology.family(Code(ICD, "E11.9")) == Code(ICD, "E11.9")
    assert terminology.family(Code(CodeSystem.SNOMEDCT, "9014002")) == Code(CodeSystem.SNOMEDCT, "9014002")
    codes = extended()
    assert len(codes) > 50_000 and all(len(v.replace(".", "")) == 7 for v in codes)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The shipped catalogue and mappings, in a real SQLite database."""
    path = tmp_path_factory.mktemp("families") / "t.sqlite3"
    db, topics, mappings = open_stores(f"sqlite:///{path}")
    bundled.merge(topics, mappings)
    service = KnowledgeService(db, topics, mappings, check_interval=3600)
    service.precompute_titles()
    yield service
    db.close()


def test_every_7th_character_family_answers_alike_with_the_shipped_data(shipped):
    answers: dict[str, set] = defaultdict(set)
    for value in extended():
        request = parse(MultiDict(icd(value)).items(multi=True))
        found = shipped.resolve(request)
        answers[terminology.family(Code(ICD, value)).value].add(
            tuple((m.topic.id, m.provenance.value, m.reason) for m in found)
        )
    split = {family: found for family, found in answers.items() if len(found) > 1}
    assert split == {}, f"{len(split)} of {len(answers)} families answer differently by the 7th character"
    assert sum(1 for found in answers.values() if any(found)) > 50  # answered families, not only empty ones


TOPICS = {
    t.id: t
    for t in [
        Topic("fractures", "Fractures", "https://medlineplus.gov/fractures.html", "en"),
        Topic("hipinjuries", "Hip Injuries and Disorders", "https://medlineplus.gov/hipinjuries.html", "en"),
    ]
}


def answers(value: str, rules) -> list[tuple[str, int, str]]:
    request = KnowledgeRequest(criteria=(Criterion(Code(ICD, value), raw_code=value),))
    return [(m.topic.id, m.distance, m.reason) for m in resolver.resolve(request, rules, TOPICS.get, 5)]


def test_curated_rules_reach_a_family_whole_exact_ones_included():
    rules = resolver.index_rules(
        [
            MappingRule(ICD, "S72", "fractures", reason="fracture of femur"),
            MappingRule(ICD, "S72.002", "hipinjuries", Scope.EXACT, reason="neck of femur"),
        ]
    )
    first = answers("S72.002A", rules)
    assert [topic for topic, _, _ in first] == ["hipinjuries", "fractures"]
    assert first[0][1] == 0  # the family code itself
    for seventh in "BCDEFGHJKMNPQRS":
        assert answers(f"S72.002{seventh}", rules) == first, seventh
    assert answers("S72.001A", rules) == [first[1]]  # the exact rule is S72.002's family only


def test_a_rule_on_a_code_with_a_7th_character_is_refused(tmp_path):
    from infobutton.mappings.validation import check_code

    assert check_code(ICD, "S72.002") == [] and check_code(ICD, "H54.413A") == []
    [(field, message)] = check_code(ICD, "S72.002A")
    assert field == "code" and "map S72.002" in message


def test_the_admin_refuses_it_naming_the_family(services):
    with pytest.raises(ValidationFailed) as refused:
        services.mapping_admin.create({"code_system": "ICD-10-CM", "code": "S72002A", "topic_id": "leukemia"}, "t")
    assert refused.value.errors == [
        {
            "field": "code",
            "message": "S72.002A is S72.002 with a 7th character, which never changes the answer: map S72.002",
        }
    ]
