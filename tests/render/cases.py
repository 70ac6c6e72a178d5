"""Topics and matches built here, one per kind of origin, so render tests never depend on the
shipped catalogue's text (which is becoming mostly link-only)."""

from __future__ import annotations

from lxml import etree

from infobutton.models import Code, CodeSystem, Criterion, KnowledgeRequest, Provenance, Site, Topic, TopicMatch

from ..conftest import ICD10CM

CRITERION = Criterion(code=Code(CodeSystem.ICD10CM, "C91.00"), raw_code="C91.00")
TEXT_CRITERION = Criterion(code=None, original_text="blood cancer")
REQUEST = KnowledgeRequest(
    criteria=(CRITERION,), echo=(("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM))
)
CURATED_REASON = "curated rule for C91 and below: Lymphoid leukemia"
NLM_EN = "From MedlinePlus.gov, U.S. National Library of Medicine"
NLM_ES = "De MedlinePlus.gov, Biblioteca Nacional de Medicina de los Estados Unidos"
CREATED, UPDATED = "2001-03-04", "2024-05-01"
CATALOGUED = "2024-07-01"  # the date of the catalogue a link-only topic came from


def medlineplus(**extra) -> Topic:
    """A topic with MedlinePlus text (export or topic page), created and updated on different days."""
    values = dict(
        id="acutelymphocyticleukemia",
        title="Acute Lymphocytic Leukemia",
        url="https://medlineplus.gov/acutelymphocyticleukemia.html",
        language="en",
        summary_html="<p>Leukemia is cancer of the white blood cells.</p>",
        meta_desc="Learn about ALL.",
        also_called=("ALL",),
        date_created=CREATED,
        date_updated=UPDATED,
        source="medlineplus",
    )
    values.update(extra)
    return Topic(**values)


def link_only(**extra) -> Topic:
    """A topic from a topic list: title and URL, no text, no dates but its catalogue's."""
    values = dict(
        id="leukemia",
        title="Leukemia",
        url="https://medlineplus.gov/leukemia.html",
        language="en",
        source="index",
        catalogue_date=CATALOGUED,
    )
    values.update(extra)
    return Topic(**values)


def upstream(**extra) -> Topic:
    values = dict(
        id="upstream-1",
        title="Blood cancers",
        url="https://health.example.org/blood-cancers",
        language="en",
        summary_html="<p>Text written by the upstream.</p>",
        source="upstream:responder.example.org",
    )
    values.update(extra)
    return Topic(**values)


def match(
    topic: Topic,
    provenance: Provenance = Provenance.CURATED,
    reason: str = CURATED_REASON,
    from_text: bool = False,
    criterion: Criterion = CRITERION,
    distance: int = 0,
) -> TopicMatch:
    return TopicMatch(topic, criterion, None, distance, provenance, reason, from_text)


def _site(title: str, section: str, slug: str) -> Site:
    return Site(title, f"https://example.org/leukemia/{slug}", section)


# Leukemia's link sections with titles as the seed capture of medlineplus.gov/leukemia.html lists
# them (../shared/seeds; the two PDQ treatment titles are NCI's, as in tests/test_sites.py). The
# capture has no URLs: these are placeholders on example.org (one a PDF, as the capture marks it).
SECTION_SITES = (
    _site("Leukemia", "Start Here", "mayo"),
    _site("Understanding Leukemia", "Start Here", "understanding-leukemia.pdf"),
    _site("Bone Marrow Test", "Diagnosis and Tests", "bone-marrow-test"),
    _site("Tumor Marker Tests", "Diagnosis and Tests", "tumor-marker-tests"),
    _site(
        "Childhood Acute Lymphoblastic Leukemia Treatment (PDQ®)—Patient Version", "Treatments and Therapies", "child"
    ),
    _site("Adult Acute Lymphoblastic Leukemia Treatment (PDQ®)—Patient Version", "Treatments and Therapies", "adult"),
    _site("Blood Transfusion", "Treatments and Therapies", "blood-transfusion"),
    _site("Do We Know What Causes Chronic Myelomonocytic Leukemia?", "Genetics", "causes"),
    _site("Cancer Statistics: Leukemia", "Statistics and Research", "statistics"),
    _site("Bone marrow transplant", "Patient Handouts", "bone-marrow-transplant"),
)


def sectioned(**extra) -> Topic:
    """Leukemia with MedlinePlus text and links in several sections (``SECTION_SITES``)."""
    values = dict(id="leukemia", title="Leukemia", url="https://medlineplus.gov/leukemia.html", sites=SECTION_SITES)
    values.update(extra)
    return medlineplus(**values)


def atom_as_json(element) -> dict:
    """The JSON mirror rule (SOA IG §4.4, render.json_feed) applied to parsed Atom XML, written
    here against the XML on its own, so tests can hold the JSON surface to the Atom one."""
    node: dict = {etree.QName(key).localname: value for key, value in element.attrib.items()}
    if element.text and element.text.strip() and len(element) == 0:
        node["_value"] = element.text
    for child in element:
        name = etree.QName(child.tag).localname
        value = atom_as_json(child)
        if name in ("category", "entry", "link"):
            node.setdefault(name, []).append(value)
        elif name in node:
            node[name] = [*node[name], value] if isinstance(node[name], list) else [node[name], value]
        else:
            node[name] = value
    return node


def atom_document_as_json(body: bytes) -> dict:
    """A whole Atom answer as its JSON mirror: ``{"feed": …}`` with ``category`` and ``entry``
    present even when empty."""
    feed = atom_as_json(etree.fromstring(body))
    feed.setdefault("category", [])
    feed.setdefault("entry", [])
    return {"feed": feed}
