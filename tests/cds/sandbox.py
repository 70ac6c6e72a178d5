"""The CDS Hooks sandbox (github.com/cds-hooks/sandbox) as a client, in the shapes it sends: its
JWT, its service calls and its feedback (test helper, and a script: ``python -m tests.cds.sandbox
BASE_URL`` plays one session against a running service whose issuers come from ``issuers()``).

Read from the sandbox's source (``src/retrieve-data-helpers/jwt-generator.js``,
``service-exchange.js``, ``components/CardList/card-list.jsx``, ``components/RxView/rx-view.jsx``
and ``reducers/medication-reducers.js``), not copied:

- every call (discovery, service, feedback) carries a JWT signed ES384 whose header is exactly
  ``alg``, ``typ: JWT``, ``kid`` (a uuid) and ``jku`` (its own JWKS URL), and whose claims are
  exactly ``iss``, ``aud`` (the URL it is about to call), ``exp`` (now + 300), ``iat`` and ``jti``
  (a uuid); it has sent no ``sub`` since 2019;
- a service call is ``{hookInstance, hook, fhirServer, context: {patientId, userId, …}}`` plus
  ``prefetch`` (what it read from its FHIR server) with ``Accept: application/json``; order-select
  adds ``selections`` and ``draftOrders`` (a Bundle with one draft MedicationRequest whose
  ``reasonCode`` is the chosen Condition's ``code``);
- feedback is POSTed to ``{service URL}/feedback`` with ``aud`` that URL: one item per POST,
  ``overridden`` with ``overrideReason.reason`` ``{code, system}`` when the clinician picked one
  of the card's ``overrideReasons`` (none otherwise); ``accepted`` only when a suggestion is taken,
  and our cards offer links, not suggestions; ``outcomeTimestamp`` as JavaScript's
  ``toISOString()`` writes it.

The key here is this module's own (the sandbox's published one is not used; ``--key`` keeps one in
a PEM file so the service and the script agree), the ``kid`` and the ``jku`` are the sandbox's: a
service configured for the sandbox must verify these tokens with the inline key and never fetch
that ``jku``.

    python -m tests.cds.sandbox issuers --key /tmp/sandbox.pem > issuers.json
    INFOBUTTON_CDS_ISSUERS=issuers.json infobutton serve &
    python -m tests.cds.sandbox play --key /tmp/sandbox.pem http://127.0.0.1:8080/cds-services
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ISS = "https://sandbox.cds-hooks.org"
KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
ORIGIN = "https://sandbox.cds-hooks.org"
FHIR_SERVER = "https://launch.smarthealthit.org/v/r2/fhir"  # the sandbox's default (DSTU2)
PATIENT_ID = "smart-1288992"
USER_ID = "Practitioner/COREPRACTITIONER1"
SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


_key: list[ec.EllipticCurvePrivateKey] = []


def private_key() -> ec.EllipticCurvePrivateKey:
    """The sandbox's signing key: one per process unless ``use_key_file`` loaded one."""
    if not _key:
        _key.append(ec.generate_private_key(ec.SECP384R1()))
    return _key[0]


def use_key_file(path: Path) -> None:
    """Sign with the P-384 key in ``path`` (PEM), creating it first when absent."""
    if not path.exists():
        key = ec.generate_private_key(ec.SECP384R1())
        encoding, pkcs8 = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
        pem = key.private_bytes(encoding, pkcs8, serialization.NoEncryption())
        path.write_bytes(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    _key[:] = [loaded]


def jwks() -> dict:
    """The public JWKS the sandbox serves at its jku, for this module's key."""
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private_key().public_key()))
    return {"keys": [{**public, "use": "sig", "kid": KID, "alg": "ES384"}]}


def issuers(**extra) -> str:
    """INFOBUTTON_CDS_ISSUERS as the sandbox recipe of docs/cds-hooks.md writes it: the key inline."""
    return json.dumps({ISS: {"keys": jwks(), **extra}})


