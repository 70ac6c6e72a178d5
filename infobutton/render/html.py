"""The click page: a knowledge response as a server-rendered HTML page (MedlinePlus Connect's web
application mode), and the demo page. Pure: a function of the request, matches and context.

Templates are fixed names under infobutton/templates (never chosen from a request value), Jinja
autoescapes every value, and topic summaries pass the nh3 allow-list again before they are marked
safe. The page's ``lang`` is the content language (WCAG 2.1 SC 3.1.1); each topic carries its own.
Each topic says, in plain words, what it was shown for (the code's name and the code, or the
words sent; render.attribution) and where its text came from, shows its last-updated date only
when it has one, and lists its links in
the order that suits the patient's age (infobutton.sites). When the request names known subtopics
(subTopic.v.c, infobutton.subtopics) only the sections they select are shown, and a topic with no
link there says so.
"""

from __future__ import annotations

import functools
from urllib.parse import urlencode, urljoin

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from .. import sites, subtopics, terminology
from ..html_safety import sanitise
from ..models import CodeSystem, KnowledgeRequest, Topic, TopicMatch
from ..request import query_pairs
from . import attribution
from .atom import describe_criteria

CONTENT_TYPE = "text/html; charset=utf-8"
LANGUAGES = {"en": "English", "es": "Español"}

TEXT = {
    "en": {
        "site": "Health topics",
        "skip": "Skip to main content",
        "results": "Health topics for {}",
        "no_results": "No health topics found for {}",
        "no_results_help": "Try searching with other words, or browse MedlinePlus.gov.",
        "also_called": "Also called",
        "read_more": "Read the full topic on {}",
        "shown_for": attribution.SHOWN_FOR["en"],
        "updated": "Last updated",
        "links": "Learn more",
        "related": "Related health topics",
        "institute": "From the",
        "language_nav": "Language",
        "other_language": "Ver en español",
        "search_label": "Search health topics",
        "search": "Search",
        "browse": "Browse MedlinePlus.gov",
        "about": "This service chose these topics; each one says what it is shown for and where its text comes from.",
        "disclaimer": "This information does not replace advice from your health care provider.",
        "topic_count": "{} topics",
        "sections_asked": "Showing only the links under {}, as asked",
    },
    "es": {
        "site": "Temas de salud",
        "skip": "Ir al contenido principal",
        "results": "Temas de salud para {}",
        "no_results": "No se encontraron temas de salud para {}",
        "no_results_help": "Intente buscar con otras palabras o visite MedlinePlus.gov.",
        "also_called": "También llamado",
        "read_more": "Lea el tema completo en {}",
        "shown_for": attribution.SHOWN_FOR["es"],
        "updated": "Última actualización",
        "links": "Más información",
        "related": "Temas de salud relacionados",
        "institute": "Del",
        "language_nav": "Idioma",
        "other_language": "View in English",
        "search_label": "Buscar temas de salud",
        "search": "Buscar",
        "browse": "Visite MedlinePlus.gov en español",
        "about": "Este servicio eligió estos temas; cada uno dice para qué se muestra y de dónde viene su texto.",
        "disclaimer": "Esta información no reemplaza el consejo de su proveedor de atención médica.",
        "topic_count": "{} temas",
        "sections_asked": "Se muestran solo los enlaces en {}, como se pidió",
    },
}
MEDLINEPLUS_HOME = {"en": "https://medlineplus.gov/", "es": "https://medlineplus.gov/spanish/"}


