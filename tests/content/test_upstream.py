"""Federation against a real HTTP server on 127.0.0.1 standing in for MedlinePlus Connect:
answers parsed (JSON and Atom), merged, cached with a TTL, rate limited, a circuit breaker and
stale-if-error; unmapped codes only, and EHRs never see an upstream failure."""

import json

import pytest
from werkzeug.datastructures import MultiDict

from infobutton import create_app
from infobutton.content.upstream import (
    CircuitBreaker,
    RateLimiter,
    UpstreamResponder,
    parse_atom,
    parse_json,
    source_label,
)
from infobutton.models import Code, CodeSystem, Provenance
from infobutton.request import parse
from tests.conftest import icd
from tests.content.http_fixture import Reply, Upstream

from ..conftest import Clock

ASTHMA = Code(CodeSystem.ICD10CM, "J45.909")


def connect_json(*entries: tuple[str, str, str]) -> bytes:
    """A MedlinePlus Connect style JSON answer: (title, url, summary html) per entry."""
    return json.dumps(
        {
            "feed": {
                "lang": "en",
                "entry": [
                    {
                        "lang": "en",
                        "title": {"_value": t, "type": "text"},
                        "link": [{"href": u, "rel": "alternate"}],
                        "summary": {"_value": s, "type": "html"},
                    }
                    for t, u, s in entries
                ],
            }
        }
    ).encode()


ATOM_ANSWER = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="es">
  <title>MedlinePlus Connect</title>
  <entry><title>Asma</title>
    <link href="https://medlineplus.gov/spanish/asthma.html" rel="alternate"/>
    <summary type="html">&lt;p&gt;El asma.&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;</summary></entry>
