"""Who a topic's text is credited to, and why a topic is in an answer, in words every surface
shares: the reason (Atom/JSON categories, FHIR extension, CDS card detail) and, for the person
reading the click page, what it was shown for in plain words.

Text is credited only to where it came from (``Topic.source``): MedlinePlus's own attribution
("From MedlinePlus.gov, U.S. National Library of Medicine") only for MedlinePlus text (imported
from MedlinePlus, or MedlinePlus Connect's answer about a MedlinePlus page); other upstream
text names the host that answered, whatever the text or its links say (hosts.py decides); a
link-only topic says it links to its page and claims no text; text of unknown origin is
credited to no one. The answer itself (which topics, and why) is this
service's work and is never credited to NLM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import terminology
from ..hosts import host, on_medlineplus
from ..models import Provenance, Topic, TopicMatch

SERVICE_NAME = "Infobutton knowledge responder"
NLM = ("National Library of Medicine", "https://medlineplus.gov")
NLM_ATTRIBUTION = {
    "en": "From MedlinePlus.gov, U.S. National Library of Medicine",
    "es": "De MedlinePlus.gov, Biblioteca Nacional de Medicina de los Estados Unidos",
}
_SENTENCES = {
    "en": {
        "upstream": "Summary from {host}",
        "local": "Summary written by this service, not by MedlinePlus",
        "link_medlineplus": "Links to the MedlinePlus.gov page for this topic",
        "link": "Links to the page for this topic on {host}",
    },
    "es": {
        "upstream": "Resumen de {host}",
        "local": "Resumen escrito por este servicio, no por MedlinePlus",
        "link_medlineplus": "Enlace a la página de este tema en MedlinePlus.gov",
        "link": "Enlace a la página de este tema en {host}",
    },
}
LAYERS = {
    "en": {
        Provenance.CURATED: "Curated mapping",
        Provenance.AUTOMATIC: "Automatic match",
        Provenance.UPSTREAM: "Another infobutton responder's answer",
        Provenance.FREE_TEXT: "Search for the words sent",
    },
    "es": {
        Provenance.CURATED: "Asignación revisada",
        Provenance.AUTOMATIC: "Coincidencia automática",
        Provenance.UPSTREAM: "Respuesta de otro servicio infobutton",
        Provenance.FREE_TEXT: "Búsqueda de las palabras enviadas",
    },
}
WHY = {"en": "Why this topic", "es": "Por qué este tema"}  # the label before ``why``
SHOWN_FOR = {"en": "Shown for", "es": "Se muestra para"}  # the label before ``shown_for``
# Said where a request's subtopics (subTopic.v.c) select sections a topic has no link in.
NO_LINKS = {
    "en": "No links under {} are on file for this topic; see the topic page",
    "es": "No hay enlaces en {} registrados para este tema; consulte la página del tema",
}
OR = {"en": " or ", "es": " o "}
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?(?::[0-9]{1,5})?\Z")
FROM_TEXT = {"en": " (on the words sent)", "es": " (según las palabras enviadas)"}


@dataclass(frozen=True, slots=True)
class Credit:
    """What to say about a topic's origin: ``sentence`` in the topic's language (no final full
    stop); ``author`` (name, uri) of whoever wrote the text carried, None when there is none or
    its origin is unknown; ``nlm`` when the sentence is MedlinePlus's own attribution."""

    sentence: str
    author: tuple[str, str] | None
    nlm: bool = False


def _lang(language: str) -> str:
    return language if language in _SENTENCES else "en"


def site(url: str) -> str:
    """Where a link leads, in words: "MedlinePlus", or its host ("?" when it has none)."""
    return "MedlinePlus" if on_medlineplus(url) else host(url) or "?"


def has_text(topic: Topic) -> bool:
    """Whether the topic carries text beyond its title (a summary or a description)."""
    return bool(topic.summary_html.strip() or topic.meta_desc.strip())


def upstream_host(topic: Topic) -> str:
    """The responder host of an ``upstream:<host>`` topic, else "" (also for anything that is
    not a plain host name: such text is credited to no one)."""
    if not topic.source.startswith("upstream:"):
        return ""
    name = topic.source.removeprefix("upstream:").strip().lower()
    return name if _HOST.match(name) else ""


def credit(topic: Topic) -> Credit:
    """The credit line for a topic, in its language."""
    words = _SENTENCES[_lang(topic.language)]
    if has_text(topic):
        if topic.source == "medlineplus":
            return Credit(NLM_ATTRIBUTION[_lang(topic.language)], NLM, nlm=True)
        if upstream := upstream_host(topic):
            if on_medlineplus(f"https://{upstream}/") and on_medlineplus(topic.url):  # MedlinePlus Connect
                return Credit(NLM_ATTRIBUTION[_lang(topic.language)], NLM, nlm=True)
            return Credit(words["upstream"].format(host=upstream), (upstream, f"https://{upstream}"))
        if topic.source == "local":
            return Credit(words["local"], (SERVICE_NAME, ""))
    if on_medlineplus(topic.url):
        return Credit(words["link_medlineplus"], None)
    return Credit(words["link"].format(host=host(topic.url) or "?"), None)


def layer(match: TopicMatch, language: str) -> str:
    """The resolution layer in words: "Curated mapping", "Automatic match (on the words sent)"."""
    lang = _lang(language)
    label = LAYERS[lang][match.provenance]
    if match.from_text and match.provenance is not Provenance.FREE_TEXT:
        label += FROM_TEXT[lang]
    return label


def why(match: TopicMatch, language: str) -> str:
    """Layer and reason in one line: "Curated mapping — curated rule for C91 and below: …".
    The reason is the resolver's (English) and may quote text the caller sent: escape it."""
    label = layer(match, language)
    return f"{label} \u2014 {match.reason}" if match.reason else label


def shown_for(match: TopicMatch) -> str:
    """What the topic was chosen for, in plain words for the person reading: the code's name and
    the code ("Type 2 diabetes mellitus without complications, ICD-10-CM E11.9"; the EHR's display
    name where we have no name for the code), or the words sent. The name is untrusted when the
    caller sent it: escape it."""
    criterion = match.criterion
    if criterion.code is None:
        return f"\u201c{criterion.original_text or criterion.display_name or ''}\u201d"
    code = f"{criterion.code.system.label} {criterion.code.value}"
    name = terminology.describe(criterion.code) or criterion.display_name
    return f"{name}, {code}" if name else code


def reason(match: TopicMatch) -> str:
    """Why the topic is in the answer, never empty: the resolver's reason, or the layer in words
    (English, like the resolver's reasons) when it gave none. The Atom/JSON
    ``strengthOfRecommedation`` category and the FHIR reason extension carry it."""
    return match.reason or layer(match, "en")


def no_links(sections: tuple[str, ...], language: str) -> str:
    """ "No links under “Treatments and Therapies” are on file for this topic; …", or "" when
    no section asked for is missing. Section names stay as MedlinePlus spells them."""
    if not sections:
        return ""
    return NO_LINKS[_lang(language)].format(section_names(sections, language))


def section_names(sections: tuple[str, ...], language: str) -> str:
    """ "“Diagnosis and Tests” or “Treatments and Therapies”" (o in Spanish)."""
    return OR[_lang(language)].join(f"\u201c{s}\u201d" for s in sections)
