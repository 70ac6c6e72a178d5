"""The click page over HTTP: /application, Accept: text/html, the demo page, headers, errors."""

from urllib.parse import parse_qsl, urlsplit

import pytest
from lxml import html as lxml_html

from ..conftest import icd

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def titles(r):
    return [a.text for a in lxml_html.fromstring(r.data).findall(".//article/h2/a")]


def assert_page_headers(r):
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "style-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert csp.endswith("; frame-ancestors 'self'")  # no EHR origin configured: framed by no one else
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"


def test_application_path_is_the_click_page(client):
    r = client.get("/application", query_string=icd("C91.00"))
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert titles(r) == ["Acute Lymphocytic Leukemia", "Leukemia"]
    assert_page_headers(r)


def test_application_is_html_whatever_type_is_asked(client):
    r = client.get(
        "/application",
        query_string=icd("C91.00", knowledgeResponseType="application/json"),
        headers={"Accept": "application/json"},
    )
    assert r.mimetype == "text/html"


def test_application_post(client, synced_catalogue):
    r = client.post("/application", data=icd("C92.10", **{"informationRecipient.languageCode.c": "es"}))
    assert r.status_code == 200
    assert titles(r) == ["Leucemia mieloide crónica", "Leucemia"]
    assert lxml_html.fromstring(r.data).get("lang") == "es"


def test_browser_accept_gets_the_page_and_star_still_gets_atom(client):
    r = client.get("/infobutton", query_string=icd("C91.00"), headers={"Accept": BROWSER_ACCEPT})
    assert r.mimetype == "text/html"
    assert_page_headers(r)
    assert client.get("/infobutton", query_string=icd("C91.00"), headers={"Accept": "*/*"}).mimetype == "text/xml"
    assert client.get("/infobutton", query_string=icd("C91.00")).mimetype == "text/xml"
    r = client.get("/infobutton", query_string=icd("C91.00", knowledgeResponseType="text/html"))
    assert r.mimetype == "text/html"


def test_language_switch_link_round_trips(client, synced_catalogue):
    r = client.get("/application", query_string=icd("C91.00", **{"age.v.v": "6", "age.v.u": "a"}))
    assert titles(r) == ["Acute Lymphocytic Leukemia", "Childhood Leukemia", "Leukemia"]
    href = lxml_html.fromstring(r.data).find(".//nav[@class='language-switch']/a").get("href")
    es = client.get("/application" + href)
    assert lxml_html.fromstring(es.data).get("lang") == "es"
    assert titles(es) == ["Leucemia linfocítica aguda", "Leucemia infantil", "Leucemia"]  # age kept
    back = lxml_html.fromstring(es.data).find(".//nav[@class='language-switch']/a").get("href")
    assert titles(client.get("/application" + back)) == titles(r)


def test_no_match_page_search_box_submits_to_application(client):
    r = client.get("/application", query_string=icd("Z99.89"))
    assert r.status_code == 200
    page = lxml_html.fromstring(r.data)
    form = page.find(".//form[@role='search']")
    assert urlsplit(form.get("action")).path == "/application"
    assert form.get("method") == "get"
    names = [i.get("name") for i in form.findall(".//input")]
    assert names == ["mainSearchCriteria.v.ot", "informationRecipient.languageCode.c"]


def test_errors_on_pages_are_pages_with_the_headers(client):
    r = client.get("/application", query_string={"mainSearchCriteria.v.c": "C91.00"})
    assert r.status_code == 400 and r.mimetype == "text/html"
    assert b"code system" in r.data
    assert_page_headers(r)
    r = client.get(
        "/application",
        query_string={
            "mainSearchCriteria.v.c": "C91.00",
            "age.v.v": "old",
            "mainSearchCriteria.v.cs": "2.16.840.1.113883.6.90",
        },
    )
    assert r.status_code == 400 and b"<code>age.v.v</code>" in r.data  # the page names the parameter
    assert b'href="/static/page.css"' in r.data


def test_demo_page(client, synced_catalogue):
    r = client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert_page_headers(r)
    page = lxml_html.fromstring(r.data)
    form = page.find(".//form")
    assert urlsplit(form.get("action")).path == "/application"
    fields = {e.get("name"): e for e in form.iter("input", "select")}
    query = {
        "mainSearchCriteria.v.c": fields["mainSearchCriteria.v.c"].get("value"),
        "mainSearchCriteria.v.cs": fields["mainSearchCriteria.v.cs"].find("option").get("value"),
        "informationRecipient.languageCode.c": "es",
        "age.v.v": "",
    }
    assert titles(client.get("/application", query_string=query))[0] == "Leucemia linfocítica aguda"
    for a in page.findall(".//section//a"):
        href = a.get("href")
        if urlsplit(href).netloc == "localhost":
            parts = urlsplit(href)
            assert client.get(parts.path, query_string=dict(parse_qsl(parts.query))).status_code == 200


def test_stylesheet_is_served(client):
    with client.get("/static/page.css") as r:  # a file-backed body: closing it closes the file
        assert r.status_code == 200 and r.mimetype == "text/css"
        assert b"@media print" in r.data and b":focus-visible" in r.data


@pytest.mark.parametrize("path", ["/infobutton", "/application"])
def test_cached_page_still_has_headers(client, path):
    first = client.get(path, query_string=icd("C91.00", knowledgeResponseType="text/html"))
    second = client.get(path, query_string=icd("C91.00", knowledgeResponseType="text/html"))
    assert first.data == second.data
    assert_page_headers(second)


def test_unmatched_paths_get_the_page_headers_on_html_errors(client):
    r = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert_page_headers(r)


def test_only_the_configured_ehr_origins_may_frame_the_click_page(tmp_path):
    from infobutton import create_app
    from infobutton.config import Settings

    settings = Settings(data_dir=str(tmp_path), frame_origins="https://ehr.example.org, https://ehr2.example.org:8443/")
    app = create_app(settings)
    try:
        client = app.test_client()
        for path, query in (("/", {}), ("/application", icd("C91.00")), ("/no/such/page", {})):
            r = client.get(path, query_string=query, headers={"Accept": "text/html"})
            csp = r.headers.get("Content-Security-Policy", "")
            assert "frame-ancestors 'self' https://ehr.example.org https://ehr2.example.org:8443" in csp, path
    finally:
        app.extensions["infobutton"].close()
