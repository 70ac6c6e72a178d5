"""The public endpoints end to end through the Flask test client."""

import json

import pytest
from lxml import etree
from sqlalchemy import event

from infobutton.models import CodeSystem, MappingRule, Provenance, Scope
from infobutton.render import attribution, fhir

from ..conftest import icd, validate_if_schema

NS = {"a": "http://www.w3.org/2005/Atom"}
# Illness, unspecified: no topic answers it, so it stands for a valid code with no local answer.
UNANSWERED = "R69"


def titles(response):
    doc = etree.fromstring(response.data)
    return [e.findtext("a:title", namespaces=NS) for e in doc.findall("a:entry", NS)]


def test_c91_00_atom_end_to_end(client):
    r = client.get("/infobutton", query_string=icd("C91.00"))
    assert r.status_code == 200
    assert r.mimetype == "text/xml"
    validate_if_schema(etree.fromstring(r.data))
    assert titles(r)[0] == "Acute Lymphocytic Leukemia"


def test_child_gets_childhood_leukemia(client):
    r = client.get("/infobutton", query_string=icd("C91.00", **{"age.v.v": "6", "age.v.u": "a"}))
    assert titles(r) == ["Acute Lymphocytic Leukemia", "Childhood Leukemia", "Leukemia"]


@pytest.mark.parametrize("path", ["/infobutton", "/service"])
def test_get_and_post_answer_the_same(client, path, synced_catalogue):
    params = icd("C92.10", **{"informationRecipient.languageCode.c": "es"})
    got = client.get(path, query_string=params)
    posted = client.post(path, data=params)
    assert got.status_code == posted.status_code == 200
    assert titles(got) == titles(posted) == ["Leucemia mieloide crónica", "Leucemia"]


@pytest.mark.parametrize(
    "response_type,mimetype",
    [
        ("text/xml", "text/xml"),
        ("text/XML", "text/xml"),
        ("application/atom+xml", "text/xml"),
        ("application/json", "application/json"),
        ("APPLICATION/JSON", "application/json"),
    ],
)
def test_knowledge_response_type(client, response_type, mimetype):
    r = client.get("/infobutton", query_string=icd("C91.00", knowledgeResponseType=response_type))
    assert r.status_code == 200 and r.mimetype == mimetype


def test_accept_header_negotiates_and_parameter_wins(client):
    r = client.get("/infobutton", query_string=icd("C91.00"), headers={"Accept": "application/json"})
    assert r.mimetype == "application/json"
    assert r.json["feed"]["entry"][0]["title"]["_value"] == "Acute Lymphocytic Leukemia"
    r = client.get(
        "/infobutton",
        query_string=icd("C91.00", knowledgeResponseType="text/xml"),
        headers={"Accept": "application/json"},
    )
    assert r.mimetype == "text/xml"
    assert client.get("/infobutton", query_string=icd("C91.00"), headers={"Accept": "*/*"}).mimetype == "text/xml"


def test_jsonp(client):
    r = client.get(
        "/infobutton", query_string=icd("C91.00", knowledgeResponseType="text/javascript", callback="handle")
    )
    assert r.status_code == 200 and r.mimetype == "application/javascript"
    assert r.data.startswith(b"/**/handle(")


def test_jsonp_bad_callback_is_400_and_not_echoed(client):
    evil = "alert(document.cookie)//"
    r = client.get(
        "/infobutton", query_string=icd("C91.00", knowledgeResponseType="application/javascript", callback=evil)
    )
    assert r.status_code == 400
    assert r.mimetype == "application/problem+json"
    assert r.json["parameter"] == "callback"
    assert evil.encode() not in r.data


def test_no_match_is_200_with_no_entries(client):
    r = client.get("/infobutton", query_string=icd(UNANSWERED, knowledgeResponseType="application/json"))
    assert r.status_code == 200 and r.json["feed"]["entry"] == []


