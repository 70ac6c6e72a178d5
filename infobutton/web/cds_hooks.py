"""CDS Hooks 2.0 endpoints: discovery, the patient-view and order-select services, feedback.

Every service and feedback call is authenticated (``cds.gate``: the EHR's JWT, 401 otherwise,
unless development mode allows calls without one); discovery is public. Errors are problem+json
(web.error_response): 400 for a malformed body naming the field, 401 for a caller we do not trust,
404 for an unknown service, 412 when the data a service needs was neither prefetched nor
fetchable (§Prefetch), 429 for too much feedback, 503 when every fetch slot is busy. CORS headers
only for the origins in INFOBUTTON_CDS_CORS_ORIGINS (none by default).
"""

from __future__ import annotations

import json
import logging
from datetime import date
from urllib.parse import urljoin

from flask import Blueprint, Response, current_app, request

from ..cds import clinical, discovery, hook_call, prefetch
from ..cds import feedback as cds_feedback
from ..cds.auth import Caller, Unauthorized
from ..cds.card_ids import CardIds
from ..models import InvalidRequest
from ..render import cds_cards, safe_json
from ..services import current_services
from ..text import check_storable
from . import cors
from .errors import error_response
from .hooks import plain_answer_safe

log = logging.getLogger(__name__)
PREFIX = "/cds-services"
bp = Blueprint("cds_hooks", __name__, url_prefix=PREFIX)

MAX_BODY_BYTES = 4 * 1024 * 1024  # prefetched Bundles are larger than infobutton forms
MAX_SUBJECTS = 100  # conditions or orders resolved per call
CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Expose-Headers": "Origin, Accept, Content-Location, Location, X-Requested-With",
    "Access-Control-Max-Age": "86400",
}
BUSY_RETRY_AFTER = 2  # seconds, when every fetch slot is taken


@bp.before_request
def _larger_bodies() -> None:
    feedback = request.path.endswith("/feedback")
    request.max_content_length = cds_feedback.MAX_BYTES if feedback else MAX_BODY_BYTES


@bp.after_app_request
@plain_answer_safe  # on /cds-services only
def _cors(response: Response) -> Response:
    """On every /cds-services response, errors and preflights included: the allowed origin
    echoed, never ``*`` (config refuses it). Origins compare as ``web.cors`` compares them: case
    and a trailing slash aside, so ``https://sandbox.cds-hooks.org/`` allows the sandbox too."""
    if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        origin = request.headers.get("Origin", "")
        if origin and cors.policy(current_services().settings.cds_cors_origins).allowed(origin):
            response.headers.update(CORS_HEADERS)
            response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
    return response


@bp.after_request
def _challenge(response: Response) -> Response:
    """A 401 says how to authenticate (RFC 9110 §11.6.1): a bearer JWT (RFC 6750 §3), and
    ``invalid_token`` when the one sent was refused."""
    if response.status_code == 401 and "WWW-Authenticate" not in response.headers:
        sent = bool(request.headers.get("Authorization", "").strip())
        challenge = 'Bearer realm="cds-services"'
        response.headers["WWW-Authenticate"] = challenge + (', error="invalid_token"' if sent else "")
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
    check_storable(value)
    return value


def _service(service_id: str) -> discovery.CdsService:
    service = discovery.SERVICES.get(service_id)
    if service is None:
        raise InvalidRequest("service", "no such CDS service; see GET /cds-services", 404)
    return service


@bp.get("")
def services_list():
    return _json(discovery.discovery_document())


class Busy(Exception):
    """Every fetch slot of this worker is taken (slow FHIR servers): 503 now, not a wait."""


def _base_url() -> str:
    return current_services().settings.base_url or request.host_url


def _caller(service_id: str, feedback: bool = False) -> Caller:
    """The verified caller: ``aud`` must be our service URL, the discovery endpoint or the
    service's own endpoint (CDS Hooks 2.0 §Trusting CDS Clients); for feedback also the feedback
    endpoint, which is what the CDS Hooks sandbox and EHRs that sign the URL they call send."""
    discovery_url = urljoin(_base_url(), PREFIX.lstrip("/"))
    audiences = [discovery_url, discovery_url + "/", f"{discovery_url}/{service_id}"]
    if feedback:
        audiences.append(f"{discovery_url}/{service_id}/feedback")
    try:
        return current_services().cds.caller(request.headers.get("Authorization"), audiences, request.remote_addr or "")
    except Unauthorized as exc:
        raise InvalidRequest("Authorization", str(exc), 401) from None
    except prefetch.Busy:  # the issuer's keys must be read, and every fetch slot is taken
        raise Busy() from None


def _clinical_data(call: hook_call.HookCall, caller: Caller) -> dict:
    """The prefetch, completed from fhirServer where the EHR left keys out (§Prefetch)."""
    missing = call.missing()
    needed = [k for k in missing if k in call.service.required]
    data = dict(call.prefetch)
    if not missing:
        return data
    if not call.fhir_server:
        if needed:
            raise InvalidRequest(
                "prefetch", f"{', '.join(needed)} not prefetched and no fhirServer given to fetch from", 412
            )
        return data
    gate = current_services().cds
    try:
        base = gate.fhir_base(caller, call.fhir_server)
        data.update(gate.fetcher.fetch(base, call, missing))
    except prefetch.Unavailable as exc:
        if needed:
            raise InvalidRequest("fhirServer", str(exc), 412) from None
    except prefetch.Busy:
        if needed:
            raise Busy() from None
    return data


@bp.errorhandler(Busy)
def _busy(_exc: Busy):
    response = error_response(503, "busy reading other FHIR servers; try again shortly", "fhirServer")
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
    return response


@bp.post("/<service_id>")
def call_service(service_id: str):
    service = _service(service_id)
    caller = _caller(service_id)
    call = hook_call.parse(_body(), service)
    data = _clinical_data(call, caller)
    age, gender = clinical.demographics(data.get("patient"), date.today())
    if service.hook == "patient-view":
        subjects = clinical.condition_subjects(data.get("conditions"))
    else:
        subjects = clinical.order_subjects(call.context["draftOrders"], call.context["selections"])
    knowledge = current_services().knowledge
    answers = [
        (subject, knowledge.resolve(clinical.knowledge_request(subject, age, gender)))
        for subject in subjects[:MAX_SUBJECTS]
    ]
    body = cds_cards.cards(answers, _base_url(), age, gender, _card_ids().new)
    log.info("cds %s: %d subjects, %d cards", service.id, len(answers), len(body["cards"]))
    return _json(body)


def _card_ids() -> CardIds:
    return CardIds(str(current_app.secret_key))


@bp.post("/<service_id>/feedback")
def feedback(service_id: str):
    service = _service(service_id)
    caller = _caller(service_id, feedback=True)
    services = current_services()
    limit = services.cds.feedback_rate
    breached = limit.hit(caller.client)
    if breached is not None:
        response = error_response(429, "too much feedback from this client; slow down", "feedback")
        response.headers["Retry-After"] = str(limit.retry_after(breached[1]))
        return response
    items = cds_feedback.items(_body(), _card_ids().issued)
    services.cds_feedback.add(service.id, items)
    return _json({})
