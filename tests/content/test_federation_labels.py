"""Federation labels: a real upstream responder on 127.0.0.1, addressed by another
host name (``localhost``), answers with text that claims to be NLM's. Every surface (Atom, JSON,
FHIR, the page, a CDS card) credits the text to the host that answered and never to NLM or
MedlinePlus unless the page is on MedlinePlus."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest

from infobutton import create_app
from infobutton.models import Subject
from infobutton.render import cds_cards
from infobutton.request import parse

from ..conftest import icd
from ..local_server import LocalServer

# An answer as a MedlinePlus Connect look-alike sends it: NLM's attribution and author claimed.
CLAIMING_NLM = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Health topics</title>
  <author><name>National Library of Medicine</name><uri>https://medlineplus.gov</uri></author>
  <entry xml:lang="en"><title>Asthma in children</title>
    <link href="https://kids.example.org/asthma.html" rel="alternate"/>
    <author><name>National Library of Medicine</name></author>
    <summary type="html">&lt;p&gt;Asthma narrows the airways.&lt;/p&gt;&lt;p class="NLMalsoCalled"&gt;Also called:
      Bronchial asthma&lt;/p&gt;&lt;p class="NLMattribution"&gt;From MedlinePlus.gov, U.S. National Library of
      Medicine&lt;/p&gt;</summary>
  </entry>
</feed>"""
# Illness, unspecified: no topic here answers it, so the upstream is asked (it answers anything
# with its asthma page).
UNANSWERED = "R69"
NLM_WORDS = ("National Library of Medicine", "Biblioteca Nacional", "MedlinePlus", "medlineplus.gov", "NLM")


class Upstream(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/atom+xml")
        self.send_header("Content-Length", str(len(CLAIMING_NLM)))
        self.end_headers()
        self.wfile.write(CLAIMING_NLM)

    def log_message(self, *args):
        pass


@pytest.fixture
def federated(tmp_path):
    with LocalServer(Upstream) as server:
        app = create_app(
            {
                "data_dir": str(tmp_path),
                "upstream_url": f"http://localhost:{server.port}/connect",
                "upstream_timeout": 10.0,
                "version_check_interval": 0.0,
            }
        )
        try:
            yield app
        finally:
            app.extensions["infobutton"].close()


def ask(client, kind: str) -> str:
    r = client.get("/infobutton", query_string=icd(UNANSWERED, knowledgeResponseType=kind))
    assert r.status_code == 200
    return r.get_data(as_text=True)


def assert_no_nlm_claim(text: str) -> None:
    for words in NLM_WORDS:
        assert words not in text, words


def test_atom_and_json_credit_the_host_that_answered(federated):
    client = federated.test_client()
    atom = ask(client, "text/xml")
    assert "<name>localhost</name>" in atom and "Summary from localhost" in atom
    assert "Asthma narrows the airways." in atom
    assert_no_nlm_claim(atom)
    feed = json.loads(ask(client, "application/json"))["feed"]
    (entry,) = feed["entry"]
    assert entry["author"]["name"]["_value"] == "localhost"
    assert "Summary from localhost" in entry["summary"]["_value"]
    assert_no_nlm_claim(json.dumps(feed))


def test_fhir_names_the_host_as_author_and_the_page_site_as_custodian(federated):
    bundle = json.loads(ask(federated.test_client(), "application/fhir+json"))
    (document,) = [e["resource"] for e in bundle["entry"]]
    assert document["author"] == [
        {"display": "localhost", "identifier": {"system": "urn:ietf:rfc:3986", "value": "https://localhost"}}
    ]
    assert document["custodian"]["display"] == "kids.example.org"
    assert_no_nlm_claim(json.dumps(bundle))


def test_the_page_credits_the_host(federated):
    page = ask(federated.test_client(), "text/html")
    assert "Summary from localhost" in page and "Asthma in children" in page
    assert "National Library of Medicine" not in page and "NLMattribution" not in page


def test_a_cds_card_credits_the_host(federated):
    services = federated.extensions["infobutton"]
    request = parse(icd(UNANSWERED).items())
    matches = services.knowledge.resolve(request)
    card = cds_cards.card(Subject("Condition", "Asthma", request.criteria), matches, "https://ib.example.org/")
    assert "Summary from localhost" in card["detail"]
    assert card["links"][0]["label"] == "Asthma in children (kids.example.org)"
    assert card["source"]["label"] != "National Library of Medicine"
    assert "National Library of Medicine" not in json.dumps(card)
