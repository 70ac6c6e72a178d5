"""Suggested code → topic mappings for librarians, with their evidence (pure).

The resolver's automatic layer answers a code without a curated rule only on a whole name
(``ConceptIndex.named``). Suggestions read broader evidence, for a librarian to review: a topic's
whole name anywhere in the code's official ICD-10-CM title, or its subcategory's or category's
(``resolver.title_chain`` + ``ConceptIndex.match``), proposed at the most useful level: on the
category or subcategory whose own title holds the topic name, with scope ``descendants``, so one
accepted rule covers the family (E11 "Type 2 diabetes mellitus" → Diabetes Type 2 answers E11.9,
E11.65 …). Recall belongs here, where a person decides; precision belongs to the live layer.

Level: the broadest of the chain's levels whose own title holds the topic's name. A level a
curated rule already gives the topic for is skipped (the librarian decided there); when no level
is left, the proposal falls back to the asked code itself (its family, for a code with a 7th
character), with evidence from an ancestor's title, and is not confident.

A suggestion is **confident** only when the match is on the proposed code's own title, the topic is
the only one matched there, no curated rule reaches the proposed code, and none is made on a code
below it, and no rejection of the topic lies below it. Everything else is shown with its doubts,
for a librarian to decide. Never proposed: a topic a curated rule already gives the asked code (in
any patient context), and a topic rejected for the code or for any code above it (a rejection of
E11 → topic covers E11's family) until it is un-rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .. import resolver, terminology
from ..concepts import NAME_KINDS, ConceptMatch
from ..models import Code, CodeSystem, MappingRule, Scope, Topic
from .validation import check_topic

ICD = CodeSystem.ICD10CM

RuleIndex = Mapping[tuple, tuple[MappingRule, ...]]
TopicLookup = Callable[[str], "Topic | None"]
ConceptLookup = Callable[[str], list[ConceptMatch]]
Rejected = frozenset[tuple[CodeSystem, str, str]]  # (code system, code, topic id)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Which official title matched which topic name."""

    code: str  # the code whose title it is
    title: str  # its official ICD-10-CM title
    name: str  # the topic's name that the title holds
    kind: str  # "title" | "also called" | "MeSH heading"
    words: tuple[str, ...]  # the title's (stemmed) words the name stands on
    exact: bool  # the whole title is the name

    def sentence(self) -> str:
        """ "ICD-10-CM title 'Type 2 diabetes mellitus' (E11) holds the topic name 'Diabetes Type 2'"."""
        how = "is" if self.exact else "holds"
        return (
            f"ICD-10-CM title \u2018{self.title}\u2019 ({self.code}) {how} the "
            f"{NAME_KINDS.get(self.kind, 'name')} \u2018{self.name}\u2019"
        )


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A proposed curated rule ``code`` (and, with ``descendants``, its family) → ``topic_id``."""

    code_system: CodeSystem
    code: str
    topic_id: str
    topic_title: str
    scope: Scope
    evidence: Evidence
    covers: tuple[str, ...]  # the asked codes the rule would reach (itself and below), as asked
    doubts: tuple[str, ...] = ()  # why it is not confident; empty when it is

    @property
    def confident(self) -> bool:
        return not self.doubts

    @property
    def key(self) -> tuple[CodeSystem, str, str]:
        return (self.code_system, self.code, self.topic_id)

    def reason(self) -> str:
        """The rule's reason when accepted: the evidence in words."""
        return f"suggested: {self.evidence.sentence()}"

    def rule_fields(self) -> dict:
        """The fields ``MappingAdmin`` validates to create the rule."""
        return {
            "code_system": self.code_system.label,
            "code": self.code,
            "topic_id": self.topic_id,
            "scope": self.scope.value,
            "reason": self.reason(),
        }


def parse_pair(text: str) -> tuple[str, str]:
    """``CODE:TOPIC`` (``E11:diabetestype2``) → (normalised ICD-10-CM code, topic id)."""
    code, sep, topic_id = (text or "").partition(":")
    if not sep or not code.strip() or not topic_id.strip():
        raise ValueError(f"{text!r}: write CODE:TOPIC, e.g. E11:diabetestype2")
    return terminology.normalise(CodeSystem.ICD10CM, code), topic_id.strip()


@dataclass
class _Draft:
    system: CodeSystem
    code: str
    topic: Topic
    evidence: Evidence
    covers: list[str] = field(default_factory=list)
    doubts: list[str] = field(default_factory=list)


def _evidence(value: str, title: str, match: ConceptMatch) -> Evidence:
    return Evidence(value, title, match.name.text, match.name.kind, tuple(sorted(match.words)), match.exact)


def _servable(topic_of: TopicLookup, topic_id: str) -> Topic | None:
    """A topic a rule may name, by the check accepting the rule makes (``check_topic``:
    active and English; Spanish twins are served through it)."""
    return None if check_topic(topic_id, topic_of) else topic_of(topic_id)


def _gives(code: Code, topic_id: str, rules: RuleIndex) -> bool:
    """Whether a curated rule (in any patient context) already gives ``topic_id`` for ``code``."""
    return any(rule.topic_id == topic_id for _, rule in resolver.matches_for_code(code, rules))


