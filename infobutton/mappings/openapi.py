"""The OpenAPI 3.1 description of the service (served at /openapi.json): the mapping-management
API, and the public read-only surface (the infobutton answer in every format, the MedlinePlus
Connect paths, CDS Hooks discovery), so schemathesis can fuzz both from one document."""

from __future__ import annotations

import copy

from pydantic import BaseModel

from ..models import AGE_GROUPS, ROLES
from . import schemas
from .constraints import LIMITS


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(name: str) -> dict:
    """A required JSON request body of schema ``name``."""
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _problem(description: str) -> dict:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _errors(*codes: int) -> dict:
    text = {
        400: "Malformed request (bad JSON, bad query parameter)",
        401: "No token, or an unknown or revoked one",
        403: "The token's role may not do this (or a missing CSRF token with a session cookie)",
        404: "No such mapping, version or token",
        409: "Changed since read (If-Match), or the mappings moved on since a reviewed diff",
        422: "Validation failed: one message per bad field or CSV line; nothing was written",
        428: "If-Match is required",
    }
    return {str(c): _problem(text[c]) for c in codes}


def _param(
    name: str,
    description: str,
    schema: dict | None = None,
    where: str = "query",
    required: bool = False,
    examples: list | None = None,
) -> dict:
    schema = schema or {"type": "string"}
    if examples:
        schema = {**schema, "examples": examples}
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


def _model(model: type[BaseModel]) -> dict:
    """A model's JSON Schema, its references pointing into components/schemas."""
    return model.model_json_schema(ref_template="#/components/schemas/{model}")


