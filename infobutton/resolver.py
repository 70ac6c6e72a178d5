"""KnowledgeRequest + mapping rules → ranked topic matches (pure).

Ranking, most relevant first: a rule on the code itself beats one inherited from a parent
(the most specific mapping wins), then higher rule priority. Several criteria are merged
round-robin in request order, so each code's best topic is shown. A topic appears once.
Rules may be limited to a patient context (age range, gender), which the IG carries in
age.v.v/age.v.u, ageGroup.v.c and patientPerson.administrativeGenderCode.c.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from . import terminology
from .models import Code, KnowledgeRequest, MappingRule, Scope, Topic, TopicMatch
from .request import AGE_GROUPS

RuleIndex = Mapping[tuple, tuple[MappingRule, ...]]
TopicLookup = Callable[[str], "Topic | None"]
TextSearch = Callable[[str, str, int], list[Topic]]
CodeLookup = Callable[[Code, str, int], list[Topic]]  # upstream responder (content.upstream)


def index_rules(rules: Iterable[MappingRule]) -> dict[tuple, tuple[MappingRule, ...]]:
    """Rules keyed by (code system, code) for constant-time lookup per hierarchy level."""
    index: dict[tuple, list[MappingRule]] = {}
    for rule in rules:
        index.setdefault((rule.code_system, rule.code), []).append(rule)
    return {key: tuple(value) for key, value in index.items()}


def _age_range(request: KnowledgeRequest) -> tuple[float, float] | None:
    if request.age_years is not None:
        return request.age_years, request.age_years
    if request.age_group is not None:
        low, high = AGE_GROUPS[request.age_group]
        return low, high - 1e-9
    return None


def applies(rule: MappingRule, request: KnowledgeRequest) -> bool:
    """Whether a rule's patient-context limits hold for this request.

    A limited rule needs the context it is limited by: without an age, an age rule does not fire.
    """
    if rule.min_age is not None or rule.max_age is not None:
        age = _age_range(request)
        if age is None:
            return False
        low, high = age
        if rule.min_age is not None and high < rule.min_age:
            return False
        if rule.max_age is not None and low >= rule.max_age:
            return False
    return rule.gender is None or request.gender is rule.gender


def in_language(topic: Topic, language: str, topic_of: TopicLookup) -> Topic:
    """The topic's version in the requested language, else the topic itself."""
    if topic.language != language and topic.twin is not None:
        twin = topic_of(topic.twin.id)
        if twin is not None and twin.status == "active":
            return twin
    return topic


def matches_for_code(
    code: Code, rules: RuleIndex
) -> list[tuple[int, MappingRule]]:
    """(distance, rule) for every rule that reaches this code, nearest level first."""
    levels = (code.value, *terminology.ancestors(code))
    found = []
    for distance, value in enumerate(levels):
        for rule in rules.get((code.system, value), ()):
            if distance == 0 or rule.scope is Scope.DESCENDANTS:
                found.append((distance, rule))
    return found


def resolve(
    request: KnowledgeRequest,
    rules: RuleIndex,
    topic_of: TopicLookup,
    limit: int = 3,
    search: TextSearch | None = None,
    upstream: CodeLookup | None = None,
) -> list[TopicMatch]:
    """Ranked, de-duplicated topic matches for all of the request's criteria, at most ``limit``."""
    per_criterion: list[list[TopicMatch]] = []
    for criterion in request.criteria:
        hits: list[tuple[tuple, TopicMatch]] = []
        if criterion.code is not None:
            for distance, rule in matches_for_code(criterion.code, rules):
                if not applies(rule, request):
                    continue
                topic = topic_of(rule.topic_id)
                if topic is None or topic.status != "active":
                    continue
                topic = in_language(topic, request.language, topic_of)
                hits.append(((distance, -rule.priority, rule.id or 0),
                             TopicMatch(topic, criterion, rule, distance)))
        if not hits and upstream is not None and criterion.code is not None \
                and terminology.is_valid(criterion.code):
            # No local answer for a valid code: ask the upstream responder (cached, guarded).
            for rank, topic in enumerate(upstream(criterion.code, request.language, limit)):
                hits.append(((50 + rank,), TopicMatch(topic, criterion, None, 50 + rank)))
        if not hits and search is not None:
            text = criterion.original_text or criterion.display_name
            if criterion.code is not None and not terminology.is_valid(criterion.code):
                text = text or criterion.raw_code  # free text sent as a code, as real clients do
            if text:
                for rank, topic in enumerate(search(text, request.language, limit)):
                    hits.append(((100 + rank,), TopicMatch(topic, criterion, None, 100 + rank)))
        hits.sort(key=lambda pair: pair[0])
        per_criterion.append([match for _, match in hits])

    # Several criteria: take each one's best, then each one's second best, and so on.
    seen: set[str] = set()
    merged: list[TopicMatch] = []
    for rank in range(max((len(m) for m in per_criterion), default=0)):
        for matches in per_criterion:
            if rank < len(matches) and matches[rank].topic.id not in seen:
                seen.add(matches[rank].topic.id)
                merged.append(matches[rank])
    return merged[:limit]