def _rejected_at_or_above(code: Code, topic_id: str, rejected: Rejected) -> bool:
    levels = (code.value, *terminology.ancestors(code))
    return any((code.system, value, topic_id) in rejected for value in levels)


def _below(code: Code, keys: Iterable[tuple]) -> list[str]:
    """Codes among ``keys`` ((system, code, …) tuples) that lie under ``code`` in the hierarchy."""
    found = []
    for key in keys:
        system, value = key[0], key[1]
        if (
            system is code.system
            and value != code.value
            and value.startswith(code.value[:3])
            and code.value in terminology.ancestors(Code(system, value))
        ):
            found.append(value)
    return sorted(set(found))


def suggest(
    codes: Iterable[Code],
    rules: RuleIndex,
    topic_of: TopicLookup,
    concepts: ConceptLookup,
    rejected: Rejected = frozenset(),
) -> list[Suggestion]:
    """Proposed rules for ``codes`` (gap codes, a family, …), merged where one rule covers several
    asked codes, ordered by code then topic. Only valid ICD-10-CM codes have a title to go by."""
    drafts: dict[tuple, _Draft] = {}
    asked_codes = list(dict.fromkeys(codes))
    for asked in asked_codes:
        chain = resolver.title_chain(asked)
        if not chain:
            continue
        levels = []
        servable: dict[str, Topic] = {}  # topic id → the topic, for every match kept
        for value, title in chain:
            by_topic: dict[str, ConceptMatch] = {}
            for m in concepts(title):
                topic = servable.get(m.topic_id) or _servable(topic_of, m.topic_id)
                if topic is not None:
                    servable[m.topic_id] = topic
                    by_topic[m.topic_id] = m
            levels.append((value, title, by_topic))
        for topic_id in dict.fromkeys(t for _, _, found in levels for t in found):
            if _gives(asked, topic_id, rules) or _rejected_at_or_above(asked, topic_id, rejected):
                continue
            matched = [i for i, (_, _, found) in enumerate(levels) if topic_id in found]
            open_ = [i for i in matched if not _gives(Code(asked.system, levels[i][0]), topic_id, rules)]
            if open_:
                level = max(open_)  # the broadest: one rule for the whole family
                proposed = levels[level][0]
            else:  # every title holding it already has the topic by a curated rule: the code itself
                level, proposed = matched[0], levels[0][0]  # (its family, for a 7th-character code)
            value, title, found = levels[level]
            key = (asked.system, proposed, topic_id)
            draft = drafts.get(key)
            if draft is None:
                draft = drafts[key] = _Draft(
                    asked.system, proposed, servable[topic_id], _evidence(value, title, found[topic_id])
                )
                if value != proposed:
                    draft.doubts.append(f"the match is on the title of {value}, not on {proposed}'s own")
                others = [servable[t].title for t in found if t != topic_id]
                if others:
                    draft.doubts.append(f"the title of {value} also holds {', '.join(others)}")
    levels_of = {c: {c.value, *terminology.ancestors(c)} for c in asked_codes if c.system is ICD}
    suggestions: list[Suggestion] = []
    for _, draft in sorted(drafts.items(), key=_order):
        draft.covers = [c.value for c, up in levels_of.items() if c.system is draft.system and draft.code in up]
        suggestions.append(_finish(draft, rules, rejected))
    # A confident family rule already reaches a code whose own chain stopped short of it (a title
    # listing several conditions ends the climb): the narrower proposal adds nothing.
    family = {(s.code_system, s.topic_id, s.code) for s in suggestions if s.confident}
    return [
        s
        for s in suggestions
        if not any(
            (s.code_system, s.topic_id, above) in family for above in terminology.ancestors(Code(s.code_system, s.code))
        )
    ]


def _order(item) -> tuple:
    (system, code, topic_id), _ = item
    return (system.name, code, topic_id)


def _finish(draft: _Draft, rules: RuleIndex, rejected: Rejected) -> Suggestion:
    code = Code(draft.system, draft.code)
    doubts = list(draft.doubts)
    reaching = resolver.matches_for_code(code, rules)
    if reaching:
        named = ", ".join(sorted({f"{r.code} \u2192 {r.topic_id}" for _, r in reaching}))
        doubts.append(f"curated rules already reach {draft.code} ({named})")
    under = _below(code, rules.keys())
    if under:
        doubts.append(
            f"curated rules already map codes under {draft.code} ({', '.join(under[:5])}"
            f"{' …' if len(under) > 5 else ''})"
        )
    refused = _below(code, (k for k in rejected if k[2] == draft.topic.id))
    if refused:
        doubts.append(f"rejected for {', '.join(refused[:5])} under {draft.code}")
    return Suggestion(
        draft.system,
        draft.code,
        draft.topic.id,
        draft.topic.title,
        Scope.DESCENDANTS,
        draft.evidence,
        tuple(dict.fromkeys(draft.covers)),
        tuple(doubts),
    )