@functools.cache
def environment() -> Environment:
    """The page templates: autoescaped, undefined names are errors rather than blanks."""
    return Environment(
        loader=PackageLoader("infobutton", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(name: str, **values) -> bytes:
    """Render one of our fixed template names (callers pass literals, never request values)."""
    return environment().get_template(name).render(**values).encode()


def _sections(topic: Topic, child: bool | None, chosen: subtopics.Selection = subtopics.NONE) -> list[tuple[str, list]]:
    """Links grouped by MedlinePlus information category, the categories in the order the topic
    lists them, the links in each in the order that suits the patient (sites.order); only the
    sections ``chosen`` selects when the request names subtopics."""
    shown = chosen.sites(topic.sites)
    groups: dict[str, list] = {}
    for site in shown:
        groups.setdefault(site.category or "", [])
    for site in sites.order(shown, child):
        groups[site.category or ""].append(site)
    return list(groups.items())


def _topic_view(match: TopicMatch, child: bool | None, chosen: subtopics.Selection = subtopics.NONE) -> dict:
    topic = match.topic
    lang = topic.language if topic.language in TEXT else "en"
    text = TEXT[lang]
    sections = _sections(topic, child, chosen)
    return {
        "id": topic.id,
        "title": topic.title,
        "url": topic.url,
        "lang": topic.language,
        "summary": Markup(sanitise(topic.summary_html)),
        "also_called": topic.also_called if attribution.has_text(topic) else (),  # names, not text
        "sections": sections,
        "no_links": attribution.no_links(chosen.missing(s for _, group in sections for s in group), lang),
        "related": topic.related,
        "institute": topic.primary_institute,
        "image_url": topic.image_url,
        "image_alt": topic.image_alt,
        "read_more": text["read_more"].format(attribution.site(topic.url)),
        "credit": attribution.credit(topic).sentence,
        # what it was chosen for, in plain words (the reason itself is for machines: categories,
        # FHIR extension, card detail); a code's name is English; autoescaped
        "shown_for": attribution.shown_for(match),
        "shown_for_lang": "en" if match.criterion.code is not None and lang != "en" else "",
        "updated": topic.date_updated,
        "text": text,
    }


def _criteria_label(request: KnowledgeRequest) -> str:
    """ "ICD-10-CM C91.00 (Acute lymphoblastic leukemia …)" for one code we can describe (the
    descriptions are English, so English pages only), else the codes or words."""
    if request.language == "en" and len(request.criteria) == 1 and request.criteria[0].code is not None:
        code = request.criteria[0].code
        name = terminology.describe(code) or request.criteria[0].display_name
        if name:
            return f"{code.system.label} {code.value} ({name})"
    return describe_criteria(request)


def page_values(request: KnowledgeRequest, matches: list[TopicMatch], ctx) -> dict:
    lang = request.language if request.language in TEXT else "en"
    other = "es" if lang == "en" else "en"
    base = ctx.base_url or "/"
    label = _criteria_label(request)
    search_text = next(
        (c.original_text or c.display_name for c in request.criteria if c.original_text or c.display_name), ""
    )
    if not search_text and lang == "en" and request.criteria[0].code is not None:
        search_text = terminology.describe(request.criteria[0].code)  # words to start from
    text = TEXT[lang]
    child = sites.patient_is_child(request)
    chosen = subtopics.selection(request)
    return {
        "lang": lang,
        "t": text,
        "static_base": urljoin(base, "static/"),
        "home_url": urljoin(base, "./"),
        "heading": (text["results"] if matches else text["no_results"]).format(label),
        "topics": [_topic_view(m, child, chosen) for m in matches],
        "sections_asked": text["sections_asked"].format(attribution.section_names(chosen.sections, lang))
        if chosen and matches
        else "",
        "switch": {
            "lang": other,
            "label": text["other_language"],
            "href": "?" + urlencode(query_pairs(request, other)),
        },
        "search_action": urljoin(base, "application"),
        "search_text": search_text,
        "medlineplus_home": MEDLINEPLUS_HOME[lang],
    }


def render(request: KnowledgeRequest, matches: list[TopicMatch], ctx) -> bytes:
    return render_template("page/topics.html", **page_values(request, matches, ctx))


def demo(base_url: str) -> bytes:
    """The demo page at /: a form that opens the click page, and the API's entry points."""
    base = base_url or "/"
    examples = {
        name: urljoin(base, "infobutton")
        + "?"
        + urlencode(
            {
                "mainSearchCriteria.v.c": "C91.00",
                "mainSearchCriteria.v.cs": CodeSystem.ICD10CM.oid,
                "informationRecipient.languageCode.c": "en",
                **({"knowledgeResponseType": kind} if kind else {}),
            }
        )
        for name, kind in (
            ("atom", ""),
            ("json", "application/json"),
            ("fhir", "application/fhir+json"),
            ("html", "text/html"),
        )
    }
    systems = [(s.oid, s.label) for s in (CodeSystem.ICD10CM, CodeSystem.SNOMEDCT, CodeSystem.LOINC, CodeSystem.RXNORM)]
    return render_template(
        "page/demo.html",
        lang="en",
        t=TEXT["en"],
        static_base=urljoin(base, "static/"),
        home_url=urljoin(base, "./"),
        action=urljoin(base, "application"),
        systems=systems,
        languages=LANGUAGES,
        examples=examples,
        cds_discovery=urljoin(base, "cds-services"),
    )
