"""Knowledge Response as FHIR R4 (4.0.1, R4B models): a ``searchset`` Bundle of DocumentReference.

One DocumentReference per topic (FHIR R4 §DocumentReference): ``status`` current,
``description`` the title, one ``content.attachment`` per language version (url, title,
contentType text/html, language), the matched code as ``category`` and, by identifier, in
``context.related``, the National Library of Medicine as ``author`` and ``custodian``.
``Bundle.link`` self is the request (FHIR R4 §3.1.1.4 search). Every resource is built and
validated through ``fhir.resources.R4B`` before it is serialised; errors become OperationOutcome.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.operationoutcome import OperationOutcome

from .. import terminology
from ..models import KnowledgeRequest, TopicMatch
from ..request import query_pairs
from . import safe_json
from .atom import AUTHOR, feed_id

CONTENT_TYPE = "application/fhir+json; charset=utf-8"
URI = "urn:ietf:rfc:3986"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9\-.]")
# FHIR R4 IssueType for the HTTP statuses our errors carry.
_ISSUE_CODES = {404: "not-found", 405: "not-supported", 406: "not-supported", 412: "incomplete",
                413: "too-long", 414: "too-long", 415: "not-supported"}


def resource_id(topic_id: str) -> str:
    """A FHIR id ([A-Za-z0-9-.]{1,64}) for a topic id."""
    return _ID_UNSAFE.sub("-", topic_id)[:64] or "topic"


def _publisher() -> dict:
    return {"display": AUTHOR[0], "identifier": {"system": URI, "value": AUTHOR[1]}}


def _instant(date: str) -> str | None:
    return f"{date}T00:00:00Z" if date else None


def document_reference(match: TopicMatch) -> DocumentReference:
    topic = match.topic
    attachments = [{"contentType": "text/html", "language": topic.language, "url": topic.url,
                    "title": topic.title}]
    if topic.twin is not None and topic.twin.url:
        other = "es" if topic.language == "en" else "en"
        attachments.append({"contentType": "text/html", "language": other, "url": topic.twin.url,
                            "title": topic.twin.title})
    body: dict = {
        "resourceType": "DocumentReference",
        "id": resource_id(topic.id),
        "masterIdentifier": {"system": URI, "value": topic.url},
        "status": "current",
        "type": {"text": "Health topic"},
        "description": topic.title,
        "author": [_publisher()],
        "custodian": _publisher(),
        "content": [{"attachment": a} for a in attachments],
    }
    date = _instant(topic.date_updated or topic.date_reviewed or topic.date_created)
    if date:
        body["date"] = date
    code = match.criterion.code
    if code is not None:
        coding = {"system": code.system.uri, "code": code.value}
        display = terminology.describe(code) or match.criterion.display_name
        if display:
            coding["display"] = display
        body["category"] = [{"coding": [coding], "text": display or f"{code.system.label} {code.value}"}]
        body["context"] = {"related": [{"identifier": {"system": code.system.uri, "value": code.value},
                                        "display": f"{code.system.label} {code.value}"}]}
    elif match.criterion.original_text or match.criterion.display_name:
        body["category"] = [{"text": match.criterion.original_text or match.criterion.display_name}]
    return DocumentReference.model_validate(body)


def bundle(request: KnowledgeRequest, matches: list[TopicMatch], now: datetime,
           self_url: str = "") -> Bundle:
    """The searchset Bundle for a request and its ranked matches."""
    body: dict = {
        "resourceType": "Bundle",
        "id": feed_id(request).removeprefix("urn:uuid:"),
        "meta": {"lastUpdated": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
        "type": "searchset",
        "total": len(matches),
        "entry": [
            {
                "fullUrl": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, m.topic.url)),
                "resource": document_reference(m),
                "search": {"mode": "match", "score": m.relevance},
            }
            for m in matches
        ],
    }
    if self_url:
        body["link"] = [{"relation": "self", "url": self_url}]
    if not body["entry"]:
        del body["entry"]
    return Bundle.model_validate(body)


def serialise(resource) -> bytes:
    """Compact JSON of a validated resource, with markup characters escaped (render.safe_json)."""
    return safe_json.escape(resource.model_dump_json(exclude_none=True)).encode()


def self_link(request: KnowledgeRequest, self_url: str) -> str:
    """The request as a canonical URL: rebuilt from the parsed request (so a cached Bundle never
    carries another caller's extra parameters) on the path it was sent to."""
    if not self_url:
        return ""
    parts = urlsplit(self_url)
    query = urlencode(query_pairs(request, request.language, "application/fhir+json"))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def render(request: KnowledgeRequest, matches: list[TopicMatch], ctx) -> bytes:
    return serialise(bundle(request, matches, ctx.now, self_link(request, ctx.self_url)))


def operation_outcome(problem: dict) -> tuple[bytes, str]:
    """An RFC 9457 problem as a FHIR OperationOutcome (FHIR R4 §3.1.0.4 errors)."""
    status = int(problem.get("status", 400))
    code = _ISSUE_CODES.get(status, "exception" if status >= 500 else "invalid")
    issue: dict = {"severity": "error" if status < 500 else "fatal", "code": code,
                   "diagnostics": str(problem.get("detail", ""))}
    if problem.get("parameter"):
        issue["expression"] = [str(problem["parameter"])]
    outcome = OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": [issue]})
    return serialise(outcome), CONTENT_TYPE


def parse(body: bytes | str) -> Bundle:
    """Read a Bundle back through the models (round-trip tests, clients)."""
    return Bundle.model_validate(json.loads(body))
