"""KnowledgeRequest + mapping rules + topic names → ranked topic matches, in layers (pure).

Each criterion (URL-IG §2.1.4 mainSearchCriteria) is answered by the first layer that has anything
for it, and every match says which layer found it and why (``TopicMatch.provenance``/``reason``):

1. **curated**: a librarian's rule on the code or an ancestor. A code that any curated rule reaches
   belongs to this layer, whatever the patient context: automatic matching never second-guesses a
   curated code.
2. **automatic**: for a code without a curated rule, only a whole name (``ConceptIndex.named``):
   the code's official ICD-10-CM title is a topic's name, or its subcategory's or category's title
   is (never a block's or a chapter's) and the code's own title names that topic too
   (``title_evidence``). For a code system we carry no terminology for (SNOMED CT, …), the EHR's
   display name must be a topic's name the same way, and the match is marked ``from_text``.
3. **upstream**: another HL7 responder (``content.upstream``), for a valid code with no local answer;
   a topic it names that the catalogue holds (same id, active) is served as the catalogue's.
4. **free text**: ``v.ot``/``v.dn`` (or text sent as a code), only when no code is given or the code
   is unknown to its terminology; whole topic names first, then every-word full-text search. Never
   for a valid code.

A code with a 7th-character extension is answered as its family (``terminology.family``: S72.002A
as S72.002) by every layer, so codes that differ only in the 7th character answer alike. ICD-9-CM
and (with a local map) SNOMED CT codes are first translated to ICD-10-CM (``Translate``); the
translation is named in the reason. One criterion's matches are ordered by ``ranking``: how
specific the code match is, the layer, rule priority, context fit, then a stable tie-breaker, so the
same request always gets the same order. Several criteria are merged round-robin in request order,
so each code's best topic is shown. A topic appears once. Rules may be limited to a reader, task,
care setting, language and patient (age range, MeSH age groups, gender): ``context``. A
health-professional topic comes first for a health professional and, for anyone else, only when
nothing else answers (``for_reader``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from . import terminology
from .concepts import NOT_THE_PATIENTS, ConceptMatch, most_specific, names_a_whole
from .context import PROFESSIONAL, applies, describe, fit, reader
from .crosswalk import Translation
from .models import (
    Code,
    CodeSystem,
    Criterion,
    KnowledgeRequest,
    MappingRule,
    Provenance,
    Recipient,
    Scope,
    Topic,
    TopicMatch,
)

RuleIndex = Mapping[tuple, tuple[MappingRule, ...]]
TopicLookup = Callable[[str], "Topic | None"]
TextSearch = Callable[[str, str, int], list[Topic]]
CodeLookup = Callable[[Code, str, int], list[Topic]]  # upstream responder (content.upstream)
ConceptLookup = Callable[[str], list[ConceptMatch]]  # concepts.ConceptIndex.match or .named, cached


Translate = Callable[[Code], "tuple[Translation, ...]"]  # crosswalk.Crosswalk.to_icd10cm


def index_rules(rules: Iterable[MappingRule]) -> dict[tuple, tuple[MappingRule, ...]]:
    """Rules keyed by (code system, code) for constant-time lookup per hierarchy level."""
    index: dict[tuple, list[MappingRule]] = {}
    for rule in rules:
        index.setdefault((rule.code_system, rule.code), []).append(rule)
    return {key: tuple(value) for key, value in index.items()}


def in_language(topic: Topic, language: str, topic_of: TopicLookup) -> Topic:
    """The topic's version in the requested language, else the topic itself."""
    if topic.language != language and topic.twin is not None:
        twin = topic_of(topic.twin.id)
        if twin is not None and twin.status == "active":
            return twin
    return topic


def _served(topic_id: str, request: KnowledgeRequest, topic_of: TopicLookup) -> Topic | None:
    """The active topic to serve for an id, in the request's language; None when gone."""
    topic = topic_of(topic_id)
    if topic is None or topic.status != "active":
        return None
    return in_language(topic, request.language, topic_of)


def matches_for_code(code: Code, rules: RuleIndex) -> list[tuple[int, MappingRule]]:
    """(distance, rule) for every rule that reaches this code, nearest level first. A code with a
    7th-character extension is reached as its family (``terminology.family``: S72.002A as
    S72.002), so codes that differ only in the 7th character get the same rules."""
    code = terminology.family(code)
    levels = (code.value, *terminology.ancestors(code))
    found = []
    for distance, value in enumerate(levels):
        for rule in rules.get((code.system, value), ()):
            if distance == 0 or rule.scope is Scope.DESCENDANTS:
                found.append((distance, rule))
    return found


