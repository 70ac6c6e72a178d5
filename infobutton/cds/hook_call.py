"""A CDS Hooks 2.0 service request body (§HTTP Request) → a typed HookCall, or InvalidRequest (400)
naming the field that was wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..models import InvalidRequest
from .discovery import CdsService

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}\Z")


@dataclass(frozen=True)
class HookCall:
    service: CdsService
    hook_instance: str
    context: dict
    patient_id: str
    prefetch: dict = field(default_factory=dict)  # key → resource, only the keys we declared
    fhir_server: str | None = None
    access_token: str | None = None

    def missing(self) -> tuple[str, ...]:
        """Declared prefetch keys the EHR did not send (absent or null, §Prefetch)."""
        return tuple(k for k in self.service.prefetch if not isinstance(self.prefetch.get(k), dict))


def _object(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise InvalidRequest(name, "must be a JSON object")
    return value


def _string(value, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(name, "must be a non-empty string")
    return value


def parse(body, service: CdsService) -> HookCall:
    """Validate a decoded JSON body against the hook this service answers."""
    body = _object(body, "body")
    hook = _string(body.get("hook"), "hook")
    if hook != service.hook:
        raise InvalidRequest("hook", f"this service answers {service.hook}, not {hook[:40]!r}")
    hook_instance = _string(body.get("hookInstance"), "hookInstance")
    context = _object(body.get("context"), "context")
    patient_id = _string(context.get("patientId"), "context.patientId")
    if not FHIR_ID.match(patient_id) or not patient_id.strip("."):
        raise InvalidRequest("context.patientId", "must be a FHIR id ([A-Za-z0-9-.]{1,64})")
    if service.hook == "order-select":
        selections = context.get("selections")
        if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
            raise InvalidRequest("context.selections", "must be an array of strings")
        draft = _object(context.get("draftOrders"), "context.draftOrders")
        if draft.get("resourceType") != "Bundle":
            raise InvalidRequest("context.draftOrders", "must be a FHIR Bundle")

    fhir_server = body.get("fhirServer")
    if fhir_server is not None:
        fhir_server = _string(fhir_server, "fhirServer")
        parts = urlsplit(fhir_server)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidRequest("fhirServer", "must be an absolute http(s) URL")
    token = None
    auth = body.get("fhirAuthorization")
    if auth is not None:
        auth = _object(auth, "fhirAuthorization")
        token = _string(auth.get("access_token"), "fhirAuthorization.access_token")
        if str(auth.get("token_type", "Bearer")).lower() != "bearer":
            raise InvalidRequest("fhirAuthorization.token_type", "must be Bearer")

    prefetch = body.get("prefetch")
    if prefetch is None:
        prefetch = {}
    prefetch = _object(prefetch, "prefetch")
    kept = {}
    for key in service.prefetch:
        value = prefetch.get(key)
        if value is not None and not (isinstance(value, dict) and isinstance(value.get("resourceType"), str)):
            raise InvalidRequest(f"prefetch.{key}", "must be a FHIR resource or null")
        if value is not None:
            kept[key] = value
    return HookCall(service, hook_instance, context, patient_id, kept, fhir_server, token)
