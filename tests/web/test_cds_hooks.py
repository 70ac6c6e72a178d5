"""CDS Hooks 2.0 end to end: discovery, patient-view with prefetch and from a real FHIR server on
127.0.0.1, 412, 400s, CORS, order-select and feedback. Every call carries a JWT signed by the test
EHR (tests/cds/ehr.py), verified against its JWKS served on 127.0.0.1."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest

from infobutton import create_app
from infobutton.cds.feedback import OVERRIDE_SYSTEM
from infobutton.config import ConfigError, Settings
from infobutton.models import CodeSystem, MappingRule, Scope
from infobutton.render.attribution import SERVICE_NAME
from infobutton.render.cds_cards import MAX_SUMMARY

from ..cds import ehr
from ..local_server import LocalServer

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SCT = "http://snomed.info/sct"
PV = "/cds-services/infobutton-patient-view"
OS = "/cds-services/infobutton-order-select"
TOKEN = "test-token-123"


def born_years_ago(years: int) -> str:
    return date(date.today().year - years, 1, 1).isoformat()  # had this birthday already


def patient(years=40, gender="female"):
    return {"resourceType": "Patient", "id": "p1", "gender": gender, "birthDate": born_years_ago(years)}


def condition(cid, *codings, text=None, verification=None):
    code = {"coding": [{"system": s, "code": c, **({"display": d} if d else {})} for s, c, d in codings]}
    if text:
        code["text"] = text
    resource = {"resourceType": "Condition", "id": cid, "code": code, "subject": {"reference": "Patient/p1"}}
    if verification:
        resource["verificationStatus"] = {"coding": [{"code": verification}]}
    return resource


def bundle(*resources, next_url=None):
    body = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}
    if next_url:
        body["link"] = [{"relation": "next", "url": next_url}]
    return body


ALL = condition("c1", (ICD, "C91.00", "Acute lymphoblastic leukemia"))
CML = condition("c2", (SCT, "92818009", "Chronic myeloid leukemia"))
UNMATCHED = condition("c3", (ICD, "Z99.89", None))  # unmapped, and no words for a text search


def call(hook="patient-view", prefetch=None, **extra):
    body = {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "hook": hook,
        "context": {"userId": "Practitioner/u1", "patientId": "p1"},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(extra)
    return body


def audience(path: str) -> str:
    """What the EHR puts in ``aud``: the service's endpoint (feedback: the same service)."""
    return "http://localhost" + path.removesuffix("/feedback")


def post(client, path, body, *, token=None, **headers):
    """POST with a fresh signed JWT (``token=""`` for none, or a given token)."""
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    if token is None:
        token = ehr.token(audience(path))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(path, data=data, content_type="application/json", headers=headers)


class FhirServer(LocalServer):
    """A tiny FHIR server: Patient/p1 and a two-page Condition search, bearer token required.
    ``conditions``, ``status`` and ``delay`` may be changed by a test before it calls."""

    def __init__(self, conditions=(), *, status=200, delay=0.0):
        self.requests: list[tuple[str, dict]] = []
        self.conditions, self.status, self.delay = list(conditions), status, delay
        self.next_url = ""  # the search's next link; default: page 2 of the same search
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.requests.append((self.path, dict(self.headers)))
                conditions, status = outer.conditions, outer.status
                if outer.delay:
                    time.sleep(outer.delay)
                if status != 200:
                    return self._send(status, {"resourceType": "OperationOutcome"})
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"resourceType": "OperationOutcome"})
                parts = urlsplit(self.path)
                if parts.path == "/fhir/Patient/p1":
                    return self._send(200, patient(years=6, gender="male"))
                if parts.path == "/fhir/Condition":
                    query = parse_qs(parts.query)
                    if query.get("page") == ["2"]:
                        return self._send(200, bundle(*conditions[1:]))
                    following = outer.next_url or outer.url + "Condition?page=2"
                    return self._send(200, bundle(*conditions[:1], next_url=following))
                self._send(404, {"resourceType": "OperationOutcome"})

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)
        self.server.handle_error = lambda *args: None  # a client that timed out hung up: expected
        self.url = f"http://127.0.0.1:{self.port}/fhir/"


