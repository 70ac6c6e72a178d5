"""FHIR R4 Bundle of DocumentReference: fields, round trip through the R4B models, errors."""

import json
from urllib.parse import parse_qsl, urlsplit

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.operationoutcome import OperationOutcome

from infobutton.models import Provenance
from infobutton.render import fhir

from ..conftest import icd
from . import cases

FHIR_JSON = "application/fhir+json"


def bundle_for(client, **params):
    r = client.get("/infobutton", query_string={**params, "knowledgeResponseType": FHIR_JSON})
    assert r.status_code == 200
    assert r.mimetype == FHIR_JSON
    return r


def test_c91_00_is_a_searchset_of_document_references(client, synced_catalogue):
    r = bundle_for(client, **icd("C91.00"))
    bundle = Bundle.model_validate_json(r.data)
    assert bundle.type == "searchset"
    assert bundle.total == len(bundle.entry) == 2
    assert bundle.link[0].relation == "self"
    assert "mainSearchCriteria.v.c=C91.00" in bundle.link[0].url
    doc = bundle.entry[0].resource
    assert isinstance(doc, DocumentReference)
    assert doc.status == "current"
    assert doc.description == "Acute Lymphocytic Leukemia"
    assert doc.custodian.display == "MedlinePlus.gov"  # holds the linked page
    assert doc.meta.tag[0].system == fhir.PROVENANCE_SYSTEM
    english, spanish = (c.attachment for c in doc.content)
    assert (english.url, english.language, english.contentType, english.title) == (
        "https://medlineplus.gov/acutelymphocyticleukemia.html",
        "en",
        "text/html",
        "Acute Lymphocytic Leukemia",
    )
    assert (spanish.url, spanish.language) == ("https://medlineplus.gov/spanish/acutelymphocyticleukemia.html", "es")
    coding = doc.category[0].coding[0]
    assert (coding.system, coding.code) == ("http://hl7.org/fhir/sid/icd-10-cm", "C91.00")
    assert doc.context.related[0].identifier.value == "C91.00"
    assert bundle.entry[0].search.mode == "match"
    assert bundle.entry[0].search.score > bundle.entry[1].search.score


def test_round_trip_through_the_models_is_lossless(client):
    for params in (icd("C91.00"), icd("C92.10", **{"informationRecipient.languageCode.c": "es"}), icd("Z99.89")):
        raw = json.loads(bundle_for(client, **params).data)
        again = json.loads(Bundle.model_validate(raw).model_dump_json(exclude_none=True))
        assert again == raw


def test_spanish_request_leads_with_spanish_content(client, synced_catalogue):
    bundle = fhir.parse(bundle_for(client, **icd("C92.10", **{"informationRecipient.languageCode.c": "es"})).data)
    first = bundle.entry[0].resource
    assert first.description == "Leucemia mieloide crónica"
    assert [c.attachment.language for c in first.content] == ["es", "en"]


def test_accept_header_selects_fhir(client):
    r = client.get("/infobutton", query_string=icd("C91.00"), headers={"Accept": FHIR_JSON})
    assert r.mimetype == FHIR_JSON
    assert json.loads(r.data)["resourceType"] == "Bundle"


def test_no_match_is_an_empty_searchset(client):
    bundle = fhir.parse(bundle_for(client, **icd("Z99.89")).data)
    assert bundle.total == 0 and not bundle.entry


def test_errors_for_fhir_callers_are_operation_outcomes(client):
    r = client.get("/infobutton", query_string={"mainSearchCriteria.v.c": "C91.00", "knowledgeResponseType": FHIR_JSON})
    assert r.status_code == 400
    assert r.mimetype == FHIR_JSON
    outcome = OperationOutcome.model_validate_json(r.data)
    assert outcome.issue[0].severity == "error"
    assert outcome.issue[0].code == "invalid"
    assert outcome.issue[0].expression == ["mainSearchCriteria.v.cs"]


def test_free_text_criterion_is_the_category_text():
    from infobutton.models import Criterion, KnowledgeRequest, Topic, TopicMatch

    topic = Topic(id="leukemia", title="Leukemia", url="https://medlineplus.gov/leukemia.html", language="en")
    request = KnowledgeRequest(criteria=(Criterion(code=None, original_text="blood cancer"),))
    match = TopicMatch(topic, request.criteria[0], None, 100)
    bundle = fhir.bundle(request, [match])
    doc = bundle.entry[0].resource
    assert doc.category[0].text == "blood cancer"
    assert doc.context is None
    assert bundle.link is None and bundle.meta.lastUpdated.year == 1970  # no topic date: atom.UNDATED
    assert doc.content[0].attachment.language == "en" and len(doc.content) == 1


