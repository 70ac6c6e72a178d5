"""Atom knowledge responses: schema-valid and per the SOA IG prose (§4.3)."""

from datetime import datetime, timezone

import pytest
from lxml import etree
from werkzeug.datastructures import MultiDict

from infobutton import bundled, resolver
from infobutton.render import atom
from infobutton.request import parse

from ..conftest import ICD10CM, SNOMEDCT
from ..synced_topics import synced

NS = {"a": atom.ATOM}
LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def catalogue():
    topics = {t.id: t for t in synced(bundled.load_topics())}
    return resolver.index_rules(bundled.load_rules()), topics.get


def feed_for(catalogue, pairs):
    request = parse(MultiDict(pairs).items(multi=True))
    matches = resolver.resolve(request, catalogue[0], catalogue[1])
    return atom.build(request, matches, NOW)


def test_feed_validates_and_answers_c91_00(catalogue, knowledge_schema):
    feed = feed_for(catalogue, [("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)])
    knowledge_schema.assertValid(feed)
    assert feed.get(LANG) == "en"
    assert feed.findtext("a:subtitle", namespaces=NS) == "Health topic results for ICD-10-CM C91.00"
    assert feed.findtext("a:id", namespaces=NS).startswith("urn:uuid:")
    assert feed.findtext("a:updated", namespaces=NS) == "2026-11-23T12:00:00Z"
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
    assert all(link.get("rel") == "alternate" and link.get("type") == "text/html" and link.get("title")
               for link in links)
    assert entry.findtext("a:id", namespaces=NS).startswith("tag:medlineplus.gov,")
    summary = entry.find("a:summary", NS)
    assert summary.get("type") == "html"
    assert 'class="NLMalsoCalled">Also called: ALL' in summary.text
    assert 'class="NLMattribution"' in summary.text
    scores = [c.get("term") for c in feed.iter(f"{{{atom.ATOM}}}category") if c.get("scheme") == "relevanceScore"]
    assert scores == ["0.50", "0.33"]  # ALL mapped one level up (C91.0), Leukemia two (C91)


def test_every_parameter_echoed_with_unsuffixed_schemes(catalogue, knowledge_schema):
    feed = feed_for(catalogue, [
        ("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM),
        ("mainSearchCriteria.v.dn", "ALL"), ("mainSearchCriteria.v.c1", "92818009"),
        ("mainSearchCriteria.v.cs1", SNOMEDCT), ("informationRecipient", "PAT"),
        ("informationRecipient.languageCode.c", "en"), ("performer", "PROV"),
        ("performer.languageCode.c", "en"), ("patientPerson.administrativeGenderCode.c", "F"),
        ("ageGroup.v.c", "D002648"), ("taskContext.c.c", "PROBLISTREV"), ("encounter.c.c", "AMB"),
        ("subTopic.v.c", "Q000175"), ("age.v.v", "7"), ("age.v.u", "a"),
    ])
    knowledge_schema.assertValid(feed)
    cats = [(c.get("scheme"), c.get("term")) for c in feed.findall("a:category", NS)]
    assert ("mainSearchCriteria.v.c", "C91.00") in cats and ("mainSearchCriteria.v.c", "92818009") in cats
    assert [s for s, _ in cats].count("mainSearchCriteria.v.cs") == 2
    assert not any(s.endswith("1") for s, _ in cats)
    for scheme in ("informationRecipient", "performer", "performer.languageCode", "ageGroup.v.c",
                   "patientPerson.administrativeGenderCode.c", "taskContext.c.c", "encounter.c.c",
                   "subTopic.v.c", "mainSearchCriteria.v.dn", "informationRecipient.languageCode.c"):
        assert scheme in {s for s, _ in cats}, scheme
    titles = [e.findtext("a:title", namespaces=NS) for e in feed.findall("a:entry", NS)]
    assert titles == ["Acute Lymphocytic Leukemia", "Chronic Myeloid Leukemia", "Childhood Leukemia"]


def test_spanish_feed(catalogue, knowledge_schema):
    feed = feed_for(catalogue, [("mainSearchCriteria.v.c", "C9100"), ("mainSearchCriteria.v.cs", ICD10CM),
                                ("informationRecipient.languageCode.c", "es-US")])
    knowledge_schema.assertValid(feed)
    assert feed.get(LANG) == "es"
    entries = feed.findall("a:entry", NS)
    assert entries[0].get(LANG) == "es"
    assert entries[0].findtext("a:title", namespaces=NS) == "Leucemia linfocítica aguda"
    assert "También llamado" in entries[0].findtext("a:summary", namespaces=NS)


def test_no_match_is_an_empty_valid_feed(catalogue, knowledge_schema):
    feed = feed_for(catalogue, [("mainSearchCriteria.v.c", "J45.909"), ("mainSearchCriteria.v.cs", ICD10CM)])
    knowledge_schema.assertValid(feed)
    assert feed.findall("a:entry", NS) == []


def test_feed_id_is_stable_for_the_same_request(catalogue):
    pairs = [("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)]
    assert feed_for(catalogue, pairs).findtext("a:id", namespaces=NS) == \
        feed_for(catalogue, pairs).findtext("a:id", namespaces=NS)
    other = feed_for(catalogue, pairs + [("age.v.v", "5")])
    assert other.findtext("a:id", namespaces=NS) != feed_for(catalogue, pairs).findtext("a:id", namespaces=NS)


def test_guide_example_validates(knowledge_schema):
    """The schema fixture itself accepts the HL7 guide's example (guards the test setup)."""
    from ..conftest import CONFORMANCE

    doc = etree.parse(str(CONFORMANCE / "KnowledgeResponsePayload_example1.xml"))
    knowledge_schema.assertValid(doc)