</feed>"""

ASTHMA_JSON = connect_json(
    ("Asthma", "https://medlineplus.gov/asthma.html", "<p>Asthma affects the airways.</p><script>steal()</script>")
)


@pytest.fixture
def upstream():
    with Upstream() as server:
        yield server


def responder(url, clock=None, **options):
    return UpstreamResponder(url, timer=clock or Clock(), **{"timeout": 10.0, **options})


def test_json_and_atom_answers_are_parsed_and_sanitised():
    (topic,) = parse_json(ASTHMA_JSON, "en")
    assert (topic.id, topic.title, topic.url) == ("asthma", "Asthma", "https://medlineplus.gov/asthma.html")
    assert "script" not in topic.summary_html and "airways" in topic.summary_html
    (spanish,) = parse_atom(ATOM_ANSWER, "en")
    assert (spanish.id, spanish.language) == ("asthma-es", "es")
    assert "script" not in spanish.summary_html


def test_entries_without_a_usable_link_are_dropped_and_look_alike_hosts_are_not_medlineplus():
    topics = parse_json(
        connect_json(
            ("Broken", "https://[medlineplus.gov/asthma.html", "<p>x</p>"),  # urlsplit raises on this
            ("Not the web", "ftp://medlineplus.gov/asthma.html", "<p>x</p>"),
            ("Look-alike", "https://medlineplus.gov.example.net/asthma.html", "<p>x</p>"),
            ("Asthma", "https://www.medlineplus.gov/asthma.html", "<p>x</p>"),
        ),
        "en",
    )
    assert [t.title for t in topics] == ["Look-alike", "Asthma"]
    assert topics[0].id.startswith("upstream-")  # never merged with the local "asthma" topic
    assert topics[1].id == "asthma"


def test_upstream_topics_are_labelled_with_the_upstreams_host(upstream):
    assert source_label("https://connect.medlineplus.gov/service?x=1") == "upstream:connect.medlineplus.gov"
    assert parse_json(ASTHMA_JSON, "en", "upstream:a.example")[0].source == "upstream:a.example"
    assert parse_atom(ATOM_ANSWER, "en", "upstream:b.example")[0].source == "upstream:b.example"
    url = upstream.route("/connect", Reply(200, ASTHMA_JSON))
    assert url.startswith("http://127.0.0.1:")
    (topic,) = responder(url)(ASTHMA, "en", 3)
    assert topic.source == "upstream:127.0.0.1"  # the responder asked, not the topic URL's host


def test_answer_is_cached_for_the_ttl_then_revalidated_with_304(upstream):
    url = upstream.route("/connect", Reply(200, ASTHMA_JSON, etag='"a1"'))
    clock = Clock()
    ask = responder(url, clock, ttl=3600)
    assert [t.id for t in ask(ASTHMA, "en", 3)] == ["asthma"]
    query = upstream.requests[0][0]
    assert "mainSearchCriteria.v.c=J45.909" in query and "2.16.840.1.113883.6.90" in query
    ask(ASTHMA, "en", 3)
    assert ask.calls == 1  # fresh: served from the cache
    clock.now += 3601
    upstream.route("/connect", Reply(200, b"{}", etag='"a1"'))  # 304 when the ETag matches
    assert [t.id for t in ask(ASTHMA, "en", 3)] == ["asthma"]
    assert ask.calls == 2 and upstream.hits("/connect")[1]["If-None-Match"] == '"a1"'
    ask(ASTHMA, "en", 3)
    assert ask.calls == 2  # the 304 made the entry fresh again


def test_stale_answer_is_served_when_upstream_fails(upstream):
    url = upstream.route("/connect", Reply(200, ASTHMA_JSON))
    clock = Clock()
    ask = responder(url, clock, ttl=60, timeout=2.0)
    ask(ASTHMA, "en", 3)
    clock.now += 61
    upstream.route("/connect", Reply(500, b"down"))
    assert [t.id for t in ask(ASTHMA, "en", 3)] == ["asthma"]
    upstream.route("/connect", Reply(200, ASTHMA_JSON, delay=5.0))  # slower than the timeout
    assert [t.id for t in ask(ASTHMA, "en", 3)] == ["asthma"]
    upstream.route("/connect", Reply(200, b"<html>not a feed"))
    assert [t.id for t in ask(ASTHMA, "en", 3)] == ["asthma"]


def test_circuit_breaker_opens_after_failures_and_half_opens_later(upstream):
    url = upstream.route("/connect", Reply(500, b"down"))
    clock = Clock()
    ask = responder(url, clock, failure_threshold=2, reset_after=30)
    assert ask(ASTHMA, "en", 3) == [] and ask(ASTHMA, "en", 3) == []
    assert ask.breaker.state == "open" and ask.calls == 2
    ask(ASTHMA, "en", 3)
    assert ask.calls == 2  # open: no call
    clock.now += 31
    upstream.route("/connect", Reply(200, ASTHMA_JSON))
    assert [t.id for t in ask(ASTHMA, "en", 3)] == ["asthma"]
    assert ask.breaker.state == "closed" and ask.calls == 3


def test_rate_limit_refuses_without_waiting(upstream):
    url = upstream.route("/connect", Reply(200, connect_json()))
    clock = Clock()
    ask = responder(url, clock, rate_per_minute=3, ttl=0)
    for _ in range(5):
        ask(ASTHMA, "en", 3)
    assert ask.calls == 3
    clock.now += 60
    ask(ASTHMA, "en", 3)
    assert ask.calls == 4


def test_rate_limiter_and_breaker_units():
    clock = Clock()
    limiter = RateLimiter(2, 60, clock)
    assert [limiter.allow() for _ in range(3)] == [True, True, False]
    clock.now += 60
    assert limiter.allow()
    breaker = CircuitBreaker(1, 10, clock)
    breaker.failure()
    assert not breaker.allow()
    clock.now += 10
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.failure()
    assert breaker.state == "open"


def test_upstream_topics_the_catalogue_holds_are_served_locally(upstream, tmp_path):
    url = upstream.route(
        "/connect",
        Reply(200, connect_json(("Leukemia", "https://medlineplus.gov/leukemia.html", "<p>Upstream text</p>"))),
    )
    app = create_app({"data_dir": str(tmp_path), "upstream_url": url, "version_check_interval": 0.0})
    try:
        knowledge = app.extensions["infobutton"].knowledge
        # R69 Illness, unspecified: no local topic answers it, so the upstream is asked
        (match,) = knowledge.resolve(parse(MultiDict(icd("R69")).items(multi=True)))
        assert match.provenance is Provenance.UPSTREAM and upstream.hits("/connect")
        topic = match.topic
        assert topic.summary_html != "<p>Upstream text</p>" and topic.meta_desc  # the local topic
        assert topic.source == "medlineplus"
    finally:
        app.extensions["infobutton"].close()


def test_through_the_endpoint_unmapped_codes_ask_upstream_mapped_codes_do_not(upstream, tmp_path):
    url = upstream.route("/connect", Reply(200, ASTHMA_JSON))
    app = create_app(
        {"data_dir": str(tmp_path), "upstream_url": url, "upstream_timeout": 10.0, "version_check_interval": 0.0}
    )
    client = app.test_client()
    try:
        mapped = client.get("/infobutton", query_string=icd("C95.90"))
        assert mapped.status_code == 200 and b"leukemia.html" in mapped.data
        assert upstream.requests == []  # local answers never wait on the upstream
        # R69 Illness, unspecified: no local topic answers it (asthma codes are answered here now)
        answer = client.get("/infobutton", query_string=icd("R69", knowledgeResponseType="application/json"))
        assert answer.status_code == 200
        assert [e["title"]["_value"] for e in answer.json["feed"]["entry"]] == ["Asthma"]
        assert "steal" not in answer.get_data(as_text=True)
        assert len(upstream.requests) == 1
    finally:
        app.extensions["infobutton"].close()


def test_through_the_endpoint_upstream_failures_are_never_errors(upstream, tmp_path):
    url = upstream.route("/connect", Reply(500, b"down"))
    app = create_app(
        {
            "data_dir": str(tmp_path),
            "upstream_url": url,
            "upstream_timeout": 2.0,
            "version_check_interval": 0.0,
            "cache_ttl": 0.0,
        }
    )
    client = app.test_client()
    try:
        # codes no local topic answers: R69, R68.89 (other general symptoms), R99 (unknown cause)
        assert client.get("/infobutton", query_string=icd("R69")).status_code == 200
        upstream.route("/connect", Reply(200, ASTHMA_JSON, delay=5.0))
        assert client.get("/infobutton", query_string=icd("R68.89")).status_code == 200
        upstream.route("/connect", Reply(200, connect_json(("Broken", "https://[bad/x.html", "<p>x</p>"))))
        assert client.get("/infobutton", query_string=icd("R99")).status_code == 200
        assert len(upstream.hits("/connect")) == 3  # each was asked: none served from a cache or a breaker
    finally:
        app.extensions["infobutton"].close()