def _params(model: type[BaseModel]) -> list[dict]:
    """The query parameters a query model takes, each with its field's schema."""
    found = _model(model)
    params = []
    for name, prop in found["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        description = prop.pop("description", name.replace("_", " ").capitalize())
        branches = [b for b in prop.pop("anyOf", []) if b != {"type": "null"}]
        schema = {**branches[0], **prop} if branches else prop
        if schema.get("default", "") is None:
            del schema["default"]
        params.append(_param(name, description, schema, required=name in found.get("required", ())))
    return params


_ID = _param("id", "Mapping id", {"type": "integer"}, "path", True)
_IF_MATCH = _param("If-Match", "The mapping's ETag (revision) as read", {"type": "string"}, "header", True)

_SCHEMAS = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "parameter": {"type": "string", "description": "The parameter or field that was wrong"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "line": {"type": "integer"},
                        "message": {"type": "string"},
                    },
                    "required": ["message"],
                },
            },
            "current": {"oneOf": [_ref("Mapping"), {"type": "null"}]},
        },
        "required": ["status", "title"],
    },
    "MappingInput": _model(schemas.MappingInput),
    "TokenInput": _model(schemas.TokenInput),
    "RestoreInput": _model(schemas.RestoreInput),
    "SuggestionKey": _model(schemas.SuggestionKey),
    "Mapping": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "code_system": {"type": "string"},
            "code_system_oid": {"type": "string"},
            "code": {"type": "string"},
            "topic_id": {"type": "string"},
            "scope": {"type": "string", "enum": ["exact", "descendants"]},
            "priority": {"type": "integer"},
            "min_age": {"type": ["number", "null"]},
            "max_age": {"type": ["number", "null"]},
            "gender": {"type": ["string", "null"]},
            "reason": {"type": "string"},
            **{
                limit.field: {
                    "type": "array",
                    "items": {"type": "string", "enum": list(limit.choices)},
                    "description": f"The {limit.noun} limit ({limit.parameter}): sorted codes, empty for any",
                }
                for limit in LIMITS
            },
            "revision": {"type": ["string", "null"], "description": "Also the ETag"},
        },
        "required": ["id", "code_system", "code", "topic_id", "scope", "priority"],
    },
    "MappingPage": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": _ref("Mapping")},
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "next_offset": {"type": ["integer", "null"]},
        },
    },
    "Topic": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "language": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "audience": {
                "type": "string",
                "enum": ["", "professional"],
                "description": 'Who it is written for: "" everyone, "professional" health professionals',
            },
        },
    },
    "ImportResult": {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "enum": ["merge", "replace"]},
            "base_version": {"type": "integer"},
            "added": {"type": "array", "items": _ref("Mapping")},
            "changed": {
                "type": "array",
                "items": {"type": "object", "properties": {"before": _ref("Mapping"), "after": _ref("Mapping")}},
            },
            "removed": {"type": "array", "items": _ref("Mapping")},
            "unchanged": {"type": "integer"},
            "dry_run": {"type": "boolean"},
            "version": {"type": ["integer", "null"], "description": "The new version, if written"},
        },
    },
    "Match": {
        "type": "object",
        "properties": {
            "topic_id": {"type": "string"},
            "title": {"type": "string"},
            "url": {"type": "string"},
            "language": {"type": "string"},
            "mapping_id": {"type": ["integer", "null"]},
            "distance": {"type": "integer"},
        },
    },
    "Preview": {
        "type": "object",
        "properties": {
            "now": {"type": "array", "items": _ref("Match")},
            "after": {"type": "array", "items": _ref("Match")},
            "changed": {"type": "boolean"},
        },
    },
    "AuditEntry": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "at": {"type": "string", "format": "date-time"},
            "actor": {"type": "string"},
            "action": {
                "type": "string",
                "enum": ["create", "update", "delete", "import", "restore", "replace", "accept"],
            },
            "mapping_id": {"type": ["integer", "null"]},
            "before": {"oneOf": [_ref("Mapping"), {"type": "null"}]},
            "after": {"oneOf": [_ref("Mapping"), {"type": "null"}]},
            "reason": {"type": "string"},
            "version": {"type": "integer"},
        },
    },
    "Version": {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "at": {"type": "string"},
            "actor": {"type": "string"},
            "action": {"type": "string"},
            "reason": {"type": "string"},
            "rule_count": {"type": "integer"},
        },
    },
    "Gap": {
        "type": "object",
        "properties": {
            "code_system": {"type": "string"},
            "code_system_oid": {"type": "string"},
            "code": {"type": "string"},
            "display": {"type": "string"},
            "valid": {"type": "boolean"},
            "requests": {"type": "integer"},
            "unmatched": {"type": "integer"},
            "last_day": {"type": "string"},
            "now_mapped": {"type": "boolean"},
            "suggestions": {
                "type": "array",
                "items": _ref("Suggestion"),
                "description": "Proposed rules that would answer it",
            },
        },
    },
    "CoverageRow": {
        "type": "object",
        "description": "Billable ICD-10-CM codes of a chapter or category, by the layer that answers them",
        "properties": {
            "key": {"type": "string", "description": "The chapter number or the category code; empty for the total"},
            "title": {"type": "string"},
            "billable": {"type": "integer"},
            "curated": {"type": "integer", "description": "A curated rule reaches the code, naming a served topic"},
            "automatic": {"type": "integer", "description": "No rule reaches it; the automatic layer answers it"},
            "unanswered": {"type": "integer"},
        },
    },
    "UnknownCodes": {
        "type": "object",
        "description": "Codes not in the data the service has (ICD-10-CM, the CMS GEM's ICD-9-CM, "
        "the SNOMED CT map file, the RxNorm list), counted in one bucket per code system",
        "properties": {
            "code_system": {"type": "string"},
            "requests": {"type": "integer"},
            "unmatched": {"type": "integer"},
            "last_day": {"type": "string"},
        },
    },
    "Suggestion": {
        "type": "object",
        "description": "A proposed curated rule, with the evidence: which official ICD-10-CM "
        "title holds which topic name. Confident only when the match is on the "
        "code's own title, no other topic matches there, no curated rule "
        "reaches the code (or sits below it), and it was not rejected below it.",
        "properties": {
            "code_system": {"type": "string"},
            "code_system_oid": {"type": "string"},
            "code": {"type": "string", "examples": ["E11"]},
            "topic_id": {"type": "string", "examples": ["diabetestype2"]},
            "topic_title": {"type": "string"},
            "scope": {"type": "string", "enum": ["exact", "descendants"]},
            "confident": {"type": "boolean"},
            "doubts": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Why it is not confident (empty when it is)",
            },
            "covers": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The asked codes the rule would answer",
            },
            "evidence": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "title": {"type": "string"},
                    "name": {"type": "string"},
                    "kind": {"type": "string", "enum": ["title", "also called", "MeSH heading"]},
                    "words": {"type": "array", "items": {"type": "string"}},
                    "exact": {"type": "boolean"},
                    "text": {"type": "string"},
                },
            },
            "reason": {"type": "string", "description": "The rule's reason when accepted"},
        },
        "required": ["code_system", "code", "topic_id", "scope", "confident", "evidence"],
    },
    "Rejection": {
        "type": "object",
        "properties": {
            "code_system": {"type": "string"},
            "code_system_oid": {"type": "string"},
            "code": {"type": "string"},
            "topic_id": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "actor": {"type": "string"},
            "reason": {"type": "string"},
        },
    },
    "Token": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "role": {"type": "string", "enum": list(ROLES)},
            "created_at": {"type": "string"},
            "last_used_at": {"type": ["string", "null"]},
        },
    },
}