@pytest.fixture
def jwks():
    with ehr.JwksServer() as server:
        yield server


@pytest.fixture
def fhir():
    with FhirServer() as server:
        yield server


@pytest.fixture
def settings(tmp_path, jwks, fhir):
    """The test EHR is the one trusted issuer; its FHIR server is on 127.0.0.1 over plain http,
    which only development mode (cds_allow_http_loopback) allows."""
    return Settings(
        data_dir=str(tmp_path),
        version_check_interval=0.0,
        cds_issuers=ehr.issuers(jwks.url, [fhir.url]),
        cds_allow_http_loopback=True,
    )


def summaries(r):
    return [c["summary"] for c in r.json["cards"]]


def test_discovery_lists_patient_view_with_prefetch(client):
    r = client.get("/cds-services")
    assert r.status_code == 200
    services = {s["id"]: s for s in r.json["services"]}
    pv = services["infobutton-patient-view"]
    assert pv["hook"] == "patient-view" and pv["title"] and pv["description"]
    assert pv["prefetch"] == {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
    }
    assert services["infobutton-order-select"]["hook"] == "order-select"


def test_patient_view_with_prefetch_one_card_per_matched_condition(client, synced_catalogue):
    body = call(prefetch={"patient": patient(), "conditions": bundle(ALL, CML, UNMATCHED)})
    r = post(client, PV, body)
    assert r.status_code == 200
    cards = r.json["cards"]
    assert len(cards) == 2  # none for the unmatched condition
    first, second = cards
    assert first["summary"] == "Patient education: Acute Lymphocytic Leukemia, Leukemia"
    assert second["summary"].startswith("Patient education: Chronic Myeloid Leukemia")
    for card in cards:
        assert len(card["summary"]) <= MAX_SUMMARY < 140
        assert card["indicator"] == "info"
        assert card["source"]["label"] == SERVICE_NAME  # it chose the topics
        assert card["source"]["url"] == "http://localhost/"
        assert "Why this topic: " in card["detail"]
        assert card["uuid"]
        assert all(link["type"] == "absolute" and link["url"].startswith("http") for link in card["links"])
    assert first["source"]["topic"]["code"] == "acutelymphocyticleukemia"
    assert "[Acute Lymphocytic Leukemia](https://medlineplus.gov/acutelymphocyticleukemia.html)" in first["detail"]
    assert "(ICD-10-CM C91.00)" in first["detail"]
    urls = [link["url"] for link in first["links"]]
    assert "https://medlineplus.gov/spanish/acutelymphocyticleukemia.html" in urls
    page = next(u for u in urls if "/application?" in u)
    assert client.get(urlsplit(page).path + "?" + urlsplit(page).query).status_code == 200


def test_patient_age_chooses_childhood_topics(client):
    child = post(client, PV, call(prefetch={"patient": patient(years=6), "conditions": bundle(ALL)}))
    page = child.json["cards"][0]["links"][-1]["url"]
    assert "age.v.v=6" in page and "patientPerson.administrativeGenderCode.c=F" in page
    parts = urlsplit(page)
    assert "Leucemia" not in client.get(parts.path + "?" + parts.query).get_data(as_text=True)
    assert b"Childhood Leukemia" in client.get(parts.path + "?" + parts.query).data
    adult = post(client, PV, call(prefetch={"patient": patient(years=40), "conditions": bundle(ALL)}))
    assert "Childhood Leukemia" in child.json["cards"][0]["summary"]
    assert "Childhood Leukemia" not in adult.json["cards"][0]["summary"]