def _context(rule: MappingRule) -> str:
    """ ", for health professionals, patient under 18 in age group Child (MeSH D002648)": every limit
    the rule has (``context.describe``), or "" for a rule without one."""
    parts = describe(rule)
    return f", {', '.join(parts)}" if parts else ""


def curated_reason(rule: MappingRule, distance: int, via: str = "") -> str:
    """ "curated rule for ICD-10-CM C91 and below, patient under 18: …" (every limit the rule has, its
    reason, and the translation used)."""
    reach = f"{rule.code} and below" if rule.scope is Scope.DESCENDANTS else rule.code
    text = f"curated rule for {rule.code_system.label} {reach}{_context(rule)}"
    if rule.reason:
        text += f": {rule.reason}"
    return f"{text} ({via})" if via else text


_LAYER_ORDER = {Provenance.CURATED: 0, Provenance.AUTOMATIC: 1, Provenance.UPSTREAM: 2, Provenance.FREE_TEXT: 3}


def _rule_order(rule: MappingRule | None) -> tuple:
    """Everything a rule says, as comparable text, so that of two rules equal on every ranking
    criterion the same one wins whatever the order (or ids) the store gives them."""
    if rule is None:
        return ()
    return (
        rule.code_system.label,
        rule.code,
        rule.topic_id,
        rule.scope.value,
        repr((rule.min_age, rule.max_age)),
        rule.gender.value if rule.gender else "",
        tuple(a.value for a in rule.audiences),
        rule.tasks,
        rule.settings,
        rule.languages,
        rule.age_groups,
        rule.reason,
        rule.id or 0,
    )


def ranking(match: TopicMatch, order: int = 0, *, professional_first: bool = False) -> tuple:
    """A match's place among one criterion's matches, smallest first, the same for the same request
    whatever the order of the rules or topics:

    1. for a health-professional reader, health-professional topics first (for anyone else, last);
    2. how specific the code match is (``distance``: 0 on the code itself, n levels up);
    3. the layer: curated, automatic, upstream, free text;
    4. context fit (``context.fit``): a rule written for this reader, task, setting or language
       beats a generic one on the same level (patient limits only decide whether a rule fires);
    5. rule priority, higher first: the librarian's order among rules that fit equally
       (mappings/README.md: the specific page, then Childhood Leukemia, then the overview);
    6. the layer's own order (``order``: a concept match's rank, the upstream responder's, the search's);
    7. the topic id, then the rule's own content: a stable tie-breaker.
    """
    rule = match.rule
    professional = match.topic.audience == PROFESSIONAL
    return (
        not professional if professional_first else professional,
        match.distance,
        _LAYER_ORDER[match.provenance],
        -fit(rule) if rule is not None else 0,
        -rule.priority if rule is not None else 0,
        order,
        match.topic.id,
        _rule_order(rule),
    )


def _with_translations(code: Code, translate: Translate | None) -> list[tuple[Code, str]]:
    found = [(code, "")]
    if translate is not None and code.system is not CodeSystem.ICD10CM:
        found += [(t.target, t.via) for t in translate(code)]
    return found


def _curated(criterion, codes, request, rules, topic_of) -> tuple[bool, list[tuple[int, TopicMatch]]]:
    owned, hits = False, []
    for code, via in codes:
        for distance, rule in matches_for_code(code, rules):
            owned = True
            topic = _served(rule.topic_id, request, topic_of) if applies(rule, request) else None
            if topic is None:
                continue
            reason = curated_reason(rule, distance, via)
            hits.append((0, TopicMatch(topic, criterion, rule, distance, Provenance.CURATED, reason)))
    return owned, hits


_ENUMERATION = re.compile(r"\b(?:and|or)\b", re.IGNORECASE)


def title_chain(code: Code) -> list[tuple[str, str]]:
    """(code, official title) for the code, its subcategories and its category; never a block or a
    chapter, and nothing at all for a code about someone else or no disease (family history,
    screening, exposure …). An ancestor whose title lists several conditions ("Venous
    complications and hemorrhoids in pregnancy") says nothing certain about its descendants, so the
    climb stops there, as it does at a title about suspicion or history ("Glaucoma suspect"). A
    code with a 7th-character extension starts from its family (S72.002A from S72.002, whose title
    does not name the encounter)."""
    if code.system is not CodeSystem.ICD10CM or not terminology.is_valid(code):
        return []
    code = terminology.family(code)
    own = terminology.describe(code)
    if NOT_THE_PATIENTS.search(own):
        return []
    chain = [(code.value, own)]
    for ancestor in terminology.ancestors(code):
        title = _climbable_title(ancestor)
        if title is None:
            break
        chain.append((ancestor, title))
    return chain