_PATHS = {
    "/admin/api/me": {
        "get": {
            "summary": "Who the token belongs to",
            "operationId": "me",
            "responses": {
                "200": _json(
                    {"type": "object", "properties": {"name": {"type": "string"}, "role": {"type": "string"}}}
                ),
                **_errors(401),
            },
        }
    },
    "/admin/api/topics": {
        "get": {
            "summary": "Search active topics",
            "operationId": "listTopics",
            "parameters": _params(schemas.TopicsQuery),
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": _ref("Topic")},
                            "total": {"type": "integer"},
                        },
                    }
                ),
                **_errors(400, 401),
            },
        }
    },
    "/admin/api/mappings": {
        "get": {
            "summary": "List mappings (paged)",
            "operationId": "listMappings",
            "parameters": _params(schemas.MappingsQuery),
            "responses": {"200": _json(_ref("MappingPage")), **_errors(400, 401)},
        },
        "post": {
            "summary": "Add a mapping",
            "operationId": "createMapping",
            "description": "Validated before writing: the code exists in its system, the topic "
            "exists and is served, and no equal rule exists.",
            "requestBody": _body("MappingInput"),
            "responses": {
                "201": _json(_ref("Mapping"), "Created; ETag is the revision"),
                **_errors(400, 401, 403, 422),
            },
        },
    },
    "/admin/api/mappings/{id}": {
        "parameters": [_ID],
        "get": {
            "summary": "One mapping",
            "operationId": "getMapping",
            "responses": {"200": _json(_ref("Mapping")), **_errors(401, 404)},
        },
        "put": {
            "summary": "Change a mapping",
            "operationId": "updateMapping",
            "parameters": [_IF_MATCH],
            "requestBody": _body("MappingInput"),
            "responses": {"200": _json(_ref("Mapping")), **_errors(400, 401, 403, 404, 409, 422, 428)},
        },
        "delete": {
            "summary": "Retire a mapping",
            "operationId": "deleteMapping",
            "parameters": [_IF_MATCH, *_params(schemas.ReasonQuery)],
            "responses": {"204": {"description": "Deleted"}, **_errors(401, 403, 404, 409, 428)},
        },
    },
    "/admin/api/mappings/import": {
        "post": {
            "summary": "Import mappings from CSV",
            "operationId": "importMappings",
            "description": "Columns: code_system, code, topic_id, scope, priority, min_age, max_age, "
            "gender, reason, then the optional context limits audience, task, setting, language, age_group "
            "(codes separated by spaces; a missing column or an empty cell is any). "
            "Any bad line: 422 listing every bad line, nothing written.",
            "parameters": _params(schemas.ImportQuery),
            "requestBody": {
                "required": True,
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "contentMediaType": "text/csv"}},
                        }
                    },
                },
            },
            "responses": {"200": _json(_ref("ImportResult")), **_errors(400, 401, 403, 409, 422)},
        }
    },
    "/admin/api/mappings/export": {
        "get": {
            "summary": "All mappings as CSV (imports back unchanged)",
            "operationId": "exportMappings",
            "responses": {
                "200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                **_errors(401),
            },
        }
    },
    "/admin/api/preview": {
        "get": {
            "summary": "What an infobutton request returns now and after a proposed change",
            "operationId": "preview",
            "description": "Takes the infobutton request parameters (mainSearchCriteria.v.c, "
            "mainSearchCriteria.v.cs, age.v.v, informationRecipient, taskContext.c.c, encounter.c.c, "
            "ageGroup.v.c, …) plus one or more `with` changes, so a rule's context limits can be tried "
            "in each context. Nothing is written.",
            "parameters": [
                _param(
                    "with",
                    'A JSON change: {"op":"add","rule":{…}}, {"op":"update","id":n,'
                    '"rule":{…}} or {"op":"delete","id":n}; repeatable',
                ),
                _param("mainSearchCriteria.v.c", "Code"),
                _param("mainSearchCriteria.v.cs", "Code system OID"),
            ],
            "responses": {"200": _json(_ref("Preview")), **_errors(400, 401, 404, 422)},
        }
    },
    "/admin/api/audit": {
        "get": {
            "summary": "Who changed what, when and why (newest first)",
            "operationId": "audit",
            "parameters": _params(schemas.AuditQuery),
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": _ref("AuditEntry")},
                            "total": {"type": "integer"},
                        },
                    }
                ),
                **_errors(400, 401),
            },
        }
    },
    "/admin/api/versions": {
        "get": {
            "summary": "Numbered versions of the mapping set (newest first)",
            "operationId": "listVersions",
            "parameters": _params(schemas.PageQuery),
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": _ref("Version")},
                            "current": {"type": "integer"},
                        },
                    }
                ),
                **_errors(400, 401),
            },
        }
    },
    "/admin/api/versions/{n}": {
        "get": {
            "summary": "One version with its rules",
            "operationId": "getVersion",
            "parameters": [_param("n", "Version number", {"type": "integer"}, "path", True)],
            "responses": {"200": _json(_ref("Version")), **_errors(401, 404)},
        }
    },
    "/admin/api/versions/{n}/restore": {
        "post": {
            "summary": "Make the mapping set equal to version n again (as a new version)",
            "operationId": "restoreVersion",
            "parameters": [_param("n", "Version number", {"type": "integer"}, "path", True)],
            "requestBody": {**_body("RestoreInput"), "required": False},
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "restored": {"type": "integer"},
                            "version": {"type": "integer"},
                            "changed": {"type": "boolean"},
                        },
                    }
                ),
                **_errors(401, 403, 404),
            },
        }
    },
    "/admin/api/gaps": {
        "get": {
            "summary": "Codes requested in the last N days that found no topic",
            "operationId": "gaps",
            "parameters": _params(schemas.GapsQuery),
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "days": {"type": "integer"},
                            "items": {"type": "array", "items": _ref("Gap")},
                            "unknown": {
                                "type": "array",
                                "items": _ref("UnknownCodes"),
                                "description": "Requests for codes this service does not know, one entry per "
                                "code system: counted together, never listed",
                            },
                            "coverage": {
                                "type": "array",
                                "items": _ref("CoverageRow"),
                                "description": "Every chapter, then the total",
                            },
                        },
                    }
                ),
                **_errors(400, 401),
            },
        }
    },
    "/admin/api/coverage": {
        "get": {
            "summary": "Billable ICD-10-CM codes answered per chapter (or per category of one), by layer",
            "operationId": "coverage",
            "description": "Curated (a rule reaches the code), automatic (no rule; the automatic layer "
            "answers) and unanswered, so a librarian sees what is left. Worked out once per version of "
            "the mappings and the catalogue.",
            "parameters": _params(schemas.CoverageQuery),
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "chapter": {"type": ["string", "null"]},
                            "rows": {"type": "array", "items": _ref("CoverageRow")},
                            "total": _ref("CoverageRow"),
                        },
                    }
                ),
                **_errors(400, 401),
            },
        }
    },
    "/admin/api/suggestions": {
        "get": {
            "summary": "Proposed code → topic rules with their evidence",
            "operationId": "listSuggestions",
            "description": "For listed codes, the gap report's codes, or every billable ICD-10-CM code "
            "under a prefix (exactly one). Never what a curated rule already says, "
            "nor what was rejected.",
            "parameters": _params(schemas.SuggestionsQuery),
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": _ref("Suggestion")},
                            "total": {"type": "integer"},
                            "confident": {"type": "integer"},
                            "codes": {"type": "integer", "description": "How many codes were looked at"},
                        },
                    }
                ),
                **_errors(400, 401),
            },
        }
    },
    "/admin/api/suggestions/accept": {
        "post": {
            "summary": "Accept a suggestion: it becomes a curated rule (audited as accept)",
            "operationId": "acceptSuggestion",
            "requestBody": _body("SuggestionKey"),
            "responses": {
                "201": _json(_ref("Mapping"), "Created; ETag is the revision"),
                **_errors(400, 401, 403, 422),
                "409": _problem(
                    "Not a current suggestion: already curated, rejected, or no title holds the topic's name"
                ),
            },
        }
    },
    "/admin/api/suggestions/reject": {
        "post": {
            "summary": "Reject a suggestion: never suggested again for the code or below it",
            "operationId": "rejectSuggestion",
            "requestBody": _body("SuggestionKey"),
            "responses": {
                "201": _json(_ref("Rejection"), "Rejected"),
                "200": _json(_ref("Rejection"), "Already rejected (unchanged)"),
                **_errors(400, 401, 403, 422),
            },
        }
    },
    "/admin/api/suggestions/rejections": {
        "get": {
            "summary": "Rejected suggestions",
            "operationId": "listRejections",
            "responses": {
                "200": _json(
                    {"type": "object", "properties": {"items": {"type": "array", "items": _ref("Rejection")}}}
                ),
                **_errors(401),
            },
        },
        "delete": {
            "summary": "Un-reject: the suggestion may be made again",
            "operationId": "unrejectSuggestion",
            "parameters": _params(schemas.RejectionQuery),
            "responses": {
                "204": {"description": "Un-rejected"},
                **_errors(401, 403, 422),
                "404": _problem("That suggestion is not rejected"),
            },
        },
    },
    "/admin/api/tokens": {
        "get": {
            "summary": "List tokens (admin)",
            "operationId": "listTokens",
            "responses": {
                "200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Token")}}}),
                **_errors(401, 403),
            },
        },
        "post": {
            "summary": "Create a token (admin); the token is shown once",
            "operationId": "createToken",
            "requestBody": _body("TokenInput"),
            "responses": {
                "201": _json(
                    {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "role": {"type": "string"},
                            "token": {"type": "string"},
                        },
                    },
                    "Created",
                ),
                **_errors(400, 401, 403, 409, 422),
            },
        },
    },
    "/admin/api/tokens/{name}": {
        "delete": {
            "summary": "Revoke a token (admin)",
            "operationId": "revokeToken",
            "parameters": [_param("name", "Token name", where="path", required=True)],
            "responses": {"204": {"description": "Revoked"}, **_errors(401, 403, 404)},
        }
    },
}


