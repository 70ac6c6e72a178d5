"""The CDS Hooks sandbox as it calls a service (tests/cds/sandbox.py: its token, bodies and
feedback), configured as the recipe of docs/cds-hooks.md says: the sandbox's key inline, its origin for CORS.
Every token names the sandbox's jku (https://sandbox.cds-hooks.org/…, unreachable from here): a
200 means it was verified without fetching it."""

from __future__ import annotations

import json

import pytest

from infobutton import create_app
from infobutton.config import Settings
from infobutton.models import CodeSystem, MappingRule, Scope

from . import sandbox

BASE = "http://localhost/cds-services"
PV = f"{BASE}/infobutton-patient-view"
OS = f"{BASE}/infobutton-order-select"


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=str(tmp_path),
        version_check_interval=0.0,
        cds_issuers=sandbox.issuers(),
        cds_cors_origins=sandbox.ORIGIN + "/",  # as pasted from a browser's address bar
    )


def post(client, url: str, body: dict, aud: str | None = None):
    headers = sandbox.headers(aud or url)
    headers["Origin"] = sandbox.ORIGIN
    return client.post(url.removeprefix("http://localhost"), data=json.dumps(body), headers=headers)


def test_discovery_as_the_sandbox_asks_for_it(client):
    r = client.get("/cds-services", headers={**sandbox.headers(BASE), "Origin": sandbox.ORIGIN})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == sandbox.ORIGIN
    assert {s["id"] for s in r.json["services"]} == {"infobutton-patient-view", "infobutton-order-select"}


@pytest.mark.parametrize("path", ["/cds-services", "/cds-services/infobutton-patient-view", "/feedback"])
def test_the_browsers_preflight_from_the_sandbox_is_allowed(client, path):
    url = "/cds-services/infobutton-patient-view/feedback" if path == "/feedback" else path
    pre = client.options(
        url,
        headers={
            "Origin": sandbox.ORIGIN,
            "Access-Control-Request-Method": "GET" if url == "/cds-services" else "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == sandbox.ORIGIN
    allowed = {h.strip().lower() for h in pre.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed


def test_patient_view_gives_cards_for_the_coded_conditions(client):
    r = post(client, PV, sandbox.patient_view())
    assert r.status_code == 200, r.json
    assert r.headers["Access-Control-Allow-Origin"] == sandbox.ORIGIN
    cards = r.json["cards"]
    assert len(cards) == 2  # one per condition: the SNOMED CT one and the ICD-10-CM one
    assert all(card["overrideReasons"] and card["uuid"] for card in cards)


def test_order_select_answers_the_sandboxs_draft_medication_request(client, services):
    body = sandbox.order_select("731370", "Example medication", sandbox.CONDITIONS[0])
    assert post(client, OS, body).json == {"cards": []}  # no rule for the medication: no card
    # a reviewed rule for its RxNorm code makes one (what a deployment adds for its formulary)
    services.mappings.insert(MappingRule(CodeSystem.RXNORM, "731370", "leukemia", Scope.EXACT, reason="test"))
    r = post(client, OS, body)
    assert r.status_code == 200 and len(r.json["cards"]) == 1


@pytest.mark.parametrize("with_reason", [True, False], ids=["reason picked", "no reason"])
def test_feedback_signed_for_the_feedback_url_is_accepted(client, services, with_reason):
    card = post(client, PV, sandbox.patient_view()).json["cards"][0]
    reason = card["overrideReasons"][1] if with_reason else None
    r = post(client, PV + "/feedback", sandbox.dismissal(card, reason))  # aud = the feedback URL
    assert r.status_code == 200, r.json
    assert r.headers["Access-Control-Allow-Origin"] == sandbox.ORIGIN
    assert services.cds_feedback.count() == 1


@pytest.mark.parametrize(
    "aud,status",
    [
        (PV, 200),  # the service URL, as before
        (BASE, 200),  # the discovery URL
        (OS + "/feedback", 401),  # another service's feedback
        ("https://elsewhere.example/cds-services/infobutton-patient-view/feedback", 401),
    ],
)
def test_feedback_audiences(client, aud, status):
    card = post(client, PV, sandbox.patient_view()).json["cards"][0]
    assert post(client, PV + "/feedback", sandbox.dismissal(card, None), aud=aud).status_code == status


def test_a_service_call_signed_for_the_feedback_url_is_refused(client):
    r = post(client, PV, sandbox.patient_view(), aud=PV + "/feedback")
    assert r.status_code == 401 and "aud" in r.json["detail"]


def test_a_token_of_another_key_under_the_sandboxs_kid_is_refused(tmp_path):
    """The kid picks the configured key; a signature by any other key fails on it."""
    other = Settings(data_dir=str(tmp_path), version_check_interval=0.0, cds_issuers=sandbox.issuers())
    app = create_app(other)
    try:
        sandbox._key.clear()  # a new key: the configured one no longer signs
        r = post(app.test_client(), PV, sandbox.patient_view())
        assert r.status_code == 401
    finally:
        sandbox._key.clear()
        app.extensions["infobutton"].close()