@functools.cache  # bounded: only ancestors of valid codes reach it, ICD-10-CM's < 24,000 non-leaf codes
def _climbable_title(ancestor: str) -> str | None:
    """An ICD-10-CM ancestor's title when ``title_chain`` may climb through it, else None (a
    block, or a title listing several conditions or about someone else). Codes share their
    ancestors, and the tabular list does not change while a process runs: worked out once each."""
    if terminology.is_block(ancestor):
        return None
    title = terminology.describe(Code(CodeSystem.ICD10CM, ancestor))
    if _ENUMERATION.search(title) or NOT_THE_PATIENTS.search(title):
        return None
    return title


def title_evidence(code: Code, titles: ConceptLookup, concepts: ConceptLookup | None) -> list[tuple]:
    """The automatic layer's evidence for an ICD-10-CM code, as ((level, rank), match, reason):
    the code's own title (its family's, for a code with a 7th character) is a topic's whole name
    (``titles``: ``ConceptIndex.named``), or a subcategory's or category's title is and the code's
    own title names that topic too (``concepts``): M10.011 'Idiopathic gout, right shoulder' under
    M10 'Gout' is gout; R40.2412 'Glasgow coma scale score 13-15' under R40.2 'Coma' is not a coma."""
    found = []
    chain = title_chain(code)
    for level, (value, title) in enumerate(chain):
        for rank, match in enumerate(titles(title)):
            if level and not _names(chain[0][1], match.topic_id, concepts):
                continue
            if level == 0:
                reason = f"matched the ICD-10-CM title \u2018{title}\u2019 to the {match.name.described}"
            else:
                reason = (
                    f"matched the ICD-10-CM title of {value} \u2018{title}\u2019 to the {match.name.described},"
                    f" which the code's own title \u2018{chain[0][1]}\u2019 names"
                )
            found.append(((level, rank), match, reason))
    return found


def _automatic(criterion, codes, request, topic_of, named, titles, concepts) -> list[tuple[int, TopicMatch]]:
    """Whole-name evidence only (``title_evidence``); for a code system we carry no terminology
    for, the display name when it is a topic's whole name."""
    found: dict[str, tuple[tuple, ConceptMatch, str]] = {}
    for code, via in codes:
        for key, match, reason in title_evidence(code, titles, concepts):
            if via:
                reason += f" ({via})"
            if match.topic_id not in found or key < found[match.topic_id][0]:
                found[match.topic_id] = (key, match, reason)
    from_text = False
    if not found and criterion.display_name and all(c.system is not CodeSystem.ICD10CM for c, _ in codes):
        # No terminology of ours for this code: its display name, matched the same way.
        system = criterion.code.system.label if criterion.code else "code"
        for rank, match in enumerate(named(criterion.display_name)):
            reason = (
                f"matched the {system} display name \u2018{criterion.display_name}\u2019 to the {match.name.described}"
            )
            found.setdefault(match.topic_id, ((0, rank), match, reason))
        from_text = True
    # Across levels too, the less specific of two topics goes (concepts.most_specific).
    kept = {id(m) for m in most_specific(m for _, m, _ in found.values())}
    hits = []
    for topic_id, (key, match, reason) in found.items():
        topic = _served(topic_id, request, topic_of) if id(match) in kept else None
        if topic is None:
            continue
        hits.append((key[1], TopicMatch(topic, criterion, None, key[0], Provenance.AUTOMATIC, reason, from_text)))
    return hits


def _names(title: str, topic_id: str, concepts: ConceptLookup | None) -> bool:
    """Whether a title names the topic: holds, as a whole concept, one of its names that may answer
    live (``names_a_whole``: never a single-word also-called name such as "Colitis"); never without
    a matcher to tell."""
    return concepts is not None and any(m.topic_id == topic_id and names_a_whole(m.name) for m in concepts(title))


def _free_text(criterion, request, topic_of, concepts, search, limit) -> list[tuple[int, TopicMatch]]:
    text = criterion.original_text or criterion.display_name
    if criterion.code is not None:
        text = text or criterion.raw_code  # free text sent as a code, as real clients do
    if not text:
        return []
    hits = []
    if concepts is not None:
        for rank, match in enumerate(concepts(text)):
            topic = _served(match.topic_id, request, topic_of)
            if topic is None:
                continue
            reason = f"the words \u2018{text}\u2019 hold the {match.name.described}"
            hits.append((rank, TopicMatch(topic, criterion, None, 100, Provenance.FREE_TEXT, reason, True)))
    if not hits and search is not None:
        for rank, topic in enumerate(search(text, request.language, limit)):
            hits.append(
                (
                    rank,
                    TopicMatch(
                        topic,
                        criterion,
                        None,
                        200 + rank,
                        Provenance.FREE_TEXT,
                        f"every word of \u2018{text}\u2019 found in the topic",
                        True,
                    ),
                )
            )
    return hits


