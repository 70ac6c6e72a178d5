"""JSON and JSONP (SOA IG §4.4): the Atom feed mirrored for MedlinePlus Connect clients."""

import json
from dataclasses import replace

import pytest
from werkzeug.datastructures import MultiDict

from infobutton import bundled, resolver
from infobutton.models import InvalidRequest, Provenance
from infobutton.render import FORMATS, RenderContext, atom, attribution, json_feed
from infobutton.request import parse

from ..conftest import ICD10CM
from ..synced_topics import synced
from . import cases


def feed_for(pairs):
    topics = {t.id: t for t in synced(bundled.load_topics())}
    request = parse(MultiDict(pairs).items(multi=True))
    return atom.feed(request, resolver.resolve(request, resolver.index_rules(bundled.load_rules()), topics.get))


def test_medlineplus_client_paths_work():
    doc = json.loads(
        json_feed.serialise(feed_for([("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)]))
    )
    feed = doc["feed"]
    assert feed["entry"][0]["title"]["_value"] == "Acute Lymphocytic Leukemia"
    assert feed["entry"][0]["link"][0]["href"] == "https://medlineplus.gov/acutelymphocyticleukemia.html"
    assert feed["entry"][0]["summary"]["_value"].startswith("<p>")
    assert feed["entry"][0]["summary"]["type"] == "html"
    assert feed["lang"] == "en" and feed["entry"][0]["lang"] == "en"
    assert feed["subtitle"]["_value"] == "Health topic results for ICD-10-CM C91.00"
    assert isinstance(feed["category"], list) and isinstance(feed["entry"][0]["link"], list)
    assert feed["id"]["_value"].startswith("urn:uuid:")


def test_arrays_even_when_single_or_empty():
    doc = json.loads(
        json_feed.serialise(feed_for([("mainSearchCriteria.v.c", "J45.909"), ("mainSearchCriteria.v.cs", ICD10CM)]))
    )
    assert doc["feed"]["entry"] == []
    assert len(doc["feed"]["category"]) == 2


def test_jsonp_wraps_with_a_valid_callback():
    feed = feed_for([("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)])
    body = json_feed.serialise_jsonp(feed, json_feed.check_callback("handle_1")).decode()
    assert body.startswith("/**/handle_1(") and body.endswith(");")
    assert json.loads(body[len("/**/handle_1(") : -2])["feed"]["entry"]


@pytest.mark.parametrize(
    "callback",
    ["alert(1)//", "a-b", "x;evil()", "1abc", "a" * 300, "<script>", "a..b", "app.handle", "document.body.remove"]
    + ["cb\n"],
)
def test_bad_callbacks_are_refused(callback):
    with pytest.raises(InvalidRequest) as err:
        json_feed.check_callback(callback)
    assert err.value.parameter == "callback"


def test_line_separators_escaped_for_javascript():
    feed = atom.Node("feed")
    feed.children.append(atom.Node("title", "a\u2028b"))
    assert "\u2028" not in json_feed.serialise(feed).decode()


# The same provenance, reason and attribution as the Atom feed, where MedlinePlus clients look.


def provenance_feed():
    return atom.feed(
        cases.REQUEST,
        [
            cases.match(cases.medlineplus()),
            cases.match(cases.link_only(), Provenance.AUTOMATIC, "matched the ICD-10-CM title 'Leukemia'"),
            cases.match(cases.upstream(), Provenance.UPSTREAM, "answered by responder.example.org"),
        ],
        "https://ib.example.org/",
    )


def check_provenance_document(doc):
    feed = doc["feed"]
    assert [e["source"] for e in feed["entry"]] == [
        {"type": "text", "_value": "curated"},
        {"type": "text", "_value": "automatic"},
        {"type": "text", "_value": "upstream"},
    ]
    assert feed["entry"][0]["title"]["_value"] == "Acute Lymphocytic Leukemia"  # MedlinePlus clients
    assert feed["author"]["name"]["_value"] == attribution.SERVICE_NAME
    medlineplus, link, far = (e["summary"]["_value"] for e in feed["entry"])
    assert f'<p class="NLMattribution">{cases.NLM_EN}</p>' in medlineplus
    assert "Why this topic: Curated mapping \u2014 curated rule for C91 and below" in medlineplus
    assert feed["entry"][0]["author"]["name"]["_value"] == "National Library of Medicine"
    assert "NLMattribution" not in link and "Links to the MedlinePlus.gov page" in link
    assert "author" not in feed["entry"][1]
    assert "Summary from responder.example.org" in far
    assert feed["entry"][2]["author"]["name"]["_value"] == "responder.example.org"


def test_json_entries_carry_source_reason_and_honest_attribution():
    check_provenance_document(json.loads(json_feed.serialise(provenance_feed())))


def test_jsonp_entries_carry_the_same():
    body = json_feed.serialise_jsonp(provenance_feed(), "handle").decode()
    check_provenance_document(json.loads(body[len("/**/handle(") : -2]))


def test_untrusted_reason_never_reaches_json_as_markup():
    evil = "</script><script>alert(1)</script>"
    feed = atom.feed(cases.REQUEST, [cases.match(cases.link_only(title=evil), reason=evil)])
    for body in (json_feed.serialise(feed), json_feed.serialise_jsonp(feed, "cb")):
        assert b"<" not in body and b">" not in body
        entry = json.loads(body.decode().removeprefix("/**/cb(").removesuffix(");"))["feed"]["entry"][0]
        assert "&lt;/script&gt;&lt;script&gt;" in entry["summary"]["_value"]
        assert entry["title"]["_value"] == evil


@pytest.mark.parametrize("callback", [None, ""])
def test_no_callback_calls_the_default_function(callback):
    assert json_feed.check_callback(callback) == json_feed.DEFAULT_CALLBACK == "None"


def test_jsonp_without_the_guard_starts_with_the_function():
    feed = atom.feed(cases.REQUEST, [])
    assert json_feed.serialise_jsonp(feed, "cb").startswith(b"/**/cb(")
    assert json_feed.serialise_jsonp(feed, "cb", guard=False).startswith(b"cb(")


# The JSON is made from the same tree as the Atom feed, not from the XML: hold it to the XML.
MIRRORED = {
    "leukemia": [("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)],
    "child, Spanish": [
        ("mainSearchCriteria.v.c", "C91.00"),
        ("mainSearchCriteria.v.cs", ICD10CM),
        ("age.v.v", "6"),
        ("age.v.u", "a"),
        ("informationRecipient.languageCode.c", "es"),
    ],
    "professional": [
        ("mainSearchCriteria.v.c", "C92.00"),
        ("mainSearchCriteria.v.cs", ICD10CM),
        ("informationRecipient", "PROV"),
    ],
    "two codes and a subtopic": [
        ("mainSearchCriteria.v.c", "C91.00"),
        ("mainSearchCriteria.v.cs", ICD10CM),
        ("mainSearchCriteria.v.c", "E11.9"),
        ("mainSearchCriteria.v.cs", ICD10CM),
        ("subTopic.v.c", "Q000628"),
    ],
    "nothing found": [("mainSearchCriteria.v.c", "A01.09"), ("mainSearchCriteria.v.cs", ICD10CM)],
    "words": [("mainSearchCriteria.v.ot", "leukemia in children")],
}


def mirrored_answers():
    topics = {t.id: t for t in synced(bundled.load_topics())}
    rules = resolver.index_rules(bundled.load_rules())
    for name, pairs in MIRRORED.items():
        request = parse(MultiDict(pairs).items(multi=True))
        yield name, request, resolver.resolve(request, rules, topics.get)
    subtopic = parse(MultiDict([*MIRRORED["leukemia"], ("subTopic.v.c", "Q000175")]).items(multi=True))
    yield "section links", subtopic, [cases.match(cases.sectioned())]
    yield (
        "every origin",
        cases.REQUEST,
        [
            cases.match(cases.medlineplus()),
            cases.match(cases.link_only(), Provenance.AUTOMATIC, "matched the title <Leukemia> & more"),
            cases.match(cases.upstream(), Provenance.UPSTREAM, "answered by responder.example.org"),
        ],
    )


@pytest.mark.parametrize("name, request_, matches", [pytest.param(*a, id=a[0]) for a in mirrored_answers()])
def test_json_and_jsonp_mirror_the_atom_xml(name, request_, matches):
    ctx = RenderContext(base_url="https://ib.example.org/")
    expected = cases.atom_document_as_json(FORMATS["atom"].render(request_, matches, ctx))
    assert expected["feed"]["entry"] or name in ("nothing found", "words")
    assert json.loads(FORMATS["json"].render(request_, matches, ctx)) == expected
    jsonp = FORMATS["jsonp"].render(replace(request_, callback="cb"), matches, ctx).decode()
    assert json.loads(jsonp.removeprefix("/**/cb(").removesuffix(");")) == expected