def test_cards_offer_patient_education_never_professional_summaries(client):
    """The card says "Patient education": it asks as a clinician (performer PROV) for the patient
    (informationRecipient PAT), so the NCI PDQ professional summaries that a PROV reader of the
    same code gets first never appear on it."""
    for years in (6, 40):
        card = post(client, PV, call(prefetch={"patient": patient(years=years), "conditions": bundle(ALL)}))
        text = json.dumps(card.json)
        assert "Health Professional Version" not in text and "cancer.gov" not in text
        assert "Acute Lymphocytic Leukemia" in card.json["cards"][0]["summary"]
    prov = client.get(
        "/infobutton",
        query_string={
            "mainSearchCriteria.v.c": "C91.00",
            "mainSearchCriteria.v.cs": "2.16.840.1.113883.6.90",
            "informationRecipient": "PROV",
            "age.v.v": "40",
            "knowledgeResponseType": "application/json",
        },
    )
    assert "Health Professional Version" in prov.json["feed"]["entry"][0]["title"]["_value"]


def test_a_condition_known_only_by_its_text_gets_no_card(client):
    words = {"mainSearchCriteria.v.ot": "leukemia", "knowledgeResponseType": "application/json"}
    assert client.get("/infobutton", query_string=words).json["feed"]["entry"]  # the words find topics
    text_only = {"resourceType": "Condition", "id": "c5", "code": {"text": "leukemia"}}
    r = post(client, PV, call(prefetch={"patient": patient(), "conditions": bundle(text_only)}))
    assert r.status_code == 200 and r.json == {"cards": []}
    r = post(client, PV, call(prefetch={"patient": patient(), "conditions": bundle(text_only, ALL)}))
    assert len(r.json["cards"]) == 1 and "C91.00" in r.json["cards"][0]["detail"]


def test_a_code_matched_only_by_its_display_name_gets_no_card(client):
    # No SNOMED CT map is configured: 44054006 is matched on its display name alone (layer 1b,
    # labelled automatic, from text). The infobutton answers it; a card never does.
    sent = {
        "mainSearchCriteria.v.c": "44054006",
        "mainSearchCriteria.v.cs": "2.16.840.1.113883.6.96",
        "mainSearchCriteria.v.dn": "Diabetes mellitus type 2",
        "knowledgeResponseType": "application/json",
    }
    entry, *more = client.get("/infobutton", query_string=sent).json["feed"]["entry"]
    assert entry["title"]["_value"] == "Diabetes Type 2"
    assert {e["source"]["_value"] for e in (entry, *more)} == {"automatic"}
    diabetes = condition("c6", (SCT, "44054006", "Diabetes mellitus type 2"))
    r = post(client, PV, call(prefetch={"patient": patient(), "conditions": bundle(diabetes)}))
    assert r.status_code == 200 and r.json == {"cards": []}


def test_refuted_and_duplicate_conditions(client):
    refuted = condition("c9", (SCT, "92818009", "CML"), verification="refuted")
    duplicate = condition("c10", (ICD, "C91.00", "ALL again"))
    r = post(client, PV, call(prefetch={"patient": patient(), "conditions": bundle(ALL, duplicate, refuted)}))
    assert len(r.json["cards"]) == 1


def test_no_conditions_no_cards(client):
    r = post(client, PV, call(prefetch={"patient": patient(), "conditions": bundle(UNMATCHED)}))
    assert r.status_code == 200 and r.json == {"cards": []}


