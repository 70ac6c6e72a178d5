"""Error bodies in the caller's format: RFC 9457 problem details as JSON or XML, or a small page.

The body names the parameter that was wrong; request values are never echoed unescaped.
"""

from __future__ import annotations

import re
from html import escape
from http import HTTPStatus

from lxml import etree

from . import fhir, safe_json

PROBLEM_NS = "urn:ietf:rfc:7807"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _clean(text: str) -> str:
    """Request values quoted in a message, made safe for any format: control characters dropped,
    lone surrogates (which UTF-8 cannot carry) replaced."""
    return _CONTROL.sub("", text).encode("utf-8", "replace").decode()


def problem(status: int, detail: str, parameter: str | None = None) -> dict:
    """The one problem body (RFC 9457) every error answer is made from, in every format."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": _clean(detail),
    }
    if parameter:
        body["parameter"] = _clean(parameter)
    return body


def render(kind: str, body: dict) -> tuple[bytes, str]:
    """(bytes, content type) for a problem, in the error kind of the negotiated format."""
    if kind == "json":
        return safe_json.dumps(body), "application/problem+json"
    if kind == "fhir":  # FHIR callers get an OperationOutcome (FHIR R4 §3.1.0.4)
        return fhir.operation_outcome(body)
    if kind == "html":
        where = f"<code>{escape(body['parameter'])}</code>: " if body.get("parameter") else ""
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="stylesheet" href="/static/page.css">'
            f"<title>{escape(body['title'])}</title></head><body><main><h1>{escape(body['title'])}</h1>"
            f"<p>{where}{escape(body['detail'])}</p></main></body></html>"
        )
        return page.encode(), "text/html; charset=utf-8"
    root = etree.Element(f"{{{PROBLEM_NS}}}problem", nsmap={None: PROBLEM_NS})  # type: ignore[dict-item]
    for key, value in body.items():
        etree.SubElement(root, f"{{{PROBLEM_NS}}}{key}").text = str(value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), "application/problem+xml"
