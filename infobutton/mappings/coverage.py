"""How much of ICD-10-CM the mappings answer, per chapter and per category: billable codes a curated
rule answers, codes only the automatic layer answers, and codes nothing answers, so a librarian sees
what is left (``mappings list --chapter``, the admin coverage page, the gap report).

A code is **curated** when a rule reaches it (in any patient context) naming a topic that is served;
**automatic** when no rule reaches it and the automatic layer answers it (``resolver``, whole names
only); **unanswered** otherwise, a code whose rules all name withdrawn topics included (the
automatic layer never second-guesses a curated code). ``layers`` is pure; ``CoverageReport`` keeps
its answer for the versions it was worked out under, so a page view costs a count, and the first
view after a change costs one pass over the billable codes.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from .. import resolver, terminology
from ..concepts import ConceptMatch, most_specific
from ..models import Code, CodeSystem, Scope

ICD = CodeSystem.ICD10CM
CURATED, AUTOMATIC, UNANSWERED = "curated", "automatic", "unanswered"


@dataclass(frozen=True, slots=True)
class Row:
    """Billable codes of a chapter or a category, by the layer that answers them."""

    key: str  # the chapter's number ("19") or the category's code ("S72")
    title: str
    billable: int
    curated: int
    automatic: int

    @property
    def unanswered(self) -> int:
        return self.billable - self.curated - self.automatic

    def json(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "billable": self.billable,
            "curated": self.curated,
            "automatic": self.automatic,
            "unanswered": self.unanswered,
        }


@functools.cache
def _levels() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every billable code with the levels a rule may reach it at: its family, then the family's
    ancestors (``resolver.matches_for_code``'s levels), worked out once."""
    found = []
    for value in terminology.billable():
        family = terminology.family(Code(ICD, value))
        found.append((value, (family.value, *terminology.ancestors(family))))
    return tuple(found)


def layers(rules: resolver.RuleIndex, served: Callable[[str], bool], automatic: Collection[str]) -> dict[str, str]:
    """Each billable ICD-10-CM code → the layer that answers it without patient context
    (``CURATED``, ``AUTOMATIC``, ``UNANSWERED``). A rule reaches the codes
    ``resolver.matches_for_code`` says: its own code's family, and below it when its scope is
    ``descendants``."""
    anywhere: dict[str, bool] = {}  # descendants rules: code → whether one names a served topic
    exact: dict[str, bool] = {}
    for (system, value), found in rules.items():
        if system is not ICD:
            continue
        for rule in found:
            reach = anywhere if rule.scope is Scope.DESCENDANTS else exact
            reach[value] = reach.get(value, False) or served(rule.topic_id)
    result = {}
    for value, levels in _levels():
        reached = [exact[levels[0]]] if levels[0] in exact else []
        reached += [anywhere[level] for level in levels if level in anywhere]
        if reached:
            result[value] = CURATED if any(reached) else UNANSWERED
        else:
            result[value] = AUTOMATIC if value in automatic else UNANSWERED
    return result


def automatic_codes(
    titles: resolver.ConceptLookup, concepts: resolver.ConceptLookup, served: Callable[[str], bool]
) -> frozenset[str]:
    """Billable codes the automatic layer answers when no rule reaches them: the topics its
    evidence keeps (``resolver.title_evidence``, ``most_specific``) include a served one. Worked
    out once per family (codes that differ only in the 7th character answer alike)."""
    answered: dict[str, bool] = {}
    found = set()
    for value, levels in _levels():
        family = levels[0]
        if family not in answered:
            best: dict[str, ConceptMatch] = {}
            for _, match, _ in resolver.title_evidence(Code(ICD, family), titles, concepts):
                best.setdefault(match.topic_id, match)
            answered[family] = any(served(m.topic_id) for m in most_specific(best.values()))
        if answered[family]:
            found.add(value)
    return frozenset(found)


def _row(key: str, title: str, codes: Iterable[str], layer: Mapping[str, str]) -> Row:
    counts = {CURATED: 0, AUTOMATIC: 0, UNANSWERED: 0}
    for value in codes:
        counts[layer[value]] += 1
    return Row(key, title, sum(counts.values()), counts[CURATED], counts[AUTOMATIC])


def by_chapter(layer: Mapping[str, str]) -> list[Row]:
    """One row per ICD-10-CM chapter, in tabular order."""
    return [_row(chapter, title, codes, layer) for chapter, title, codes in terminology.chapters()]


def by_category(layer: Mapping[str, str], chapter: str) -> list[Row]:
    """One row per category of a chapter (its three-character codes), in tabular order."""
    found = next((codes for number, _, codes in terminology.chapters() if number == chapter), None)
    if found is None:
        raise KeyError(chapter)
    categories: dict[str, list[str]] = {}
    for value in found:
        categories.setdefault(value[:3], []).append(value)
    return [_row(key, terminology.describe(Code(ICD, key)), codes, layer) for key, codes in categories.items()]


def total(rows: Iterable[Row], title: str = "All chapters") -> Row:
    rows = list(rows)
    return Row(
        "",
        title,
        sum(r.billable for r in rows),
        sum(r.curated for r in rows),
        sum(r.automatic for r in rows),
    )


class CoverageReport:
    """``layers`` for the knowledge service's current rules and catalogue, kept for the versions it
    was worked out under: the automatic layer's codes once per catalogue, the curated ones once
    per mapping change."""

    def __init__(self, knowledge):
        self.knowledge = knowledge
        self._lock = threading.Lock()
        self._automatic: tuple[int, frozenset[str]] | None = None  # (topic version, codes)
        self._layers: tuple[tuple[int, int], dict[str, str]] | None = None
        self.seconds = 0.0  # how long the last pass took

    def layers(self) -> dict[str, str]:
        with self._lock:
            versions = self.knowledge.refresh_if_stale()
            if self._layers is None or self._layers[0] != versions:
                started = time.perf_counter()
                served = self._served()
                if self._automatic is None or self._automatic[0] != versions[1]:
                    titles, concepts = self.knowledge.title_lookups()
                    self._automatic = (versions[1], automatic_codes(titles, concepts, served))
                self._layers = (versions, layers(self.knowledge.rules(), served, self._automatic[1]))
                self.seconds = time.perf_counter() - started
            return self._layers[1]

    def chapters(self) -> list[Row]:
        return by_chapter(self.layers())

    def categories(self, chapter: str) -> list[Row]:
        return by_category(self.layers(), chapter)

    def _served(self) -> Callable[[str], bool]:
        """Whether a topic id is served (active), each asked once."""
        topic = self.knowledge.topic
        known: dict[str, bool] = {}

        def served(topic_id: str) -> bool:
            if topic_id not in known:
                found = topic(topic_id)
                known[topic_id] = found is not None and found.status == "active"
            return known[topic_id]

        return served