# -- the public, read-only surface -----------------------------------------------------------

_ICD10CM = "2.16.840.1.113883.6.90"
_RESPONSE_TYPES = [
    "text/xml",
    "application/atom+xml",
    "application/json",
    "text/javascript",
    "application/fhir+json",
    "text/html",
]
_KNOWLEDGE_PARAMS = [
    _param(
        "mainSearchCriteria.v.c",
        "The code asked about (URL-IG §2.1.1); a second criterion takes a suffix (…v.c1)",
        examples=["C91.00", "E11.9", "44054006"],
    ),
    _param(
        "mainSearchCriteria.v.cs",
        "Its code system: an OID, a FHIR system URI or a name",
        examples=[_ICD10CM, "2.16.840.1.113883.6.96", "ICD-10-CM"],
    ),
    _param("mainSearchCriteria.v.dn", "The code's display name", examples=["Diabetes mellitus"]),
    _param(
        "mainSearchCriteria.v.ot",
        "Original text: searched when no valid code is given",
        examples=["asthma"],
    ),
    _param("informationRecipient", "Who reads the answer", {"type": "string", "enum": ["PAT", "PROV", "PAYOR"]}),
    _param(
        "informationRecipient.languageCode.c",
        "Language of the answer (en or es; other tags fall back to en)",
        examples=["en", "es", "es-US"],
    ),
    _param("performer", "Who asks", {"type": "string", "enum": ["PAT", "PROV", "PAYOR"]}),
    _param(
        "patientPerson.administrativeGenderCode.c",
        "The patient's administrative gender",
        {"type": "string", "enum": ["F", "M", "UN"]},
    ),
    _param("age.v.v", "The patient's age, in age.v.u units", {"type": "string"}, examples=["45", "6"]),
    _param(
        "age.v.u", "UCUM unit of age.v.v (default a)", {"type": "string", "enum": ["a", "mo", "wk", "d", "h", "min"]}
    ),
    _param("ageGroup.v.c", "MeSH age group", {"type": "string", "enum": sorted(AGE_GROUPS)}),
    _param(
        "taskContext.c.c", "HL7 ActTaskCode: rules limited to a task fire only for it; echoed", examples=["PROBLISTREV"]
    ),
    _param(
        "encounter.c.c",
        "HL7 ActEncounterCode: rules limited to a care setting fire only for it; echoed",
        examples=["AMB"],
    ),
    _param(
        "subTopic.v.c",
        "A MeSH qualifier (e.g. Q000628 therapy) selecting link sections; unknown ones are echoed and ignored",
    ),
    _param(
        "knowledgeResponseType",
        "The format (else negotiated from Accept; Atom by default)",
        {"type": "string", "enum": _RESPONSE_TYPES},
    ),
    _param("callback", "JSONP function name (text/javascript)", examples=["handleResponse"]),
]
_ANSWER_TYPES = {
    "text/xml": {"schema": {"type": "string", "description": "HL7 Knowledge Response (Atom)"}},
    "application/json": {"schema": {"type": "object", "description": "The Atom feed as JSON"}},
    "text/javascript": {"schema": {"type": "string", "description": "JSONP: the JSON answer wrapped in callback(…)"}},
    "application/fhir+json": {"schema": {"type": "object", "description": "FHIR R4 Bundle of DocumentReference"}},
    "text/html": {"schema": {"type": "string"}},
}
_PUBLIC_ERRORS = {
    "400": {"description": "A parameter is wrong; the problem names it (in the format asked for)"},
    "413": {"description": "Too many parameters or criteria, or a value too long"},
    "414": {"description": "Query string too long"},
    "429": {"description": "Too many requests from this client (Retry-After)"},
    "503": {"description": "The database is unreachable and the answer was not cached (Retry-After)"},
}


