"""JSON and JSONP (SOA IG §4.4): the Atom feed mirrored for MedlinePlus Connect clients."""

import json
from datetime import datetime, timezone

import pytest
from werkzeug.datastructures import MultiDict

from infobutton import bundled, resolver
from infobutton.models import InvalidRequest
from infobutton.render import atom, json_feed
from infobutton.request import parse

from ..conftest import ICD10CM
from ..synced_topics import synced

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def feed_for(pairs):
    topics = {t.id: t for t in synced(bundled.load_topics())}
    request = parse(MultiDict(pairs).items(multi=True))
    return atom.build(request, resolver.resolve(request, resolver.index_rules(bundled.load_rules()),
                                                topics.get), NOW)


def test_medlineplus_client_paths_work():
    doc = json.loads(json_feed.serialise(feed_for(
        [("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)])))
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
    doc = json.loads(json_feed.serialise(feed_for(
        [("mainSearchCriteria.v.c", "J45.909"), ("mainSearchCriteria.v.cs", ICD10CM)])))
    assert doc["feed"]["entry"] == []
    assert len(doc["feed"]["category"]) == 2


def test_jsonp_wraps_with_a_valid_callback():
    feed = feed_for([("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)])
    body = json_feed.serialise_jsonp(feed, "app.handle_1").decode()
    assert body.startswith("/**/app.handle_1(") and body.endswith(");")
    assert json.loads(body[len("/**/app.handle_1("):-2])["feed"]["entry"]


@pytest.mark.parametrize("callback", [None, "", "alert(1)//", "a-b", "x;evil()", "1abc", "a" * 300,
                                      "<script>", "a..b"])
def test_bad_callbacks_are_refused(callback):
    with pytest.raises(InvalidRequest) as err:
        json_feed.check_callback(callback)
    assert err.value.parameter == "callback"


def test_line_separators_escaped_for_javascript():
    from lxml import etree

    el = etree.Element("feed")
    etree.SubElement(el, "title").text = "a\u2028b"
    assert "\u2028" not in json_feed.serialise(el).decode()
