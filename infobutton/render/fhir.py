"""Knowledge Response as FHIR R4 (4.0.1, R4B models): a ``searchset`` Bundle of DocumentReference.

One DocumentReference per topic (FHIR R4 §DocumentReference): ``status`` current,
``description`` the title, one ``content.attachment`` per language version (url, title,
contentType text/html, language), the matched code as ``category`` and, by identifier, in
``context.related``. Where the answer came from (docs/decisions.md): the resolution layer as a
``meta.tag`` in our code system ``PROVENANCE_SYSTEM``, the reason in words in the extension
``REASON_EXTENSION`` on every resource (``attribution.reason``); ``author`` is whoever wrote the
text the topic carries (NLM only for MedlinePlus text, an upstream's host for its text, none for
a link-only topic), ``custodian`` the site that holds the linked page, named by its address;
``date`` the date the topic is known by (``atom.topic_date``: its last update, else its review,
else its catalogue's date), absent when nothing dates it. When the request names known
subtopics (subTopic.v.c), the topic's links in the sections they select are ``context.related``
references (by URL identifier, displayed as "section: title") and the qualifiers they answer are
``category`` codings in MeSH.
``Bundle.link`` self is the request (FHIR R4 §3.1.1.4 search). Every resource is built and
validated through ``fhir.resources.R4B`` before it is serialised; errors become OperationOutcome.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlencode, urlsplit, urlunsplit

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.operationoutcome import OperationOutcome

from .. import sites, subtopics, terminology
from ..models import CodeSystem, KnowledgeRequest, TopicMatch
from ..request import query_pairs
from . import attribution, safe_json
from .atom import feed_id, feed_updated, section_links, topic_date

CONTENT_TYPE = "application/fhir+json; charset=utf-8"
URI = "urn:ietf:rfc:3986"
# Ours, fixed for good (name-based UUIDs of "infobutton:fhir/CodeSystem/match-provenance" and
# "infobutton:fhir/StructureDefinition/match-reason"): the project has no domain to mint URLs in.
PROVENANCE_SYSTEM = "urn:uuid:bfd04777-3a6b-5da2-b721-60e432ff0386"  # codes: Provenance values
REASON_EXTENSION = "urn:uuid:5b897310-614c-501e-b68d-7311318d8aca"  # valueString: the reason
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9\-.]")
# FHIR R4 IssueType for the HTTP statuses our errors carry.
_ISSUE_CODES = {
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    412: "incomplete",
    413: "too-long",
    414: "too-long",
    415: "not-supported",
}


def resource_id(topic_id: str) -> str:
    """A FHIR id ([A-Za-z0-9-.]{1,64}) for a topic id."""
    return _ID_UNSAFE.sub("-", topic_id)[:64] or "topic"


def _organisation(name: str, uri: str) -> dict:
    reference: dict = {"display": name}
    if uri:
        reference["identifier"] = {"system": URI, "value": uri}
    return reference


def _custodian(url: str) -> dict | None:
    """The site that holds the linked page, by its address (no claim about who wrote what)."""
    host = attribution.host(url)
    if not host:
        return None
    scheme = url.split(":", 1)[0].lower()
    return _organisation("MedlinePlus.gov" if attribution.on_medlineplus(url) else host, f"{scheme}://{host}")


def document_reference(
    match: TopicMatch, chosen: subtopics.Selection = subtopics.NONE, child: bool | None = None
) -> DocumentReference:
    """The DocumentReference for one match; ``chosen`` (the request's subtopics) adds the links
    of the sections it selects, in the order that suits the patient (``child``)."""
    topic = match.topic
    attachments = [{"contentType": "text/html", "language": topic.language, "url": topic.url, "title": topic.title}]
    if topic.twin is not None and topic.twin.url:
        other = "es" if topic.language == "en" else "en"
        attachments.append(
            {"contentType": "text/html", "language": other, "url": topic.twin.url, "title": topic.twin.title}
        )
    body: dict = {
        "resourceType": "DocumentReference",
        "id": resource_id(topic.id),
        "masterIdentifier": {"system": URI, "value": topic.url},
        "status": "current",
        "type": {"text": "Health topic"},
        "meta": {
            "tag": [
                {
                    "system": PROVENANCE_SYSTEM,
                    "code": match.provenance.value,
                    "display": attribution.LAYERS["en"][match.provenance],
                }
            ]
        },
        "description": topic.title,
        "content": [{"attachment": a} for a in attachments],
    }
    body["extension"] = [{"url": REASON_EXTENSION, "valueString": attribution.reason(match)}]
    credit = attribution.credit(topic)
    if credit.author is not None:
        body["author"] = [_organisation(*credit.author)]
    custodian = _custodian(topic.url)
    if custodian is not None:
        body["custodian"] = custodian
    if date := topic_date(topic):
        body["date"] = f"{date}T00:00:00Z"  # the date it is known by (atom.topic_date), never its creation
    code = match.criterion.code
    if code is not None:
        coding = {"system": code.system.uri, "code": code.value}
        display = terminology.describe(code) or match.criterion.display_name
        if display:
            coding["display"] = display
        body["category"] = [{"coding": [coding], "text": display or f"{code.system.label} {code.value}"}]
        body["context"] = {
            "related": [
                {
                    "identifier": {"system": code.system.uri, "value": code.value},
                    "display": f"{code.system.label} {code.value}",
                }
            ]
        }
    elif match.criterion.original_text or match.criterion.display_name:
        body["category"] = [{"text": match.criterion.original_text or match.criterion.display_name}]
    selected = section_links(topic, chosen, child)
    for qualifier in chosen.answered(selected):
        coding = {"system": CodeSystem.MESH.uri, "code": qualifier.id, "display": qualifier.name}
        body.setdefault("category", []).append({"coding": [coding], "text": qualifier.name})
    if selected:
        body.setdefault("context", {}).setdefault("related", []).extend(
            {"identifier": {"system": URI, "value": site.url}, "display": f"{site.category}: {site.title}"}
            for site in selected
        )
    return DocumentReference.model_validate(body)


def bundle(request: KnowledgeRequest, matches: list[TopicMatch], self_url: str = "") -> Bundle:
    """The searchset Bundle for a request and its ranked matches; ``meta.lastUpdated`` is when
    the answer's content last changed (``atom.feed_updated``), never the render time."""
    chosen, child = subtopics.selection(request), sites.patient_is_child(request)
    body: dict = {
        "resourceType": "Bundle",
        "id": feed_id(request).removeprefix("urn:uuid:"),
        "meta": {"lastUpdated": feed_updated(matches)},
        "type": "searchset",
        "total": len(matches),
        "entry": [
            {
                "fullUrl": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, m.topic.url)),
                "resource": document_reference(m, chosen, child),
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
    return serialise(bundle(request, matches, self_link(request, ctx.self_url)))


def operation_outcome(problem: dict) -> tuple[bytes, str]:
    """An RFC 9457 problem as a FHIR OperationOutcome (FHIR R4 §3.1.0.4 errors)."""
    status = int(problem.get("status", 400))
    code = _ISSUE_CODES.get(status, "exception" if status >= 500 else "invalid")
    issue: dict = {
        "severity": "error" if status < 500 else "fatal",
        "code": code,
        "diagnostics": str(problem.get("detail", "")),
    }
    if problem.get("parameter"):
        issue["expression"] = [str(problem["parameter"])]
    outcome = OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": [issue]})
    return serialise(outcome), CONTENT_TYPE


def parse(body: bytes | str) -> Bundle:
    """Read a Bundle back through the models (round-trip tests, clients)."""
    return Bundle.model_validate(json.loads(body))