@pytest.mark.parametrize(
    "params,parameter",
    [
        ({}, "mainSearchCriteria.v.c"),
        ({"mainSearchCriteria.v.c": "C91.00"}, "mainSearchCriteria.v.cs"),
        (icd("C91.00", **{"age.v.v": "old"}), "age.v.v"),
        (icd("C91.00", knowledgeResponseType="application/pdf"), "knowledgeResponseType"),
        (icd("C91.00", **{"mainSearchCriteria.v.dn": "x" * 5000}), "mainSearchCriteria.v.dn"),
    ],
)
def test_errors_name_the_parameter_in_the_callers_format(client, params, parameter):
    as_json = client.get("/infobutton", query_string=params, headers={"Accept": "application/json"})
    assert 400 <= as_json.status_code < 500
    assert as_json.mimetype == "application/problem+json"
    assert as_json.json["parameter"] == parameter and as_json.json["detail"]
    as_xml = client.get("/infobutton", query_string=params)
    assert 400 <= as_xml.status_code < 500
    assert as_xml.mimetype == "application/problem+xml"
    doc = etree.fromstring(as_xml.data)
    assert doc.findtext("{urn:ietf:rfc:7807}parameter") == parameter


def test_oversize_url_and_body(client):
    r = client.get("/infobutton?" + "&".join(f"p{i}=" + "x" * 100 for i in range(100)))
    assert r.status_code == 414
    r = client.post("/infobutton", data={"mainSearchCriteria.v.ot": "x" * 100_000})
    assert r.status_code == 413


def test_garbage_never_500(client):
    for qs in [
        "mainSearchCriteria.v.c=%ff%fe&mainSearchCriteria.v.cs=%00",
        "mainSearchCriteria.v.c=C91.00&mainSearchCriteria.v.cs=2.16.840.1.113883.6.90&age.v.v=1e400",
        "mainSearchCriteria.v.c99999=1",
        "mainSearchCriteria.v.ot=%00%01",
        "knowledgeResponseType=&mainSearchCriteria.v.ot=x",
        "callback=%3Cscript%3E&mainSearchCriteria.v.ot=x",
    ]:
        r = client.get("/infobutton?" + qs)
        assert r.status_code < 500, (qs, r.data)
    assert client.put("/infobutton").status_code == 405
    assert client.get("/nope").status_code == 404


