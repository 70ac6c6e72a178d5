"""Subtopics and reasons on every surface at once (Atom, JSON, JSONP, FHIR, the click page; CDS
cards for the reason): subtopics narrow a topic's links to the sections asked for, and every entry says why it
is there (in its structured places; the click page says what it was shown for in plain words).
Table-driven: each surface has a reader that returns, per entry, what it shows."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import pytest
from lxml import etree
from lxml import html as lxml_html
from werkzeug.datastructures import MultiDict

from infobutton.models import MappingRule, Provenance, Recipient, Scope, Subject, TopicMatch
from infobutton.render import FORMATS, RenderContext, atom, attribution, cds_cards, fhir
from infobutton.request import parse

from ..conftest import ICD10CM, icd
from . import cases

CTX = RenderContext(self_url="https://ib.example.org/infobutton", base_url="https://ib.example.org/")
NS = {"a": atom.ATOM}
MESH = "2.16.840.1.113883.6.177"
TREATMENT = ["child", "adult", "blood-transfusion"]  # as the topic lists them
DIAGNOSIS = ["bone-marrow-test", "tumor-marker-tests"]
ALL_SECTIONS = [s.url.rsplit("/", 1)[1] for s in cases.SECTION_SITES]


@dataclass(frozen=True)
class Entry:
    """What one surface shows for one topic: its section links (the last path segment of each,
    in order), the reason (the page: what it was shown for), and the note about sections asked
    for that the topic has no link in (the page only: a feed's summary is the topic's content)."""

    sections: list[str]
    reason: str
    note: str


def _slug(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _feed_entries(feed: dict) -> list[Entry]:
    out = []
    for e in feed["entry"]:
        links = [_slug(link["href"]) for link in e["link"] if link["rel"] == "related"]
        reasons = [c["term"] for c in e["category"] if c["scheme"] == "strengthOfRecommedation"]
        summary = lxml_html.fromstring(e["summary"]["_value"])
        note = summary.xpath("string(.//p[@class='infobuttonSubtopic'])")
        out.append(Entry(links, reasons[0] if len(reasons) == 1 else repr(reasons), note))
    return out


def read_atom(body: bytes) -> list[Entry]:
    return _feed_entries(cases.atom_document_as_json(body)["feed"])


def read_json(body: bytes) -> list[Entry]:
    return _feed_entries(json.loads(body)["feed"])


def read_jsonp(body: bytes) -> list[Entry]:
    text = body.decode()
    return _feed_entries(json.loads(text[text.index("(") + 1 : text.rindex(")")])["feed"])


def read_fhir(body: bytes) -> list[Entry]:
    out = []
    for e in fhir.parse(body).entry or []:
        doc = e.resource
        related = (doc.context.related or []) if doc.context else []
        links = [_slug(r.identifier.value) for r in related if r.identifier.system == fhir.URI]
        reasons = [x.valueString for x in doc.extension or [] if x.url == fhir.REASON_EXTENSION]
        out.append(Entry(links, reasons[0] if len(reasons) == 1 else repr(reasons), ""))
    return out


def read_html(body: bytes) -> list[Entry]:
    page = lxml_html.fromstring(body)
    out = []
    for article in page.findall(".//article"):
        links = [_slug(a.get("href")) for a in article.findall(".//div[@class='link-group']//li/a")]
        why = article.find(".//p[@class='shown-for']").text_content()
        note = article.xpath("string(.//p[@class='subtopic-note'])")
        out.append(Entry(links, why, note))
    return out


READERS = {"atom": read_atom, "json": read_json, "jsonp": read_jsonp, "fhir": read_fhir, "html": read_html}
FEEDS = ("atom", "json", "jsonp", "fhir")  # section links only when subtopics are asked for


def render(surface: str, matches: list[TopicMatch], **params) -> list[Entry]:
    pairs = MultiDict([*icd("C91.00").items(), *params.items()])
    request = parse(pairs.items(multi=True))
    return READERS[surface](FORMATS[surface].render(request, matches, CTX))


def leukemia(**extra) -> TopicMatch:
    return cases.match(cases.sectioned(**extra))


def shown_without_subtopics(surface: str) -> list[str]:
    return [] if surface in FEEDS else ALL_SECTIONS


# --- subtopics × surfaces ---------------------------------------------------------------------


@pytest.mark.parametrize("surface", READERS)
@pytest.mark.parametrize(
    "params,expected",
    [
        ({"subTopic.v.c": "Q000628"}, TREATMENT),
        ({"subTopic.v.c": "Q000175"}, DIAGNOSIS),
        ({"subTopic.v.c": "Q000188", "subTopic.v.cs": MESH}, TREATMENT),  # drug therapy: under therapy
        ({"subTopic.v.c": "Q000175", "subTopic.v.c1": "Q000628"}, DIAGNOSIS + TREATMENT),  # the union
        ({"subTopic.v.c": "Q000628", "subTopic.v.c1": "Q000175"}, DIAGNOSIS + TREATMENT),  # topic's order
        ({"subTopic.v.c": "Q000235"}, ["causes"]),
        ({"subTopic.v.c": "Q000453"}, ["statistics"]),
    ],
)
def test_subtopics_narrow_the_links_to_their_sections(surface, params, expected):
    (entry,) = render(surface, [leukemia()], **params)
    assert entry.sections == expected
    assert entry.note == ""


@pytest.mark.parametrize("surface", READERS)
@pytest.mark.parametrize(
    "params",
    [
        {"subTopic.v.c": "Q999999"},
        {"subTopic.v.c": "Q000517", "subTopic.v.dn": "prevention & control"},
        {"subTopic.v.dn": "treatment"},
        {"subTopic.v.c": "Q000628", "subTopic.v.cs": "2.16.840.1.113883.6.96"},
    ],
)
def test_unknown_subtopics_change_nothing(surface, params):
    (entry,) = render(surface, [leukemia()], **params)
    assert entry == render(surface, [leukemia()])[0]
    assert entry.sections == shown_without_subtopics(surface)


@pytest.mark.parametrize("surface", ["atom", "json", "jsonp"])
def test_unknown_subtopics_are_echoed_in_the_feed(surface):
    request = parse(MultiDict([*icd("C91.00").items(), ("subTopic.v.c", "Q999999")]).items(multi=True))
    body = FORMATS[surface].render(request, [leukemia()], CTX)
    if surface == "atom":
        cats = [(c.get("scheme"), c.get("term")) for c in etree.fromstring(body).findall("a:category", NS)]
    else:
        text = body.decode()
        feed = json.loads(text[text.index("{") : text.rindex("}") + 1])["feed"]
        cats = [(c["scheme"], c["term"]) for c in feed["category"]]
    assert ("subTopic.v.c", "Q999999") in cats


@pytest.mark.parametrize("surface", ["fhir", "html"])
def test_unknown_subtopics_are_kept_in_the_links_back(surface):
    """FHIR's self link and the page's language switch keep what was asked."""
    request = parse(MultiDict([*icd("C91.00").items(), ("subTopic.v.c", "Q999999")]).items(multi=True))
    body = FORMATS[surface].render(request, [leukemia()], CTX)
    if surface == "fhir":
        link = fhir.parse(body).link[0].url
    else:
        link = lxml_html.fromstring(body).find(".//nav[@class='language-switch']/a").get("href")
    assert "subTopic.v.c=Q999999" in link


@pytest.mark.parametrize("surface", READERS)
@pytest.mark.parametrize(
    "age,expected",
    [
        ({"age.v.v": "6", "age.v.u": "a"}, ["child", "blood-transfusion", "adult"]),
        ({"ageGroup.v.c": "D000293"}, ["child", "blood-transfusion", "adult"]),  # Adolescent
        ({"age.v.v": "40", "age.v.u": "a"}, ["adult", "blood-transfusion", "child"]),
        ({}, TREATMENT),
    ],
)
def test_subtopics_keep_the_order_for_the_patients_age(surface, age, expected):
    (entry,) = render(surface, [leukemia()], **{"subTopic.v.c": "Q000628", **age})
    assert entry.sections == expected


@pytest.mark.parametrize("surface", READERS)
def test_a_topic_without_links_there_keeps_its_page_and_says_so(surface):
    no_treatment = tuple(s for s in cases.SECTION_SITES if s.category != "Treatments and Therapies")
    entries = render(
        surface,
        [leukemia(sites=no_treatment), cases.match(cases.link_only(id="b", url="https://medlineplus.gov/b.html"))],
        **{"subTopic.v.c": "Q000175", "subTopic.v.c1": "Q000628"},
    )
    assert [e.sections for e in entries] == [DIAGNOSIS, []]
    if surface != "html":  # a feed's summary is the topic's content: its related links are simply absent
        assert [e.note for e in entries] == ["", ""]
    else:
        assert [e.note for e in entries] == [
            "No links under \u201cTreatments and Therapies\u201d are on file for this topic; see the topic page.",
            "No links under \u201cDiagnosis and Tests\u201d or \u201cTreatments and Therapies\u201d are on file"
            " for this topic; see the topic page.",
        ]


def test_the_spanish_note_is_spanish():
    topic = cases.link_only(id="leucemia", url="https://medlineplus.gov/spanish/leukemia.html", language="es")
    (entry,) = render(
        "html", [cases.match(topic)], **{"subTopic.v.c": "Q000628", "informationRecipient.languageCode.c": "es"}
    )
    assert entry.note.startswith("No hay enlaces en \u201cTreatments and Therapies\u201d")


def test_the_page_says_which_sections_it_shows():
    request = parse(MultiDict([*icd("C91.00").items(), ("subTopic.v.c", "Q000628")]).items(multi=True))
    page = lxml_html.fromstring(FORMATS["html"].render(request, [leukemia()], CTX))
    shown = page.find(".//p[@class='sections-asked']").text_content()
    assert shown == "Showing only the links under \u201cTreatments and Therapies\u201d, as asked."
    assert [h.text for h in page.findall(".//div[@class='link-group']/h4")] == ["Treatments and Therapies"]
    plain = lxml_html.fromstring(FORMATS["html"].render(parse(icd("C91.00").items()), [leukemia()], CTX))
    assert plain.find(".//p[@class='sections-asked']") is None


# --- Atom: the section links and the entry's categories, schema-valid ------------------------


def atom_entry(params: dict, match: TopicMatch | None = None):
    request = parse(MultiDict([*icd("C91.00").items(), *params.items()]).items(multi=True))
    return atom.build(request, [match or leukemia()], CTX.base_url)


def test_section_links_are_related_links_after_the_page(knowledge_schema):
    feed = atom_entry({"subTopic.v.c": "Q000175", "subTopic.v.c1": "Q000628"})
    knowledge_schema.assertValid(feed)
    links = feed.find("a:entry", NS).findall("a:link", NS)
    assert [(link.get("rel"), link.get("href")) for link in links[:1]] == [
        ("alternate", "https://medlineplus.gov/leukemia.html")
    ]
    related = [link for link in links if link.get("rel") == "related"]
    assert [link.get("title") for link in related][:2] == ["Bone Marrow Test", "Tumor Marker Tests"]
    assert {(link.get("type"), link.get("hreflang")) for link in related} == {("text/html", "en")}
    assert len(related) == len(DIAGNOSIS + TREATMENT)  # nothing from Start Here or elsewhere


def test_a_pdf_link_says_so(knowledge_schema):
    pdf = replace(cases.SECTION_SITES[1], category="Treatments and Therapies")  # Understanding Leukemia (PDF)
    feed = atom_entry({"subTopic.v.c": "Q000628"}, leukemia(sites=(pdf,)))
    knowledge_schema.assertValid(feed)
    (link,) = [link for link in feed.iter(f"{{{atom.ATOM}}}link") if link.get("rel") == "related"]
    assert (link.get("title"), link.get("type")) == ("Understanding Leukemia", "application/pdf")
    assert atom.link_type("https://example.org/a/b.PDF?x=1#p2") == "application/pdf"
    assert atom.link_type("https://example.org/a/pdf-guide") == "text/html"


def entry_categories(feed) -> list[tuple[str, str]]:
    return [(c.get("scheme"), c.get("term")) for c in feed.find("a:entry", NS).findall("a:category", NS)]


def test_entry_categories_say_what_the_entry_answers_and_why(knowledge_schema):
    feed = atom_entry({"subTopic.v.c": "Q000175", "subTopic.v.c1": "Q000628", "subTopic.v.c2": "Q999999"})
    knowledge_schema.assertValid(feed)
    assert entry_categories(feed) == [
        ("mainSearchCriteria.v.c", "C91.00"),
        ("mainSearchCriteria.v.cs", ICD10CM),
        ("mainSearchCriteria.v.dn", "Acute lymphoblastic leukemia not having achieved remission"),
        ("subTopic.v.c", "Q000175"),
        ("subTopic.v.cs", MESH),
        ("subTopic.v.dn", "diagnosis"),
        ("subTopic.v.c", "Q000628"),
        ("subTopic.v.cs", MESH),
        ("subTopic.v.dn", "therapy"),
        ("relevanceScore", "1.00"),
        ("strengthOfRecommedation", cases.CURATED_REASON),
    ]


def test_only_subtopics_with_links_in_the_entry_are_categories(knowledge_schema):
    no_treatment = tuple(s for s in cases.SECTION_SITES if s.category != "Treatments and Therapies")
    feed = atom_entry({"subTopic.v.c": "Q000175", "subTopic.v.c1": "Q000628"}, leukemia(sites=no_treatment))
    knowledge_schema.assertValid(feed)
    assert [t for s, t in entry_categories(feed) if s == "subTopic.v.c"] == ["Q000175"]


def rule(*audiences: Recipient) -> MappingRule:
    return MappingRule(cases.CRITERION.code.system, "C91", "leukemia", Scope.DESCENDANTS, audiences=audiences)


@pytest.mark.parametrize(
    "match,recipients",
    [
        (cases.match(cases.sectioned()), []),
        (replace(cases.match(cases.sectioned()), rule=rule()), []),
        (replace(cases.match(cases.sectioned()), rule=rule(Recipient.PATIENT)), ["PAT"]),
        (replace(cases.match(cases.sectioned()), rule=rule(Recipient.PATIENT, Recipient.PAYOR)), ["PAT", "PAYOR"]),
        (cases.match(cases.sectioned(audience="professional")), ["PROV"]),
    ],
)
def test_entry_says_whom_its_rule_or_topic_is_for(match, recipients, knowledge_schema):
    feed = atom_entry({}, match)
    knowledge_schema.assertValid(feed)
    assert [t for s, t in entry_categories(feed) if s == "informationRecipient"] == recipients


def test_a_text_criterion_is_named_by_its_words(knowledge_schema):
    request = parse([("mainSearchCriteria.v.ot", "blood cancer"), ("mainSearchCriteria.v.dn", "Leukemia")])
    match = cases.match(cases.link_only(), Provenance.FREE_TEXT, "the words", criterion=request.criteria[0])
    feed = atom.build(request, [match])
    knowledge_schema.assertValid(feed)
    assert entry_categories(feed) == [
        ("mainSearchCriteria.v.dn", "Leukemia"),
        ("mainSearchCriteria.v.ot", "blood cancer"),
        ("relevanceScore", "1.00"),
        ("strengthOfRecommedation", "the words"),
    ]


def test_fhir_names_the_subtopics_answered_in_mesh():
    request = parse(MultiDict([*icd("C91.00").items(), ("subTopic.v.c", "Q000628")]).items(multi=True))
    (entry,) = fhir.parse(FORMATS["fhir"].render(request, [leukemia()], CTX)).entry
    codings = [(c.system, c.code, c.display) for cat in entry.resource.category for c in cat.coding or []]
    assert ("urn:oid:2.16.840.1.113883.6.177", "Q000628", "therapy") in codings
    related = [(r.identifier.system, r.identifier.value, r.display) for r in entry.resource.context.related]
    assert related[0] == ("http://hl7.org/fhir/sid/icd-10-cm", "C91.00", "ICD-10-CM C91.00")  # the code, first
    assert related[3] == (
        fhir.URI,
        "https://example.org/leukemia/blood-transfusion",
        "Treatments and Therapies: Blood Transfusion",
    )


# --- the reason, for every entry, on every surface -------------------------------------------

REASONED = [
    cases.match(cases.sectioned(), Provenance.CURATED, cases.CURATED_REASON),
    cases.match(
        cases.link_only(id="a", url="https://medlineplus.gov/a.html"), Provenance.AUTOMATIC, "matched the title"
    ),
    cases.match(cases.upstream(), Provenance.UPSTREAM, "answered by responder.example.org"),
    cases.match(cases.link_only(id="f", url="https://medlineplus.gov/f.html"), Provenance.FREE_TEXT, "the words"),
    cases.match(cases.link_only(id="n", url="https://medlineplus.gov/n.html"), Provenance.AUTOMATIC, ""),
]


@pytest.mark.parametrize("surface", READERS)
def test_every_entry_shows_its_reason(surface):
    entries = render(surface, REASONED)
    assert len(entries) == len(REASONED)
    for entry, match in zip(entries, REASONED, strict=True):
        if surface == "html":  # in plain words: what it was shown for
            assert entry.reason == f"{attribution.SHOWN_FOR['en']}: {attribution.shown_for(match)}"
        else:
            assert entry.reason == attribution.reason(match)
        assert entry.reason.strip()
    if surface != "html":
        assert render(surface, REASONED[-1:])[0].reason.endswith("Automatic match")  # no resolver reason


def test_every_card_topic_shows_its_reason():
    subject = Subject("Condition", "Acute lymphoblastic leukemia", (cases.CRITERION,))
    coded = [m for m in REASONED if not cds_cards.from_text(m)]
    card = cds_cards.card(subject, coded, CTX.base_url, new_id=lambda: "x")
    lines = card["detail"].splitlines()
    for match in coded:
        assert f"  - {attribution.WHY['en']}: {cds_cards.escape_markdown(attribution.why(match, 'en'))}" in lines


def test_the_formats_are_fixed_at_import_in_negotiation_order():
    assert list(FORMATS) == ["atom", "json", "jsonp", "fhir", "html"]  # a */* tie goes to Atom
    with pytest.raises(TypeError):
        FORMATS["csv"] = FORMATS["json"]  # type: ignore[index]  # nothing adds a format later
