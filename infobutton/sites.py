"""A topic's links in the order that suits the patient: a child's page never lists adult-only
links first, nor an adult's page children's links (MedlinePlus lists both, alphabetically).

Pure: a function of the links and the request's age (age.v.v, or a MeSH ageGroup.v.c,
URL-IG §2.1.3). Only the link title decides, only to move a link later, never to drop it; the
order is otherwise kept (a stable sort).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .models import AGE_GROUPS, KnowledgeRequest, Site

ADULT_AGE = 18  # years
# "Adult …", "… in Adults", "adultos"; not the disease name "Adult T-cell leukemia/lymphoma".
_ADULT = re.compile(r"\badult(?:o|a|os|as|s)?\b(?![\s-]+t[\s-]*cell)", re.IGNORECASE)
# "Childhood …", "… in Children", "Pediatric …", teens; Spanish "infantil", "niños", "pediátrico".
_CHILD = re.compile(
    r"\b(?:child(?:hood|ren)?|kids?|infants?|newborns?|toddlers?|teens?|teenagers?|adolescents?|"
    r"p(?:a)?ediatrics?|infantil(?:es)?|niñ(?:o|a|os|as|ez)|pediátric(?:o|a|os|as)|recién nacidos?)\b",
    re.IGNORECASE,
)


def audience(title: str) -> str:
    """ "adult" or "child" when a link title marks it for that audience only, else "" (both or
    neither named: "Adolescents and Young Adults with Cancer" suits both)."""
    adult, child = bool(_ADULT.search(title)), bool(_CHILD.search(title))
    if adult == child:
        return ""
    return "adult" if adult else "child"


def patient_is_child(request: KnowledgeRequest) -> bool | None:
    """True under 18 (age.v.v, or an age group that ends by 19, MeSH's Adolescent 13–18), False
    for an adult, None when the request carries no age."""
    if request.age_years is not None:
        return request.age_years < ADULT_AGE
    if request.age_group is not None and request.age_group in AGE_GROUPS:
        low, high = AGE_GROUPS[request.age_group]
        return high <= ADULT_AGE + 1
    return None


def order(sites: Sequence[Site], child: bool | None) -> tuple[Site, ...]:
    """``sites`` with those for the other audience (adult-only for a child, children's for an
    adult) moved after the rest; unchanged when the patient's age is unknown."""
    if child is None:
        return tuple(sites)
    other = "adult" if child else "child"
    return tuple(sorted(sites, key=lambda site: audience(site.title) == other))