def test_self_link_is_the_canonical_request(client):
    params = {**icd("C91.00"), "unknownParameter": "someone else's", "age.v.v": "6"}
    first = fhir.parse(bundle_for(client, **params).data).link[0].url
    assert first.startswith("http://localhost/infobutton?")
    assert "unknownParameter" not in first
    query = dict(parse_qsl(urlsplit(first).query))
    assert query["mainSearchCriteria.v.c"] == "C91.00" and query["age.v.v"] == "6"
    assert query["knowledgeResponseType"] == FHIR_JSON
    assert query["informationRecipient.languageCode.c"] == "en"


# Where each answer came from, who wrote its text, and what its date means.


def documents(*matches):
    """The DocumentReferences of a Bundle read back from its JSON (a real round trip)."""
    body = fhir.serialise(fhir.bundle(cases.REQUEST, list(matches)))
    raw = json.loads(body)
    assert json.loads(Bundle.model_validate(raw).model_dump_json(exclude_none=True)) == raw
    return [e.resource for e in fhir.parse(body).entry]


def test_layer_is_a_meta_tag_and_reason_an_extension_for_every_layer():
    matches = [
        cases.match(
            cases.link_only(id=f"t{i}", url=f"https://medlineplus.gov/t{i}.html"), provenance, reason=f"because {i}"
        )
        for i, provenance in enumerate(Provenance)
    ]
    for i, (doc, provenance) in enumerate(zip(documents(*matches), Provenance, strict=True)):
        assert [(t.system, t.code) for t in doc.meta.tag] == [(fhir.PROVENANCE_SYSTEM, provenance.value)]
        assert doc.meta.tag[0].display
        assert [(e.url, e.valueString) for e in doc.extension] == [(fhir.REASON_EXTENSION, f"because {i}")]
        assert doc.description == doc.content[0].attachment.title  # the title, as before


def test_reason_is_kept_literally_and_escaped_in_json():
    evil = "matched '<script>alert(1)</script>'"
    body = fhir.serialise(fhir.bundle(cases.REQUEST, [cases.match(cases.link_only(), reason=evil)]))
    assert b"<script" not in body
    assert fhir.parse(body).entry[0].resource.extension[0].valueString == evil


def test_without_a_resolver_reason_the_extension_gives_the_layer_in_words():
    (doc,) = documents(cases.match(cases.link_only(), reason=""))
    assert [(e.url, e.valueString) for e in doc.extension] == [(fhir.REASON_EXTENSION, "Curated mapping")]
    assert doc.meta.tag[0].code == "curated"


def test_author_is_whoever_wrote_the_text_and_only_then():
    medlineplus, link, far = documents(
        cases.match(cases.medlineplus()),
        cases.match(cases.link_only()),
        cases.match(cases.upstream(), Provenance.UPSTREAM, "answered upstream"),
    )
    assert [a.display for a in medlineplus.author] == ["National Library of Medicine"]
    assert link.author is None  # link-only: no text, so no author claimed
    assert "National Library" not in link.model_dump_json()
    assert link.custodian.display == "MedlinePlus.gov"
    assert link.custodian.identifier.value == "https://medlineplus.gov"
    assert [a.display for a in far.author] == ["responder.example.org"]
    assert far.author[0].identifier.value == "https://responder.example.org"
    assert far.custodian.display == "health.example.org"  # where its page is


def test_date_is_the_date_the_topic_is_known_by_and_absent_when_nothing_dates_it():
    updated, reviewed, link_only, created_only = documents(
        cases.match(cases.medlineplus()),
        cases.match(
            cases.medlineplus(id="b", url="https://medlineplus.gov/b.html", date_updated="", date_reviewed="2023-01-01")
        ),
        cases.match(cases.link_only()),
        cases.match(cases.medlineplus(id="c", url="https://medlineplus.gov/c.html", date_updated="")),
    )
    assert updated.date.isoformat().startswith(cases.UPDATED)
    assert reviewed.date.isoformat().startswith("2023-01-01")
    assert link_only.date.isoformat().startswith(cases.CATALOGUED)  # its catalogue's date
    assert created_only.date is None  # never the creation date