def resolve_criterion(
    criterion: Criterion,
    request: KnowledgeRequest,
    rules: RuleIndex,
    topic_of: TopicLookup,
    limit: int = 3,
    *,
    concepts: ConceptLookup | None = None,
    search: TextSearch | None = None,
    upstream: CodeLookup | None = None,
    translate: Translate | None = None,
    named: ConceptLookup | None = None,
    title_names: ConceptLookup | None = None,
) -> list[TopicMatch]:
    """One criterion's matches from the first layer that has any, best first. The automatic layer
    answers on whole names only (``named``: ``ConceptIndex.named``; ``title_names`` the same for
    ICD-10-CM titles, from a table of every title's); without ``named`` there is none. ``concepts``
    (a name anywhere in the text) reads free text only."""
    hits: list[tuple[int, TopicMatch]] = []
    known = False
    if criterion.code is not None:
        codes = _with_translations(criterion.code, translate)
        known = terminology.is_valid(criterion.code) or len(codes) > 1
        owned, hits = _curated(criterion, codes, request, rules, topic_of)
        if not owned and named is not None:
            hits = _automatic(criterion, codes, request, topic_of, named, title_names or named, concepts)
        if not owned and not hits and upstream is not None and terminology.is_valid(criterion.code):
            asked = terminology.family(criterion.code)  # one answer for a 7th-character family here too
            for rank, answered in enumerate(upstream(asked, request.language, limit)):
                local = topic_of(answered.id)  # a topic the catalogue holds is served as the catalogue's
                topic = local if local is not None and local.status == "active" else answered
                host = topic.source.removeprefix("upstream:") or "the upstream responder"
                hits.append(
                    (
                        rank,
                        TopicMatch(
                            topic,
                            criterion,
                            None,
                            50 + rank,
                            Provenance.UPSTREAM,
                            f"answered by {host} for {asked.value}",
                        ),
                    )
                )
    if not hits and not known:
        hits = _free_text(criterion, request, topic_of, concepts, search, limit)
    first = reader(request) is Recipient.PROVIDER
    hits.sort(key=lambda pair: ranking(pair[1], pair[0], professional_first=first))
    return [match for _, match in hits]


def resolve(
    request: KnowledgeRequest,
    rules: RuleIndex,
    topic_of: TopicLookup,
    limit: int = 3,
    search: TextSearch | None = None,
    upstream: CodeLookup | None = None,
    *,
    concepts: ConceptLookup | None = None,
    translate: Translate | None = None,
    named: ConceptLookup | None = None,
    title_names: ConceptLookup | None = None,
) -> list[TopicMatch]:
    """Ranked, de-duplicated topic matches for all of the request's criteria, at most ``limit``."""
    per_criterion = [
        resolve_criterion(
            c,
            request,
            rules,
            topic_of,
            limit,
            concepts=concepts,
            search=search,
            upstream=upstream,
            translate=translate,
            named=named,
            title_names=title_names,
        )
        for c in request.criteria
    ]
    # Several criteria: take each one's best, then each one's second best, and so on.
    seen: set[str] = set()
    merged: list[TopicMatch] = []
    for rank in range(max((len(m) for m in per_criterion), default=0)):
        for matches in per_criterion:
            if rank < len(matches) and matches[rank].topic.id not in seen:
                seen.add(matches[rank].topic.id)
                merged.append(matches[rank])
    return for_reader(merged, reader(request))[:limit]


PROFESSIONAL_FIRST = "a resource for health professionals, ranked first for a health professional"
PROFESSIONAL_FALLBACK = "a resource for health professionals, shown as nothing else fits"


def for_reader(matches: list[TopicMatch], who: Recipient | None) -> list[TopicMatch]:
    """Health-professional topics (``Topic.audience``) for the reader (URL-IG §2.1.2
    informationRecipient, else performer): first for a health professional (PROV); for anyone else
    (a patient, a payor, or a reader not said) dropped when any other topic answers the request,
    kept last only when nothing else does. The reason says which."""
    professional = [m for m in matches if m.topic.audience == PROFESSIONAL]
    if not professional:
        return matches
    others = [m for m in matches if m.topic.audience != PROFESSIONAL]
    if who is Recipient.PROVIDER:
        return [_noting(m, PROFESSIONAL_FIRST) for m in professional] + others
    if others:
        return others
    return [_noting(m, PROFESSIONAL_FALLBACK) for m in professional]


def _noting(match: TopicMatch, note: str) -> TopicMatch:
    return replace(match, reason=f"{match.reason}; {note}" if match.reason else note)