def test_etag_and_conditional_get(client):
    params = icd("C91.00")
    first = client.get("/infobutton", query_string=params)
    etag = first.headers["ETag"]
    assert etag and "max-age=" in first.headers["Cache-Control"]
    again = client.get("/infobutton", query_string=params, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    other = client.get("/infobutton", query_string=params, headers={"If-None-Match": '"other"'})
    assert other.status_code == 200


def test_answers_carry_their_cache_headers_and_304s_keep_them(client):
    params = icd("C91.00")
    first = client.get("/infobutton", query_string=params)
    assert first.headers["Cache-Control"] == "private, max-age=3600"
    assert first.headers["Vary"] == "Accept" and first.headers["X-Content-Type-Options"] == "nosniff"
    etag = first.headers["ETag"]
    for matching in (etag, "W/" + etag, f'"other", {etag}', "*"):
        again = client.get("/infobutton", query_string=params, headers={"If-None-Match": matching})
        assert again.status_code == 304 and not again.data, matching
        assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == first.headers["Cache-Control"]
        assert again.headers["Vary"] == "Accept"


def test_head_answers_like_get_without_a_body(client):
    params = icd("C91.00")
    got = client.get("/infobutton", query_string=params)
    head = client.head("/infobutton", query_string=params)
    assert head.status_code == 200 and not head.data
    assert head.headers["ETag"] == got.headers["ETag"] and head.headers["Content-Type"] == got.headers["Content-Type"]
    assert head.headers["Content-Length"] == str(len(got.data))
    conditional = client.head("/infobutton", query_string=params, headers={"If-None-Match": got.headers["ETag"]})
    assert conditional.status_code == 304


def test_a_post_is_answered_in_full_whatever_its_if_none_match(client):
    """RFC 9110 §13.1.2: a 304 answers GET and HEAD only."""
    etag = client.post("/infobutton", data=icd("C91.00")).headers["ETag"]
    again = client.post("/infobutton", data=icd("C91.00"), headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.data and again.headers["ETag"] == etag


def test_the_etag_differs_per_format_and_callback(client):
    etags = {
        client.get("/infobutton", query_string=icd("C91.00", **extra)).headers["ETag"]
        for extra in (
            {},
            {"knowledgeResponseType": "application/json"},
            {"knowledgeResponseType": "application/javascript", "callback": "a"},
            {"knowledgeResponseType": "application/javascript", "callback": "b"},
        )
    }
    assert len(etags) == 4


def test_a_committed_mapping_change_is_served_at_once(client, services):
    before = client.get("/infobutton", query_string=icd(UNANSWERED, knowledgeResponseType="application/json"))
    assert before.json["feed"]["entry"] == []
    services.mappings.insert(MappingRule(CodeSystem.ICD10CM, "R69", "leukemia", Scope.DESCENDANTS))
    after = client.get("/infobutton", query_string=icd(UNANSWERED, knowledgeResponseType="application/json"))
    assert [e["title"]["_value"] for e in after.json["feed"]["entry"]] == ["Leukemia"]
    assert before.headers["ETag"] != after.headers["ETag"]


def test_a_second_app_on_the_same_database_sees_changes(settings):
    from infobutton import create_app

    one, two = create_app(settings), create_app(settings)
    c2 = two.test_client()
    q = icd(UNANSWERED, knowledgeResponseType="application/json")
    assert c2.get("/infobutton", query_string=q).json["feed"]["entry"] == []
    one.extensions["infobutton"].mappings.insert(MappingRule(CodeSystem.ICD10CM, UNANSWERED, "leukemia"))
    assert len(c2.get("/infobutton", query_string=q).json["feed"]["entry"]) == 1
    one.extensions["infobutton"].close()
    two.extensions["infobutton"].close()


def test_healthz_is_liveness_and_asks_the_database_nothing(client, services):
    statements = []
    event.listen(services.db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for _ in range(3):
        r = client.get("/healthz")
        assert r.status_code == 200 and r.json == {"status": "ok"}
    assert statements == []


def test_json_is_utf8_not_escaped(client, synced_catalogue):
    r = client.get(
        "/infobutton",
        query_string=icd(
            "C91.00", knowledgeResponseType="application/json", **{"informationRecipient.languageCode.c": "es"}
        ),
    )
    assert "Leucemia linfocítica aguda".encode() in r.data  # UTF-8, not \\u escapes
    json.loads(r.data)


def test_every_surface_says_where_each_answer_came_from(client):
    """End to end, whatever the catalogue holds: each topic carries its layer on every format."""
    layers = {p.value for p in Provenance}
    atom_feed = etree.fromstring(client.get("/infobutton", query_string=icd("C91.00")).data)
    atom_entries = atom_feed.findall("a:entry", NS)
    assert atom_entries and all(e.findtext("a:source", namespaces=NS) in layers for e in atom_entries)
    for entry in atom_entries:  # why: a category, never the summary (the topic's content)
        assert [c for c in entry.findall("a:category", NS) if c.get("scheme") == "strengthOfRecommedation"]
        assert "infobuttonReason" not in entry.findtext("a:summary", namespaces=NS)
    assert atom_feed.findtext("a:author/a:name", namespaces=NS) == attribution.SERVICE_NAME
    assert atom_feed.findtext("a:author/a:uri", namespaces=NS) == "http://localhost/"
    for kind in ("application/json", "application/javascript"):
        body = client.get(
            "/infobutton", query_string=icd("C91.00", knowledgeResponseType=kind, callback="cb")
        ).get_data(as_text=True)
        entries = json.loads(body.removeprefix("/**/cb(").removesuffix(");"))["feed"]["entry"]
        assert [e["source"]["_value"] for e in entries] == [e.findtext("a:source", namespaces=NS) for e in atom_entries]
    bundle = fhir.parse(
        client.get("/infobutton", query_string=icd("C91.00", knowledgeResponseType="application/fhir+json")).data
    )
    assert [e.resource.meta.tag[0].code for e in bundle.entry] == [
        e.findtext("a:source", namespaces=NS) for e in atom_entries
    ]
    page = client.get("/application", query_string=icd("C91.00")).get_data(as_text=True)
    assert page.count('<p class="shown-for">') == len(atom_entries)


# -- the cheaper spellings of werkzeug's request values --------------------------------------


URL_CASES = [
    ("http", "127.0.0.1:8080", "", "/infobutton", b"mainSearchCriteria.v.c=C91.00&knowledgeResponseType=text/xml"),
    ("https", "info.example.org", "/ib", "/infobutton", b"a=1&b=x/y?z"),
    ("http", "localhost:65535", "/", "/service", b""),
    ("http", "localhost:65536", "", "/infobutton", b"a=1"),  # no such port: werkzeug's answer
    ("http", "localhost:080", "", "/infobutton", b"a=1"),
    ("http", "INFO.example.org", "", "/infobutton", b"a=1"),  # upper case: werkzeug lowers it
    ("http", "xn--n3h.net", "", "/infobutton", b"a=1"),  # IDNA: werkzeug decodes it
    ("http", "[::1]:8080", "", "/infobutton", b"a=1"),
    ("http", "a..b", "", "/infobutton", b"a=1"),
    ("http", "host", "/mount/", "//infobutton", b"a=%20b&c=%C3%A9&d=%23"),
    ("http", "host", "", "/p%C3%A5th", b"a=1"),
    ("http", "host", "", "/infobutton", b"q=caf\xc3\xa9 au lait#frag"),
    ("http", "host", "", "/infobutton", b"q=a+b&r='x'&s=(1)*~!$,;:@"),
    ("http", "host", "", "/sp ace", b"q=\x7f"),
]


@pytest.mark.parametrize("scheme,host,root,path,query", URL_CASES)
def test_request_url_is_werkzeugs_url(app, scheme, host, root, path, query):
    """The FHIR Bundle's self link starts from ``current_url``: the same text as ``Request.url``,
    whatever the host, mount point, path and query string."""
    from werkzeug.wrappers import Request

    from infobutton.answering.links import current_url

    environ = {
        "wsgi.url_scheme": scheme,
        "HTTP_HOST": host,
        "SCRIPT_NAME": root,
        "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REQUEST_METHOD": "GET",
    }
    req = Request(environ)
    assert current_url(req.scheme, req.host, req.root_path, req.path, req.query_string) == req.url


def test_an_empty_if_none_match_is_no_conditional_request(client):
    """Only a non-empty If-None-Match makes the answer conditional (no Date header added, 200)."""
    plain = client.get("/infobutton", query_string=icd("C91.00"))
    empty = client.get("/infobutton", query_string=icd("C91.00"), headers={"If-None-Match": ""})
    assert empty.status_code == 200 and empty.data == plain.data
    assert sorted(empty.headers.keys()) == sorted(plain.headers.keys())


def test_each_accept_header_gets_its_own_format(client):
    """Formats chosen by Accept are kept per header value: different values never share one."""
    seen = {}
    for _ in range(2):
        for accept in ("application/json", "text/html", "application/fhir+json", "text/html;q=0.1, */*", None):
            headers = {"Accept": accept} if accept else {}
            answer = client.get("/infobutton", query_string=icd("C91.00"), headers=headers)
            seen.setdefault(accept, set()).add(answer.mimetype)
    assert seen == {
        "application/json": {"application/json"},
        "text/html": {"text/html"},
        "application/fhir+json": {"application/fhir+json"},
        "text/html;q=0.1, */*": {"text/xml"},
        None: {"text/xml"},
    }