def _knowledge(summary: str, operation_id: str, answer: dict, post: bool = True) -> dict:
    """GET (and form POST, URL-IG §2) of a knowledge request, answered in ``answer``'s types."""
    responses = {
        "200": {"description": "The topics found (possibly none)", "content": answer},
        "304": {"description": "Not modified (If-None-Match matched the ETag)"},
        **_PUBLIC_ERRORS,
    }
    item: dict = {
        "get": {
            "summary": summary,
            "operationId": operation_id,
            "tags": ["public"],
            "security": [],
            "parameters": _KNOWLEDGE_PARAMS,
            "responses": responses,
        }
    }
    if post:
        form = {
            "type": "object",
            "properties": {p["name"]: p["schema"] for p in _KNOWLEDGE_PARAMS},
        }
        item["post"] = {
            "summary": summary + " (form-encoded, the same parameters)",
            "operationId": operation_id + "Form",
            "tags": ["public"],
            "security": [],
            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": form}}},
            "responses": responses,
        }
    return item


_PUBLIC_PATHS = {
    "/infobutton": _knowledge(
        "HL7 Infobutton knowledge request: Atom, JSON, JSONP, FHIR or HTML", "infobutton", _ANSWER_TYPES
    ),
    "/service": _knowledge("MedlinePlus Connect web-service path (as /infobutton)", "service", _ANSWER_TYPES),
    "/application": _knowledge(
        "MedlinePlus Connect web-application path: always the HTML page", "application", {"text/html": {}}
    ),
    "/cds-services": {
        "get": {
            "summary": "CDS Hooks 2.0 discovery",
            "operationId": "cdsDiscovery",
            "tags": ["public"],
            "security": [],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"services": {"type": "array", "items": {"type": "object"}}},
                        "required": ["services"],
                    }
                )
            },
        }
    },
    "/healthz": {
        "get": {
            "summary": "Liveness: the process answers (no database query; readiness is /readyz)",
            "operationId": "healthz",
            "tags": ["public"],
            "security": [],
            "responses": {
                "200": _json({"type": "object", "properties": {"status": {"type": "string"}}}),
            },
        }
    },
}
PUBLIC_PATHS = tuple(_PUBLIC_PATHS)

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Infobutton responder and mapping management API",
        "version": "1",
        "description": "The public infobutton answer (no token), and the management of its "
        "code → health-topic mappings. Roles: viewer (read), editor (+ change, import, restore), "
        "admin (+ tokens).",
        "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": _PUBLIC_PATHS | _PATHS,
    "components": {
        "schemas": _SCHEMAS,
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from `infobutton admin create-token`",
            }
        },
    },
}


def document() -> dict:
    return copy.deepcopy(DOCUMENT)