def test_without_prefetch_fetches_from_the_fhir_server_with_the_token(client, fhir):
    fhir.conditions = [ALL, CML]
    body = call(
        fhirServer=fhir.url,
        fhirAuthorization={
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/Patient.read patient/Condition.read",
            "subject": "cds-service",
        },
    )
    r = post(client, PV, body)
    assert r.status_code == 200
    assert len(r.json["cards"]) == 2  # both pages of the search were read
    assert "Childhood Leukemia" in r.json["cards"][0]["summary"]  # the fetched 6-year-old
    paths = [p for p, _ in fhir.requests]
    assert "/fhir/Patient/p1" in paths
    search = next(p for p in paths if p.startswith("/fhir/Condition?patient"))
    assert parse_qs(urlsplit(search).query) == {"patient": ["p1"], "clinical-status": ["active"]}
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for _, h in fhir.requests)
    assert all(h.get("Accept") == "application/fhir+json" for _, h in fhir.requests)


def test_partial_prefetch_fetches_only_what_is_missing(client, fhir):
    fhir.conditions = [ALL]
    body = call(
        prefetch={"patient": patient(years=40), "conditions": None},
        fhirServer=fhir.url,
        fhirAuthorization={"access_token": TOKEN, "token_type": "Bearer"},
    )
    r = post(client, PV, body)
    assert r.status_code == 200
    assert [p for p, _ in fhir.requests if "Patient" in p] == []
    assert "Childhood Leukemia" not in r.json["cards"][0]["summary"]  # the prefetched adult


def test_neither_prefetch_nor_fhir_server_is_412(client):
    r = post(client, PV, call())
    assert r.status_code == 412
    assert r.mimetype == "application/problem+json"
    assert r.json["parameter"] == "prefetch" and "conditions" in r.json["detail"]


@pytest.mark.parametrize(
    "body,parameter",
    [
        (b"{not json", "body"),
        (b"", "body"),
        (b"[1, 2]", "body"),
        (call(hook="order-select", prefetch={}), "hook"),
        ({"hook": "patient-view", "context": {"patientId": "p1"}}, "hookInstance"),
        (call(context="p1"), "context"),
        (call(context={"userId": "u"}), "context.patientId"),
        (call(context={"patientId": "../../admin"}), "context.patientId"),
        (call(context={"patientId": "p1\n"}), "context.patientId"),  # `$` would allow the newline
        (call(fhirServer="file:///etc/passwd"), "fhirServer"),
        (
            call(fhirServer="http://127.0.0.1/fhir", fhirAuthorization={"token_type": "Bearer"}),
            "fhirAuthorization.access_token",
        ),
        (call(prefetch={"conditions": "Condition?patient=p1"}), "prefetch.conditions"),
        (call(prefetch=["x"]), "prefetch"),
    ],
)
def test_malformed_bodies_are_400_with_a_reason(client, body, parameter):
    r = post(client, PV, body)
    assert r.status_code == 400, r.data
    assert r.mimetype == "application/problem+json"
    assert r.json["parameter"] == parameter and r.json["detail"]


def test_unknown_service_is_404(client):
    r = post(client, "/cds-services/nope", call(prefetch={}))
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


