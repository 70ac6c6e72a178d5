"""Fetch what the EHR did not prefetch from its ``fhirServer`` (CDS Hooks 2.0 §FHIR Resource
Access), with the bearer token from ``fhirAuthorization``, a timeout on every call, a size cap,
no redirects (the token goes nowhere else) and at most a few search pages.

Failures raise Unavailable; the view answers 412 (§Prefetch: the service cannot get the data it
needs). Nothing about the patient is logged: not the URL, not the body.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

import requests

from .hook_call import HookCall

MAX_BYTES = 5 * 1024 * 1024
MAX_PAGES = 5


class Unavailable(Exception):
    """The data a service needs could not be obtained; the message is safe to show."""


def allowed(server: str, prefixes: str) -> bool:
    """Whether a fhirServer is on the configured allow-list (comma-separated prefixes; empty: any)."""
    wanted = [p.strip() for p in prefixes.split(",") if p.strip()]
    return not wanted or any(server.startswith(p) for p in wanted)


def _get(session: requests.Session, url: str, timeout: float) -> dict:
    try:
        with session.get(url, timeout=timeout, allow_redirects=False, stream=True) as response:
            if response.status_code != 200:
                raise Unavailable(f"the FHIR server answered {response.status_code}")
            body = b""
            for chunk in response.iter_content(65536):
                body += chunk
                if len(body) > MAX_BYTES:
                    raise Unavailable("the FHIR server's answer is too large")
            value = json.loads(body) if body else {}
    except requests.Timeout:
        raise Unavailable("the FHIR server did not answer in time") from None
    except (requests.RequestException, ValueError):
        raise Unavailable("the FHIR server could not be read") from None
    if not isinstance(value, dict):
        raise Unavailable("the FHIR server did not answer with a resource")
    return value


def _search(session, base: str, query: str, timeout: float) -> dict:
    """A search Bundle with the entries of up to MAX_PAGES pages on the same server."""
    bundle = _get(session, base + query, timeout)
    entries = list(bundle.get("entry") or []) if isinstance(bundle, dict) else []
    for _ in range(MAX_PAGES - 1):
        following = next(
            (
                link.get("url")
                for link in bundle.get("link") or []
                if isinstance(link, dict) and link.get("relation") == "next"
            ),
            None,
        )
        if not isinstance(following, str) or not following.startswith(base):
            break
        bundle = _get(session, following, timeout)
        if not isinstance(bundle, dict):
            break
        entries += list(bundle.get("entry") or [])
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def fetch(call: HookCall, keys: tuple[str, ...], timeout: float) -> dict:
    """The prefetch values for ``keys`` (a subset of patient, conditions) read from fhirServer."""
    if not call.fhir_server:
        raise Unavailable("prefetch " + ", ".join(keys) + " missing and no fhirServer given")
    base = call.fhir_server.rstrip("/") + "/"
    if urlsplit(base).scheme not in ("http", "https"):
        raise Unavailable("fhirServer must be http(s)")
    session = requests.Session()
    session.trust_env = False  # no proxies or netrc credentials from the environment
    session.headers["Accept"] = "application/fhir+json"
    if call.access_token:
        session.headers["Authorization"] = f"Bearer {call.access_token}"
    found = {}
    with session:
        for key in keys:
            if key == "patient":
                found[key] = _get(session, f"{base}Patient/{call.patient_id}", timeout)
            elif key == "conditions":
                query = "Condition?" + urlencode({"patient": call.patient_id, "clinical-status": "active"})
                found[key] = _search(session, base, query, timeout)
    return found
