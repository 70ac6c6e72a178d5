"""CDS Hooks 2.0 endpoints: discovery, the patient-view and order-select services, feedback.

Errors are problem+json (web.error_response): 400 for a malformed body naming the field, 404 for
an unknown service, 412 when the data a service needs was neither prefetched nor fetchable
(§Prefetch). CORS headers follow §Security and Safety / CORS so browser-based EHRs can call us.
"""

from __future__ import annotations

import json
import logging
from datetime import date

from flask import Blueprint, Response, request

from ..cds import clinical, discovery, hook_call, prefetch
from ..models import InvalidRequest
from ..render import cds_cards, safe_json
from ..services import current_services

log = logging.getLogger(__name__)
PREFIX = "/cds-services"
bp = Blueprint("cds_hooks", __name__, url_prefix=PREFIX)

MAX_BODY_BYTES = 4 * 1024 * 1024  # prefetched Bundles are larger than infobutton forms
MAX_SUBJECTS = 100  # conditions or orders resolved per call
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Expose-Headers": "Origin, Accept, Content-Location, Location, X-Requested-With",
    "Access-Control-Max-Age": "86400",
}
OUTCOMES = ("accepted", "overridden")


@bp.before_request
def _larger_bodies() -> None:
    request.max_content_length = MAX_BODY_BYTES


@bp.after_app_request
def _cors(response: Response) -> Response:
    """On every /cds-services response, errors and preflights included."""
    if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
        response.headers.update(CORS_HEADERS)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def _json(value, status: int = 200) -> Response:
    response = Response(safe_json.dumps(value), status=status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _body():
    data = request.get_data(cache=False)
    if not data.strip():
        raise InvalidRequest("body", "a JSON object is required")
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("body", "not valid JSON") from None
    except RecursionError:  # nesting deeper than the parser goes
        raise InvalidRequest("body", "JSON nested too deeply") from None
    where = _unstorable_text(value)
    if where is not None:
        raise InvalidRequest(where, "must be valid Unicode text without NUL characters")
    return value


def _unstorable_text(value) -> str | None:
    """Where (a JSON path) the first string that UTF-8 cannot carry (a lone surrogate) or
    PostgreSQL cannot store (NUL) is, keys included; None when there is none. Iterative, so
    any depth the parser accepted is walked."""
    stack = [("body", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if not _text_ok(key):
                    return where
                stack.append((f"{where}.{key}", child))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(item))
        elif isinstance(item, str) and not _text_ok(item):
            return where
    return None


def _text_ok(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _service(service_id: str) -> discovery.CdsService:
    service = discovery.SERVICES.get(service_id)
    if service is None:
        raise InvalidRequest("service", "no such CDS service; see GET /cds-services", 404)
    return service


@bp.get("")
def services_list():
    return _json(discovery.discovery_document())


def _clinical_data(call: hook_call.HookCall) -> dict:
    """The prefetch, completed from fhirServer where the EHR left keys out (§Prefetch)."""
    missing = call.missing()
    needed = [k for k in missing if k in call.service.required]
    data = dict(call.prefetch)
    if not missing:
        return data
    settings = current_services().settings
    if not call.fhir_server:
        if needed:
            raise InvalidRequest(
                "prefetch", f"{', '.join(needed)} not prefetched and no fhirServer given to fetch from", 412
            )
        return data
    if not prefetch.allowed(call.fhir_server, settings.cds_fhir_servers):
        raise InvalidRequest("fhirServer", "not a FHIR server this service may read from", 412)
    try:
        data.update(prefetch.fetch(call, missing, settings.cds_fhir_timeout))
    except prefetch.Unavailable as exc:
        log.info("cds %s: fetch from fhirServer failed: %s", call.service.id, exc)
        if needed:
            raise InvalidRequest("fhirServer", str(exc), 412) from None
    return data


@bp.post("/<service_id>")
def call_service(service_id: str):
    service = _service(service_id)
    call = hook_call.parse(_body(), service)
    data = _clinical_data(call)
    age, gender = clinical.demographics(data.get("patient"), date.today())
    if service.hook == "patient-view":
        subjects = clinical.condition_subjects(data.get("conditions"))
    else:
        subjects = clinical.order_subjects(call.context["draftOrders"], call.context["selections"])
    services = current_services()
    knowledge = services.knowledge
    answers = [
        (subject, knowledge.resolve(clinical.knowledge_request(subject, age, gender)))
        for subject in subjects[:MAX_SUBJECTS]
    ]
    base = services.settings.base_url or request.host_url
    body = cds_cards.cards(answers, base, age, gender)
    log.info("cds %s: %d subjects, %d cards", service.id, len(answers), len(body["cards"]))
    return _json(body)


def _feedback_items(body) -> list[dict]:
    """Validated feedback (§Feedback), reduced to what we keep: no comments, no patient."""
    if not isinstance(body, dict) or not isinstance(body.get("feedback"), list) or not body["feedback"]:
        raise InvalidRequest("feedback", "must be a non-empty array")
    items = []
    for i, item in enumerate(body["feedback"][:100]):
        where = f"feedback[{i}]"
        if not isinstance(item, dict):
            raise InvalidRequest(where, "must be an object")
        card = item.get("card")
        if not isinstance(card, str) or not card.strip() or len(card) > 100:
            raise InvalidRequest(f"{where}.card", "must be the card's uuid")
        outcome = item.get("outcome")
        if outcome not in OUTCOMES:
            raise InvalidRequest(f"{where}.outcome", "must be accepted or overridden")
        timestamp = item.get("outcomeTimestamp")
        if not isinstance(timestamp, str) or not timestamp.strip() or len(timestamp) > 40:
            raise InvalidRequest(f"{where}.outcomeTimestamp", "required (an ISO 8601 instant)")
        accepted = item.get("acceptedSuggestions") or []
        if not isinstance(accepted, list):
            raise InvalidRequest(f"{where}.acceptedSuggestions", "must be an array")
        reason = item.get("overrideReason") or {}
        if not isinstance(reason, dict):
            raise InvalidRequest(f"{where}.overrideReason", "must be an object")
        coding = reason.get("reason")
        if not isinstance(coding, dict):
            coding = {}
        system, code = coding.get("system"), coding.get("code")
        items.append(
            {
                "card": card.strip(),
                "outcome": outcome,
                "accepted": len(accepted),
                "system": system[:200] if isinstance(system, str) else None,
                "code": code[:100] if isinstance(code, str) else None,
                "timestamp": timestamp.strip(),
            }
        )
    return items


@bp.post("/<service_id>/feedback")
def feedback(service_id: str):
    service = _service(service_id)
    items = _feedback_items(_body())
    current_services().cds_feedback.add(service.id, items)
    return _json({})
