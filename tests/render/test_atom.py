"""Atom knowledge responses: schema-valid and per the SOA IG prose (§4.3)."""

import pytest
from lxml import etree
from werkzeug.datastructures import MultiDict

from infobutton import bundled, resolver
from infobutton.models import Provenance
from infobutton.render import atom, attribution
from infobutton.request import parse

from ..conftest import ICD10CM, SNOMEDCT
from ..synced_topics import synced
from . import cases

NS = {"a": atom.ATOM}
LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@pytest.fixture(scope="module")
def catalogue():
    topics = {t.id: t for t in synced(bundled.load_topics())}
    return resolver.index_rules(bundled.load_rules()), topics.get


def feed_for(catalogue, pairs):
    request = parse(MultiDict(pairs).items(multi=True))
    matches = resolver.resolve(request, catalogue[0], catalogue[1])
    return atom.build(request, matches)


def test_feed_validates_and_answers_c91_00(catalogue, knowledge_schema):
    feed = feed_for(catalogue, [("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)])
    knowledge_schema.assertValid(feed)
    assert feed.get(LANG) == "en"
    assert feed.findtext("a:subtitle", namespaces=NS) == "Health topic results for ICD-10-CM C91.00"
    assert feed.findtext("a:id", namespaces=NS).startswith("urn:uuid:")
    # when the answer's content last changed: its newest topic's last update, never the render time
    entry_dates = [e.findtext("a:updated", namespaces=NS) for e in feed.findall("a:entry", NS)]
    assert feed.findtext("a:updated", namespaces=NS) == max(entry_dates)
    titles = [e.findtext("a:title", namespaces=NS) for e in feed.findall("a:entry", NS)]
    assert titles == ["Acute Lymphocytic Leukemia", "Leukemia"]


def test_entry_shape(catalogue):
    feed = feed_for(catalogue, [("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)])
    entry = feed.find("a:entry", NS)
    assert entry.get(LANG) == "en"
    links = entry.findall("a:link", NS)
    assert [(link.get("hreflang"), link.get("href")) for link in links] == [
        ("en", "https://medlineplus.gov/acutelymphocyticleukemia.html"),
        ("es", "https://medlineplus.gov/spanish/acutelymphocyticleukemia.html"),
    ]
    assert all(
        link.get("rel") == "alternate" and link.get("type") == "text/html" and link.get("title") for link in links
    )
    assert entry.findtext("a:id", namespaces=NS).startswith("tag:medlineplus.gov,")
    summary = entry.find("a:summary", NS)
    assert summary.get("type") == "html"
    assert "Also called: Acute lymphoblastic leukemia, ALL" in summary.text  # the catalogue's names
    assert "infobuttonReason" not in summary.text and "Why this topic" not in summary.text
    assert entry[-1].tag == f"{{{atom.ATOM}}}source" and entry[-1].get("type") == "text"
    scores = [c.get("term") for c in feed.iter(f"{{{atom.ATOM}}}category") if c.get("scheme") == "relevanceScore"]
    assert scores == ["0.50", "0.33"]  # ALL mapped one level up (C91.0), Leukemia two (C91)


def test_every_parameter_echoed_with_unsuffixed_schemes(catalogue, knowledge_schema):
    feed = feed_for(
        catalogue,
        [
            ("mainSearchCriteria.v.c", "C91.00"),
            ("mainSearchCriteria.v.cs", ICD10CM),
            ("mainSearchCriteria.v.dn", "ALL"),
            ("mainSearchCriteria.v.c1", "92818009"),
            ("mainSearchCriteria.v.cs1", SNOMEDCT),
            ("informationRecipient", "PAT"),
            ("informationRecipient.languageCode.c", "en"),
            ("performer", "PROV"),
            ("performer.languageCode.c", "en"),
            ("patientPerson.administrativeGenderCode.c", "F"),
            ("ageGroup.v.c", "D002648"),
            ("taskContext.c.c", "PROBLISTREV"),
            ("encounter.c.c", "AMB"),
            ("subTopic.v.c", "Q000175"),
            ("age.v.v", "7"),
            ("age.v.u", "a"),
        ],
    )
    knowledge_schema.assertValid(feed)
    cats = [(c.get("scheme"), c.get("term")) for c in feed.findall("a:category", NS)]
    assert ("mainSearchCriteria.v.c", "C91.00") in cats and ("mainSearchCriteria.v.c", "92818009") in cats
    assert [s for s, _ in cats].count("mainSearchCriteria.v.cs") == 2
    assert not any(s.endswith("1") for s, _ in cats)
    for scheme in (
        "informationRecipient",
        "performer",
        "performer.languageCode",
        "ageGroup.v.c",
        "patientPerson.administrativeGenderCode.c",
        "taskContext.c.c",
        "encounter.c.c",
        "subTopic.v.c",
        "mainSearchCriteria.v.dn",
        "informationRecipient.languageCode.c",
    ):
        assert scheme in {s for s, _ in cats}, scheme
    titles = [e.findtext("a:title", namespaces=NS) for e in feed.findall("a:entry", NS)]
    assert titles == ["Acute Lymphocytic Leukemia", "Chronic Myeloid Leukemia", "Childhood Leukemia"]


def test_spanish_feed(catalogue, knowledge_schema):
    feed = feed_for(
        catalogue,
        [
            ("mainSearchCriteria.v.c", "C9100"),
            ("mainSearchCriteria.v.cs", ICD10CM),
            ("informationRecipient.languageCode.c", "es-US"),
        ],
    )
    knowledge_schema.assertValid(feed)
    assert feed.get(LANG) == "es"
    entries = feed.findall("a:entry", NS)
    assert entries[0].get(LANG) == "es"
    assert entries[0].findtext("a:title", namespaces=NS) == "Leucemia linfocítica aguda"
    assert "También llamado" in entries[0].findtext("a:summary", namespaces=NS)


def test_no_match_is_an_empty_valid_feed(catalogue, knowledge_schema):
    request = parse(MultiDict([("mainSearchCriteria.v.c", "J45.909"), ("mainSearchCriteria.v.cs", ICD10CM)]).items())
    feed = atom.build(request, resolver.resolve(request, resolver.index_rules([]), catalogue[1]))
    knowledge_schema.assertValid(feed)
    assert feed.findall("a:entry", NS) == []


def test_feed_id_is_stable_for_the_same_request(catalogue):
    pairs = [("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)]
    assert feed_for(catalogue, pairs).findtext("a:id", namespaces=NS) == feed_for(catalogue, pairs).findtext(
        "a:id", namespaces=NS
    )
    other = feed_for(catalogue, pairs + [("age.v.v", "5")])
    assert other.findtext("a:id", namespaces=NS) != feed_for(catalogue, pairs).findtext("a:id", namespaces=NS)


def test_guide_example_validates(knowledge_schema):
    """The schema fixture itself accepts the HL7 guide's example (guards the test setup)."""
    from ..conftest import CONFORMANCE

    doc = etree.parse(str(CONFORMANCE / "KnowledgeResponsePayload_example1.xml"))
    knowledge_schema.assertValid(doc)


# Where each answer came from, who wrote its text, and what its date means.

BASE = "https://ib.example.org/"


def build(*matches, request=cases.REQUEST):
    return atom.build(request, list(matches), BASE)


def entries(feed):
    return feed.findall("a:entry", NS)


def summary(entry) -> str:
    return entry.findtext("a:summary", namespaces=NS)


@pytest.mark.parametrize("provenance", list(Provenance))
def test_every_entry_names_its_layer_in_source_and_validates(provenance, knowledge_schema):
    feed = build(cases.match(cases.medlineplus(), provenance, reason="the evidence"))
    knowledge_schema.assertValid(feed)
    entry = entries(feed)[0]
    assert entry[-1].tag == f"{{{atom.ATOM}}}source"  # the last element the schema allows
    assert (entry[-1].get("type"), entry[-1].text) == ("text", provenance.value)
    assert not any(c.get("scheme") == "provenance" for c in feed.iter(f"{{{atom.ATOM}}}category"))


def reasons(entry) -> list[str]:
    return [c.get("term") for c in entry.findall("a:category", NS) if c.get("scheme") == "strengthOfRecommedation"]


def test_the_summary_is_the_topics_content_and_the_reason_is_a_category():
    feed = build(
        cases.match(cases.medlineplus()),
        cases.match(
            cases.link_only(also_called=("Leukaemia",)),
            Provenance.AUTOMATIC,
            "matched the ICD-10-CM title 'Leukemia' to the topic name 'Leukemia'",
        ),
    )
    first, second = entries(feed)
    assert summary(first) == (
        "<p>Leukemia is cancer of the white blood cells.</p>"
        '<p class="NLMalsoCalled">Also called: ALL</p>'
        f'<p class="NLMattribution">{cases.NLM_EN}</p>'
    )
    # a link-only topic's names are MedlinePlus's, but it has no text to show them with
    assert summary(second) == '<p class="infobuttonAttribution">Links to the MedlinePlus.gov page for this topic</p>'
    assert reasons(first) == [cases.CURATED_REASON]
    assert reasons(second) == ["matched the ICD-10-CM title 'Leukemia' to the topic name 'Leukemia'"]
    assert [e.findtext("a:source", namespaces=NS) for e in (first, second)] == ["curated", "automatic"]


def test_a_display_name_match_keeps_its_reason_out_of_the_summary():
    feed = build(cases.match(cases.link_only(), Provenance.AUTOMATIC, "matched the display name", from_text=True))
    assert reasons(entries(feed)[0]) == ["matched the display name"]
    assert "display name" not in summary(entries(feed)[0])


def test_reason_and_title_are_escaped_and_still_valid(knowledge_schema):
    evil = '<script>alert(1)</script><img src=x onerror=y> & "q"'
    feed = build(
        cases.match(
            cases.link_only(title=evil),
            Provenance.FREE_TEXT,
            f"matched the words '{evil}'",
            criterion=cases.TEXT_CRITERION,
        )
    )
    knowledge_schema.assertValid(feed)
    text = summary(entries(feed)[0])  # the HTML a client will render
    assert "<script" not in text and "<img" not in text
    assert reasons(entries(feed)[0]) == [f"matched the words '{evil}'"]  # an attribute: literal
    assert entries(feed)[0].findtext("a:title", namespaces=NS) == evil  # type="text": literal
    assert b"<script" not in etree.tostring(feed)


def test_medlineplus_text_is_credited_to_nlm_with_this_service_as_contributor(knowledge_schema):
    feed = build(cases.match(cases.medlineplus()))
    knowledge_schema.assertValid(feed)
    entry = entries(feed)[0]
    assert f'<p class="NLMattribution">{cases.NLM_EN}</p>' in summary(entry)
    assert '<p class="NLMalsoCalled">Also called: ALL</p>' in summary(entry)
    assert entry.findtext("a:author/a:name", namespaces=NS) == "National Library of Medicine"
    assert entry.findtext("a:contributor/a:name", namespaces=NS) == attribution.SERVICE_NAME


def test_spanish_medlineplus_text_has_the_spanish_attribution():
    feed = build(cases.match(cases.medlineplus(language="es", title="Leucemia linfocítica aguda")))
    text = summary(entries(feed)[0])
    assert f'<p class="NLMattribution">{cases.NLM_ES}</p>' in text
    assert "Por qué este tema" not in text and "Asignación revisada" not in text


@pytest.mark.parametrize(
    "topic",
    [
        cases.link_only(),
        cases.link_only(summary_html="<p>Written here.</p>", source="local"),
        cases.link_only(summary_html="<p>Nobody knows where this came from.</p>", source=""),
        cases.medlineplus(summary_html="", meta_desc=""),  # a MedlinePlus topic that carries no text
    ],
    ids=["index", "local", "unknown", "medlineplus-without-text"],
)
def test_nothing_but_medlineplus_text_is_attributed_to_nlm(topic, knowledge_schema):
    feed = build(cases.match(topic))
    knowledge_schema.assertValid(feed)
    entry = entries(feed)[0]
    body = etree.tostring(entry, encoding="unicode")
    assert "NLMattribution" not in body and "National Library of Medicine" not in body
    assert "NLMalsoCalled" not in body
    assert entry.find("a:author", NS) is None  # the feed's author, this service, is the entry's


def test_a_link_only_entry_says_it_links_to_the_medlineplus_page():
    feed = build(cases.match(cases.link_only()))
    assert '<p class="infobuttonAttribution">Links to the MedlinePlus.gov page for this topic</p>' in summary(
        entries(feed)[0]
    )


def test_local_text_is_credited_to_this_service():
    feed = build(cases.match(cases.link_only(summary_html="<p>Written here.</p>", source="local")))
    assert "Summary written by this service, not by MedlinePlus" in summary(entries(feed)[0])


def test_upstream_text_names_its_real_host(knowledge_schema):
    feed = build(cases.match(cases.upstream(), Provenance.UPSTREAM, "answered by responder.example.org"))
    knowledge_schema.assertValid(feed)
    entry = entries(feed)[0]
    assert '<p class="infobuttonAttribution">Summary from responder.example.org</p>' in summary(entry)
    assert entry.findtext("a:author/a:name", namespaces=NS) == "responder.example.org"
    assert entry.findtext("a:author/a:uri", namespaces=NS) == "https://responder.example.org"
    assert "National Library" not in etree.tostring(entry, encoding="unicode")


def test_the_feed_author_is_this_service_not_nlm():
    feed = build(cases.match(cases.medlineplus()))
    author = feed.find("a:author", NS)
    assert author.findtext("a:name", namespaces=NS) == attribution.SERVICE_NAME
    assert author.findtext("a:uri", namespaces=NS) == BASE
    assert atom.build(cases.REQUEST, []).find("a:author/a:uri", NS) is None  # no base: no uri


def test_entry_updated_is_the_last_update_else_the_review_else_the_catalogue_never_the_creation(knowledge_schema):
    feed = build(
        cases.match(cases.medlineplus()),
        cases.match(
            cases.medlineplus(id="b", url="https://medlineplus.gov/b.html", date_updated="", date_reviewed="2023-01-01")
        ),
        cases.match(cases.link_only(catalogue_date="2022-02-02", date_reviewed="2021-09-09")),
        cases.match(cases.link_only(id="c", url="https://medlineplus.gov/c.html")),
    )
    knowledge_schema.assertValid(feed)
    assert [e.findtext("a:updated", namespaces=NS) for e in entries(feed)] == [
        f"{cases.UPDATED}T00:00:00Z",
        "2023-01-01T00:00:00Z",  # reviewed, not updated
        "2021-09-09T00:00:00Z",  # the review the catalogue gives, before the catalogue's own date
        f"{cases.CATALOGUED}T00:00:00Z",  # a link-only topic: its catalogue's date
    ]
    assert feed.findtext("a:updated", namespaces=NS) == f"{cases.CATALOGUED}T00:00:00Z"  # the newest
    assert cases.CREATED not in etree.tostring(feed, encoding="unicode").replace(
        f"tag:medlineplus.gov,{cases.CREATED}", ""
    )  # the created date only names the entry id


def test_an_upstream_source_that_is_not_a_host_is_credited_to_no_one(knowledge_schema):
    feed = build(cases.match(cases.upstream(source="upstream:<b>x</b> y"), Provenance.UPSTREAM))
    knowledge_schema.assertValid(feed)
    entry = entries(feed)[0]
    assert entry.find("a:author", NS) is None
    assert "Links to the page for this topic on health.example.org" in summary(entry)


def test_feed_updated_is_the_newest_topic_date_and_never_the_clock(knowledge_schema):
    older = cases.medlineplus(id="old", url="https://medlineplus.gov/old.html", date_updated="2020-02-03")
    newer = cases.medlineplus(id="new", url="https://medlineplus.gov/new.html", date_updated="2025-06-07")
    feed = build(cases.match(older), cases.match(newer), cases.match(cases.link_only()))
    knowledge_schema.assertValid(feed)
    assert feed.findtext("a:updated", namespaces=NS) == "2025-06-07T00:00:00Z"
    assert atom.feed_updated([cases.match(older)]) == "2020-02-03T00:00:00Z"


def test_an_undated_answer_has_a_fixed_updated_so_its_bytes_never_change(knowledge_schema):
    empty = atom.build(cases.REQUEST, [], BASE)
    knowledge_schema.assertValid(empty)
    assert empty.findtext("a:updated", namespaces=NS) == atom.UNDATED
    undated = cases.match(cases.upstream(), Provenance.UPSTREAM)  # another responder gave no date
    upstream = build(undated)
    assert upstream.findtext("a:updated", namespaces=NS) == atom.UNDATED
    again = atom.serialise(atom.feed(cases.REQUEST, [undated], BASE))
    assert again == etree.tostring(upstream, xml_declaration=True, encoding="UTF-8")


def test_a_link_only_answer_is_dated_by_its_catalogue_never_1970(knowledge_schema):
    feed = build(cases.match(cases.link_only()))
    knowledge_schema.assertValid(feed)
    assert feed.findtext("a:updated", namespaces=NS) == f"{cases.CATALOGUED}T00:00:00Z"
    assert entries(feed)[0].findtext("a:updated", namespaces=NS) == f"{cases.CATALOGUED}T00:00:00Z"
    assert atom.UNDATED not in etree.tostring(feed, encoding="unicode")