def test_no_cors_by_default(client):
    pre = client.options(PV, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in pre.headers
    r = client.get("/cds-services", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers and "Origin" in r.headers["Vary"]


def test_cors_for_configured_origins_only(settings):
    app = create_app(settings.replace(cds_cors_origins="https://ehr.example.org, https://other.example.org"))
    client = app.test_client()
    try:
        pre = client.options(
            PV,
            headers={
                "Origin": "https://ehr.example.org",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert pre.status_code == 200
        assert pre.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
        assert "POST" in pre.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
        assert "Content-Type" in pre.headers["Access-Control-Allow-Headers"]
        for r in (
            client.get("/cds-services", headers={"Origin": "https://ehr.example.org"}),
            post(client, PV, b"{", Origin="https://ehr.example.org"),
        ):
            assert r.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
        elsewhere = client.get("/cds-services", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in elsewhere.headers
        assert "Access-Control-Allow-Origin" not in client.get("/healthz").headers
    finally:
        app.extensions["infobutton"].close()


@pytest.mark.parametrize("origins", ["*", "https://ehr.example.org/path", "ehr.example.org"])
def test_cors_origins_setting_refuses_wildcards_and_non_origins(origins):
    with pytest.raises(ConfigError) as error:
        Settings(cds_cors_origins=origins)
    assert error.value.variable == "INFOBUTTON_CDS_CORS_ORIGINS"


def test_order_select_cards_for_selected_orders_with_mappings(client, services):
    services.mappings.insert(MappingRule(CodeSystem.RXNORM, "282388", "chronicmyeloidleukemia", Scope.EXACT))
    draft = bundle(
        {
            "resourceType": "MedicationRequest",
            "id": "m1",
            "status": "draft",
            "intent": "order",
            "medicationCodeableConcept": {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "282388", "display": "imatinib"}
                ]
            },
        },
        {
            "resourceType": "ServiceRequest",
            "id": "s1",
            "status": "draft",
            "intent": "order",
            "code": {"coding": [{"system": SCT, "code": "93143009", "display": "Leukemia"}]},
        },
        {
            "resourceType": "ServiceRequest",
            "id": "s2",
            "status": "draft",
            "intent": "order",
            "code": {"coding": [{"system": SCT, "code": "91861009", "display": "AML"}]},
        },
        {
            "resourceType": "MedicationRequest",
            "id": "m2",
            "status": "draft",
            "intent": "order",
            "medicationCodeableConcept": {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1191", "display": "aspirin"}
                ]
            },
        },
    )
    body = call(hook="order-select", prefetch={"patient": patient()})
    body["context"].update(
        selections=["MedicationRequest/m1", "ServiceRequest/s1", "MedicationRequest/m2"], draftOrders=draft
    )
    r = post(client, OS, body)
    assert r.status_code == 200
    assert summaries(r) == ["Patient education: Chronic Myeloid Leukemia", "Patient education: Leukemia"]
    assert "imatinib" in r.json["cards"][0]["detail"]


def test_order_select_needs_draft_orders(client):
    body = call(hook="order-select", prefetch={})
    body["context"]["selections"] = ["MedicationRequest/m1"]
    r = post(client, OS, body)
    assert r.status_code == 400 and r.json["parameter"] == "context.draftOrders"


def test_condition_text_is_escaped_in_markdown(client):
    evil = condition("c1", (ICD, "C91.00", "x"), text="[click](javascript:alert(1)) <script>x</script>")
    r = post(client, PV, call(prefetch={"patient": patient(), "conditions": bundle(evil)}))
    detail = r.json["cards"][0]["detail"]
    assert "[click](javascript" not in detail and "<script>" not in detail
    assert "\\[click\\](javascript:alert(1))" in detail
    assert b"<script>" not in r.data


# -- feedback (§Feedback) ------------------------------------------------------------------------

REASON = {"system": OVERRIDE_SYSTEM, "code": "already-known"}


def issued_card(client) -> dict:
    r = post(client, PV, call(prefetch={"patient": patient(), "conditions": bundle(ALL)}))
    return r.json["cards"][0]


def test_cards_carry_override_reasons_in_our_system(client):
    card = issued_card(client)
    reasons = card["overrideReasons"]
    assert {r["code"] for r in reasons} == {"not-relevant", "already-known", "patient-declined", "wrong-topic"}
    assert all(r["system"] == OVERRIDE_SYSTEM and r["display"] for r in reasons)


def test_feedback_is_stored_without_patient_data(client, services):
    card = issued_card(client)["uuid"]
    feedback = {
        "feedback": [
            {
                "card": card,
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "s1"}],
                "outcomeTimestamp": "2024-05-01T10:00:00Z",
            },
            {
                "card": card,
                "outcome": "overridden",
                "outcomeTimestamp": "2024-05-01T12:01:00+02:00",
                "overrideReason": {"reason": REASON, "userComment": "Patient Jane Doe already has the leaflet"},
            },
            {
                "card": card,
                "outcome": "overridden",
                "outcomeTimestamp": "2024-05-01T10:02:00Z",
                "overrideReason": {"userComment": "no reason picked, a comment only"},
            },
            {"card": card, "outcome": "overridden", "outcomeTimestamp": "2024-05-01T10:03:00Z"},
        ]
    }
    r = post(client, PV + "/feedback", feedback)
    assert r.status_code == 200 and r.json == {}
    rows = services.cds_feedback.all()
    assert [
        (row["card_id"], row["outcome"], row["accepted_suggestions"], row["override_code"], row["outcome_timestamp"])
        for row in rows
    ] == [
        (card, "accepted", 1, None, "2024-05-01T10:00:00Z"),
        (card, "overridden", 0, "already-known", "2024-05-01T10:01:00Z"),
        (card, "overridden", 0, None, "2024-05-01T10:02:00Z"),
        (card, "overridden", 0, None, "2024-05-01T10:03:00Z"),
    ]
    dump = repr(services.db.query("SELECT * FROM cds_feedback"))
    assert "Jane" not in dump and "comment" not in dump and "p1" not in dump and "Practitioner" not in dump


