"""MedlinePlus Connect drop-in: requests shaped exactly as clients in the field send
them to NLM, with only the host swapped, and read back the way those clients read them."""

import json
import re
from urllib.parse import urlsplit, urlunsplit

from lxml import etree

NLM = "https://apps.nlm.nih.gov"
ATOM = "{http://www.w3.org/2005/Atom}"


def swapped(url: str) -> str:
    """The client's own URL with only the host changed to ours (the test client's)."""
    parts = urlsplit(url)
    return urlunsplit(("http", "localhost", parts.path, parts.query, ""))


def unwrap(body: str) -> dict:
    """What a client that strips the JSONP wrapper does: ``name(`` … ``);`` removed by pattern."""
    found = re.fullmatch(r"([A-Za-z_$][\w$.]*)\((.*)\);?", body, re.S)
    assert found, body[:40]
    return json.loads(found.group(2))


def test_legacy_service_path_answers_json_as_service(client):
    # a script that reads feed.entry[0].link[0].href from NLM's web-service path
    url = (
        NLM + "/medlineplus/services/mpconnect_service.cfm?mainSearchCriteria.v.cs=2.16.840.1.113883.6.90"
        "&mainSearchCriteria.v.c=C91.00&informationRecipient.languageCode.c=en&knowledgeResponseType=application/json"
    )
    r = client.get(swapped(url))
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.json["feed"]["entry"][0]["link"][0]["href"] == "https://medlineplus.gov/acutelymphocyticleukemia.html"
    same = client.get("/service?" + urlsplit(url).query)
    assert same.data == r.data


def test_legacy_service_path_defaults_to_atom(client):
    # an ERP's Java client: code system and code only, Atom read with a DOM parser
    url = (
        NLM + "/medlineplus/services/mpconnect_service.cfm"
        "?mainSearchCriteria.v.cs=2.16.840.1.113883.6.96&mainSearchCriteria.v.c=91857003"
    )
    r = client.get(swapped(url))
    assert r.status_code == 200 and r.mimetype == "text/xml"
    titles = [e.findtext(ATOM + "title") for e in etree.fromstring(r.data).iter(ATOM + "entry")]
    assert titles[0] == "Acute Lymphocytic Leukemia"


def test_legacy_application_path_answers_the_page(client):
    # an EHR's info button opening NLM's web-application path in a window, empty dn included
    url = (
        NLM + "/medlineplus/services/mpconnect.cfm?mainSearchCriteria.v.c=91857003"
        "&mainSearchCriteria.v.cs=2.16.840.1.113883.6.96&mainSearchCriteria.v.dn=&informationRecipient.languageCode.c=en"
    )
    r = client.get(swapped(url))
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert b"Acute Lymphocytic Leukemia" in r.data
    assert "Content-Security-Policy" in r.headers
    assert client.get("/application?" + urlsplit(url).query).data == r.data


def test_legacy_application_errors_are_pages(client):
    r = client.get("/medlineplus/services/mpconnect.cfm?mainSearchCriteria.v.cs=2.16.840.1.113883.6.96")
    assert r.status_code == 400 and r.mimetype == "text/html"


def test_jsonp_without_callback_calls_none_as_nlm_does(client):
    # a lab-test lookup that asks for JSONP and sends no callback; NLM answers None({...});
    url = (
        NLM + "/medlineplus/services/mpconnect_service.cfm?mainSearchCriteria.v.cs=2.16.840.1.113883.6.90"
        "&mainSearchCriteria.v.c=C91.00&knowledgeResponseType=application/javascript"
    )
    for path in (swapped(url), "/service?" + urlsplit(url).query):
        r = client.get(path)
        assert r.status_code == 200 and r.mimetype == "application/javascript"
        # UAMS Find-a-Doc's unwrapping, verbatim in effect: str_replace('None(', ''), then
        # str_replace('});', '}'), then json_decode.
        body = r.data.decode().replace("None(", "").replace("});", "}")
        assert json.loads(body)["feed"]["entry"][0]["title"]["_value"] == "Acute Lymphocytic Leukemia"
    infobutton = client.get("/infobutton?" + urlsplit(url).query)
    assert infobutton.status_code == 200 and infobutton.data.startswith(b"/**/None(")


def test_service_jsonp_has_no_comment_prefix_and_infobutton_keeps_it(client):
    query = (
        "mainSearchCriteria.v.cs=2.16.840.1.113883.6.90&mainSearchCriteria.v.c=C91.00"
        "&knowledgeResponseType=text/javascript&callback=showTopics"
    )
    for path in ("/service", "/medlineplus/services/mpconnect_service.cfm"):
        r = client.get(f"{path}?{query}")
        assert r.status_code == 200 and r.data.startswith(b"showTopics(")
        assert unwrap(r.data.decode())["feed"]["entry"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/infobutton?{query}").data.startswith(b"/**/showTopics(")


def test_a_bad_callback_is_still_refused_everywhere(client):
    for path in ("/service", "/medlineplus/services/mpconnect_service.cfm", "/infobutton"):
        r = client.get(
            path,
            query_string={
                "mainSearchCriteria.v.cs": "2.16.840.1.113883.6.90",
                "mainSearchCriteria.v.c": "C91.00",
                "knowledgeResponseType": "application/javascript",
                "callback": "alert(1)//",
            },
        )
        assert r.status_code == 400 and r.json["parameter"] == "callback" and b"alert" not in r.data