def token(audience: str) -> str:
    now = round(time.time())
    claims = {"iss": ISS, "aud": audience, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    header = {"alg": "ES384", "typ": "JWT", "kid": KID, "jku": JKU}
    return jwt.encode(claims, private_key(), algorithm="ES384", headers=header)


def headers(audience: str) -> dict:
    return {
        "Accept": "application/json",
        "Content-Type": "application/json;charset=utf-8",
        "Authorization": f"Bearer {token(audience)}",
    }


def _timestamp() -> str:
    """``new Date().toISOString()``: milliseconds and Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def patient() -> dict:
    """Patient/{id} as a DSTU2 server returns it (the sandbox's default FHIR server)."""
    born = date(date.today().year - 52, 6, 1).isoformat()
    return {"resourceType": "Patient", "id": PATIENT_ID, "gender": "male", "birthDate": born, "active": True}


def condition(cid: str, system: str, code: str, display: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": cid,
        "patient": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "clinicalStatus": "active",  # DSTU2: codes, not CodeableConcepts
        "verificationStatus": "confirmed",
    }


CONDITIONS = (
    condition("c-cml", SCT, "92818009", "Chronic myeloid leukemia"),
    condition("c-all", ICD, "C91.00", "Acute lymphoblastic leukemia not having achieved remission"),
)


def conditions_bundle(*conditions: dict) -> dict:
    entries = [{"fullUrl": f"{FHIR_SERVER}/Condition/{c['id']}", "resource": c} for c in conditions]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def patient_view(*conditions: dict) -> dict:
    return {
        "hookInstance": str(uuid.uuid4()),
        "hook": "patient-view",
        "fhirServer": FHIR_SERVER,
        "context": {"patientId": PATIENT_ID, "userId": USER_ID},
        "prefetch": {"patient": patient(), "conditions": conditions_bundle(*(conditions or CONDITIONS))},
    }


def order_select(rxcui: str, name: str, reason: dict | None = None) -> dict:
    """Rx View: one draft MedicationRequest (R4 shape) for a medication, the chosen condition's
    code as its reasonCode (a single CodeableConcept, as the sandbox writes it)."""
    resource = {
        "resourceType": "MedicationRequest",
        "id": "request-123",
        "status": "draft",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "authoredOn": date.today().isoformat(),
        "medicationCodeableConcept": {"text": name, "coding": [{"display": name, "system": RXNORM, "code": rxcui}]},
    }
    if reason is not None:
        resource["reasonCode"] = reason["code"]
    return {
        "hookInstance": str(uuid.uuid4()),
        "hook": "order-select",
        "fhirServer": FHIR_SERVER,
        "context": {
            "patientId": PATIENT_ID,
            "userId": USER_ID,
            "selections": [f"MedicationRequest/{resource['id']}"],
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": resource}]},
        },
        "prefetch": {"patient": patient()},
    }


def dismissal(card: dict, reason: dict | None) -> dict:
    """The feedback the sandbox sends when a card is dismissed (with a picked reason or none)."""
    item: dict = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": _timestamp()}
    if reason and reason.get("code"):
        item["overrideReason"] = {"reason": {"code": reason["code"]}}
        if reason.get("system"):
            item["overrideReason"]["reason"]["system"] = reason["system"]
    return {"feedback": [item]}


class Sandbox:
    """One sandbox session against a service's discovery URL (``…/cds-services``)."""

    def __init__(self, discovery_url: str, session: requests.Session | None = None, timeout: float = 60):
        self.discovery_url = discovery_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout

    def discover(self) -> dict:
        r = self.session.get(self.discovery_url, headers=headers(self.discovery_url), timeout=self.timeout)
        r.raise_for_status()
        return {s["id"]: s for s in r.json()["services"]}

    def call(self, service_id: str, body: dict) -> requests.Response:
        url = f"{self.discovery_url}/{service_id}"
        return self.session.post(url, data=json.dumps(body), headers=headers(url), timeout=self.timeout)

    def feedback(self, service_id: str, body: dict) -> requests.Response:
        url = f"{self.discovery_url}/{service_id}/feedback"
        return self.session.post(url, data=json.dumps(body), headers=headers(url), timeout=self.timeout)


def play(discovery_url: str) -> dict:
    """Discovery, patient-view, order-select, then feedback on every card (each dismissed with
    the first of its overrideReasons, then one without a reason): what happened, by step."""
    sandbox = Sandbox(discovery_url)
    found = sandbox.discover()
    seen: dict = {"services": sorted(found)}
    pv = sandbox.call("infobutton-patient-view", patient_view())
    seen["patient-view"] = pv.status_code
    cards = pv.json().get("cards", []) if pv.status_code == 200 else []
    seen["cards"] = [c["summary"] for c in cards]
    # the medication of the sandbox README's example launch URL (prescribedMedication=731370)
    os_ = sandbox.call("infobutton-order-select", order_select("731370", "Example medication", CONDITIONS[0]))
    seen["order-select"] = os_.status_code
    statuses = []
    for card in cards:
        reasons = card.get("overrideReasons") or [None]
        statuses.append(sandbox.feedback("infobutton-patient-view", dismissal(card, reasons[0])).status_code)
        statuses.append(sandbox.feedback("infobutton-patient-view", dismissal(card, None)).status_code)
    seen["feedback"] = statuses
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description="Play the CDS Hooks sandbox's calls against a running service.")
    parser.add_argument("action", choices=["issuers", "play"])
    parser.add_argument("discovery_url", nargs="?", default="http://127.0.0.1:8080/cds-services")
    parser.add_argument("--key", type=Path, required=True, help="PEM file of the signing key (created if absent)")
    args = parser.parse_intermixed_args()
    use_key_file(args.key)
    print(issuers() if args.action == "issuers" else json.dumps(play(args.discovery_url), indent=2))


if __name__ == "__main__":
    main()