CARD = "{card}"  # replaced by an issued card's uuid
WHEN = "2024-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "items,parameter",
    [
        (None, "feedback"),
        ([], "feedback"),
        ([{"card": CARD, "outcome": "ignored", "outcomeTimestamp": WHEN}], "feedback[0].outcome"),
        ([{"card": CARD, "outcome": "overridden"}], "feedback[0].outcomeTimestamp"),
        ([{"card": CARD, "outcome": "overridden", "outcomeTimestamp": "yesterday"}], "feedback[0].outcomeTimestamp"),
        (
            [{"card": CARD, "outcome": "overridden", "outcomeTimestamp": "2024-01-01T00:00:00"}],
            "feedback[0].outcomeTimestamp",
        ),
        ([{"outcome": "overridden", "outcomeTimestamp": WHEN}], "feedback[0].card"),
        ([{"card": "not-a-uuid", "outcome": "overridden", "outcomeTimestamp": WHEN}], "feedback[0].card"),
        (  # a well-formed uuid we never issued
            [{"card": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "outcome": "overridden", "outcomeTimestamp": WHEN}],
            "feedback[0].card",
        ),
        ([{"card": CARD, "outcome": "accepted", "outcomeTimestamp": WHEN}], "feedback[0].acceptedSuggestions"),
        (
            [{"card": CARD, "outcome": "accepted", "acceptedSuggestions": [], "outcomeTimestamp": WHEN}],
            "feedback[0].acceptedSuggestions",
        ),
        (
            [{"card": CARD, "outcome": "accepted", "acceptedSuggestions": [{}], "outcomeTimestamp": WHEN}],
            "feedback[0].acceptedSuggestions[0]",
        ),
        (
            [{"card": CARD, "outcome": "overridden", "overrideReason": {}, "outcomeTimestamp": WHEN}],
            "feedback[0].overrideReason",
        ),
        (
            [{"card": CARD, "outcome": "overridden", "overrideReason": {"reason": {}}, "outcomeTimestamp": WHEN}],
            "feedback[0].overrideReason.reason",
        ),
        (
            [
                {
                    "card": CARD,
                    "outcome": "overridden",
                    "overrideReason": {"reason": {"system": "http://example.org/x", "code": "made-up"}},
                    "outcomeTimestamp": WHEN,
                }
            ],
            "feedback[0].overrideReason.reason",
        ),
        (
            [
                {
                    "card": CARD,
                    "outcome": "accepted",
                    "acceptedSuggestions": [{"id": "s1"}],
                    "overrideReason": {"reason": REASON},
                    "outcomeTimestamp": WHEN,
                }
            ],
            "feedback[0].overrideReason",
        ),
        (
            [{"card": CARD, "outcome": "overridden", "outcomeTimestamp": WHEN, "extension": {"x": "a\x00b"}}],
            "feedback[0].extension.x",
        ),
        (
            [
                {
                    "card": CARD,
                    "outcome": "overridden",
                    "overrideReason": {"userComment": "lone \ud800 surrogate"},
                    "outcomeTimestamp": WHEN,
                }
            ],
            "feedback[0].overrideReason.userComment",
        ),
        ([{"card": CARD, "outcome": "overridden", "outcomeTimestamp": WHEN}] * 21, "feedback"),
    ],
)
def test_bad_feedback_is_400_naming_the_field_and_stores_nothing(client, services, items, parameter):
    card = issued_card(client)["uuid"]
    body = {} if items is None else {"feedback": json.loads(json.dumps(items).replace(CARD, card))}
    r = post(client, PV + "/feedback", body)
    assert r.status_code == 400, r.json
    assert r.json["parameter"] == parameter and r.json["detail"]
    assert services.cds_feedback.count() == 0


