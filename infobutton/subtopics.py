"""subTopic.v.c (HL7 URL-based IG R4 §2.1, subTopic): the MedlinePlus link sections a request's
MeSH qualifiers select. Pure: a function of the request and a topic's links.

A request that names known qualifiers narrows each topic's links to the matching sections (the
topic page itself always stays); a topic with no link there keeps only its page, and every
surface says so. Unknown qualifiers, text (subTopic.v.dn/.ot) and codes of another system are
echoed (request.py) and otherwise ignored.

Sources. Qualifier ids and names are MeSH's (NLM; each is https://id.nlm.nih.gov/mesh/<id>, and
PubMed's MEDLINE XML carries them as ``QualifierName UI``); the section names are MedlinePlus's
information categories as its topic pages show them (the seed capture of
medlineplus.gov/leukemia.html, ../shared/seeds). Only qualifiers whose section is unambiguous are
listed: /prevention & control (Q000517) is left out until a source at hand names MedlinePlus's
prevention section, /complications (Q000150) and /etiology (Q000209) have no single section.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from . import terminology
from .models import CodeSystem, InvalidRequest, KnowledgeRequest, Site

DIAGNOSIS = "Diagnosis and Tests"
TREATMENT = "Treatments and Therapies"
GENETICS = "Genetics"
STATISTICS = "Statistics and Research"


@dataclass(frozen=True, slots=True)
class Qualifier:
    """A MeSH topical qualifier and the MedlinePlus sections that answer it."""

    id: str  # MeSH unique id, Q…
    name: str  # MeSH's English name
    sections: tuple[str, ...]


QUALIFIERS: dict[str, Qualifier] = {
    q.id: q
    for q in (
        Qualifier("Q000175", "diagnosis", (DIAGNOSIS,)),
        Qualifier("Q000000981", "diagnostic imaging", (DIAGNOSIS,)),  # under /diagnosis in MeSH
        Qualifier("Q000628", "therapy", (TREATMENT,)),
        Qualifier("Q000188", "drug therapy", (TREATMENT,)),  # under /therapy in MeSH
        Qualifier("Q000601", "surgery", (TREATMENT,)),  # under /therapy in MeSH
        Qualifier("Q000235", "genetics", (GENETICS,)),
        Qualifier("Q000453", "epidemiology", (STATISTICS,)),
    )
}


@dataclass(frozen=True, slots=True)
class Selection:
    """The known qualifiers a request asks for, in request order without repeats; empty (falsy)
    when it asks for none we know, and then nothing is narrowed."""

    qualifiers: tuple[Qualifier, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.qualifiers)

    @property
    def sections(self) -> tuple[str, ...]:
        """The sections asked for (the union over the qualifiers), in the qualifiers' order."""
        return tuple(dict.fromkeys(s for q in self.qualifiers for s in q.sections))

    def sites(self, links: Sequence[Site]) -> tuple[Site, ...]:
        """The web links among ``links`` in the sections asked for, in the topic's order; all
        of ``links`` when nothing is asked."""
        if not self:
            return tuple(links)
        wanted = set(self.sections)
        return tuple(site for site in links if site.category in wanted and is_web_link(site.url))

    def answered(self, selected: Iterable[Site]) -> tuple[Qualifier, ...]:
        """The qualifiers that ``selected`` (from ``sites``) has a link for."""
        found = {site.category for site in selected}
        return tuple(q for q in self.qualifiers if found.intersection(q.sections))

    def missing(self, selected: Iterable[Site]) -> tuple[str, ...]:
        """The sections asked for that ``selected`` has no link in: what a surface must say the
        topic lacks, rather than leave the reader to guess."""
        found = {site.category for site in selected}
        return tuple(s for s in self.sections if s not in found) if self else ()


NONE = Selection()  # a request that names no known subtopic: nothing is narrowed


def is_web_link(url: str) -> bool:
    """Only http(s) links leave as links; anything else in a catalogue is left out."""
    return url.startswith(("https://", "http://"))


def _is_mesh(text: str) -> bool:
    try:
        return terminology.code_system(text, "subTopic.v.cs") is CodeSystem.MESH
    except InvalidRequest:
        return False


def selection(request: KnowledgeRequest) -> Selection:
    """The known MeSH qualifiers among the request's subTopic.v.c codes (case-insensitive).

    The echo keeps each value with its part but not its instance index, so a code cannot be
    paired with its own subTopic.v.cs: when code systems are sent and none of them is MeSH,
    no code is read as a MeSH qualifier."""
    systems = [value for scheme, value in request.echo if scheme == "subTopic.v.cs"]
    if systems and not any(_is_mesh(value) for value in systems):
        return NONE
    codes = (value.strip().upper() for scheme, value in request.echo if scheme == "subTopic.v.c")
    known = dict.fromkeys(QUALIFIERS[code] for code in codes if code in QUALIFIERS)
    return Selection(tuple(known))