def test_feedback_bodies_over_64_kib_are_413(client, services):
    card = issued_card(client)["uuid"]
    item = {"card": card, "outcome": "overridden", "outcomeTimestamp": WHEN, "overrideReason": {"userComment": "x"}}
    item["padding"] = "x" * 70_000
    r = post(client, PV + "/feedback", {"feedback": [item]})
    assert r.status_code == 413 and services.cds_feedback.count() == 0


def test_a_feedback_flood_gets_429_and_the_table_stays_bounded(settings):
    app = create_app(settings.replace(cds_feedback_rate=5))
    services = app.extensions["infobutton"]
    try:
        client = app.test_client()
        card = issued_card(client)["uuid"]
        item = {"card": card, "outcome": "overridden", "outcomeTimestamp": WHEN, "overrideReason": {"reason": REASON}}
        statuses = []
        for _ in range(40):
            r = post(client, PV + "/feedback", {"feedback": [item] * 20})
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["Retry-After"]) >= 1 and r.json["parameter"] == "feedback"
        assert statuses.count(200) <= 6 and statuses.count(429) >= 34  # 5 a minute, and the odd refill
        assert services.cds_feedback.count() == 20 * statuses.count(200)
    finally:
        services.close()


@pytest.mark.redis
def test_two_instances_share_the_feedback_budget_in_redis(settings, redis_url):
    shared = settings.replace(cds_feedback_rate=3, redis_url=redis_url, cds_allow_unauthenticated=True)
    apps = [create_app(shared), create_app(shared)]
    address = f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:8]}"  # a caller no other run used
    try:
        statuses = []
        for turn in range(6):
            client = apps[turn % 2].test_client()
            r = client.post(
                PV + "/feedback",
                data=json.dumps({"feedback": []}),
                content_type="application/json",
                environ_base={"REMOTE_ADDR": address},
            )
            statuses.append(r.status_code)
        # 3 a minute between them (counted before the body is read: an empty list is a 400):
        # neither instance alone would have refused any of its 3
        assert statuses == [400, 400, 400, 429, 429, 429]
    finally:
        for app in apps:
            app.extensions["infobutton"].close()


def test_feedback_older_than_the_retention_period_is_deleted_on_write(client, services):
    card = issued_card(client)["uuid"]
    old = {"card": card, "outcome": "overridden", "accepted": 0, "system": None, "code": None, "timestamp": WHEN}
    services.cds_feedback.add("infobutton-patient-view", [old, old])
    services.db.execute("UPDATE cds_feedback SET received_at = '2020-01-01T00:00:00Z'")
    kept = services.cds_feedback.add("infobutton-patient-view", [old])
    assert kept == 1
    r = post(
        client, PV + "/feedback", {"feedback": [{"card": card, "outcome": "overridden", "outcomeTimestamp": WHEN}]}
    )
    assert r.status_code == 200
    assert services.cds_feedback.count() == 2  # the two 2020 rows went; this write and the one before stay
