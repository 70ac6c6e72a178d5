"""The OpenAPI 3.1 description of the mapping-management API (served at /openapi.json)."""

from __future__ import annotations

import copy

from ..models import ROLES


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


_PAGE = [
    _param("limit", "Page size", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
    _param("offset", "Items to skip", {"type": "integer", "minimum": 0, "default": 0}),
]
_ID = _param("id", "Mapping id", {"type": "integer"}, "path", True)
_IF_MATCH = _param("If-Match", "The mapping's ETag (revision) as read", {"type": "string"}, "header", True)
_NULLABLE_NUMBER = {"type": ["number", "null"], "minimum": 0, "maximum": 150}

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
    "MappingInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["code_system", "code", "topic_id"],
        "properties": {
            "code_system": {
                "type": "string",
                "description": "OID, FHIR URI or name (ICD-10-CM)",
                "examples": ["ICD-10-CM", "2.16.840.1.113883.6.96"],
            },
            "code": {"type": "string", "examples": ["C91.0"]},
            "topic_id": {"type": "string", "description": "An active English topic", "examples": ["leukemia"]},
            "scope": {"type": "string", "enum": ["exact", "descendants"], "default": "descendants"},
            "priority": {"type": "integer", "minimum": -1000, "maximum": 1000, "default": 0},
            "min_age": {**_NULLABLE_NUMBER, "description": "Inclusive, years"},
            "max_age": {**_NULLABLE_NUMBER, "description": "Exclusive, years"},
            "gender": {"type": ["string", "null"], "enum": ["F", "M", "UN", None]},
            "reason": {"type": "string", "maxLength": 1000},
            "change_reason": {"type": "string", "description": "Why, for the audit log"},
            "revision": {"type": "string", "description": "Instead of If-Match"},
            "id": {"type": "integer"},
            "code_system_oid": {"type": "string"},
        },
    },
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
    "SuggestionKey": {
        "type": "object",
        "required": ["code", "topic_id"],
        "properties": {
            "code_system": {"type": "string", "default": "ICD-10-CM"},
            "code": {"type": "string", "examples": ["E11"]},
            "topic_id": {"type": "string", "examples": ["diabetestype2"]},
            "reason": {"type": "string", "description": "Why (rejections)"},
            "change_reason": {"type": "string", "description": "Why, for the audit log (accept)"},
        },
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
            "parameters": [_param("q", "Text in the title, id or also-called names"), _PAGE[0]],
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
            "parameters": [
                _param("code_system", "OID, URI or name"),
                _param("code", "Exact code"),
                _param("topic_id", "Exact topic id"),
                _param("q", "Text search"),
                *_PAGE,
            ],
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
            "parameters": [_IF_MATCH, _param("reason", "Why, for the audit log")],
            "responses": {"204": {"description": "Deleted"}, **_errors(401, 403, 404, 409, 428)},
        },
    },
    "/admin/api/mappings/import": {
        "post": {
            "summary": "Import mappings from CSV",
            "operationId": "importMappings",
            "description": "Columns: code_system, code, topic_id, scope, priority, min_age, max_age, "
            "gender, reason. Any bad line: 422 listing every bad line, nothing written.",
            "parameters": [
                _param("dry_run", "1: return the diff without writing", {"type": "boolean"}),
                _param(
                    "mode",
                    "merge adds and updates; replace also removes rules the CSV lacks",
                    {"type": "string", "enum": ["merge", "replace"], "default": "merge"},
                ),
                _param("reason", "Why, for the audit log"),
                _param(
                    "base_version",
                    "Write only if the mappings are still at this version (the one a reviewed dry run showed)",
                    {"type": "integer"},
                ),
            ],
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
            "mainSearchCriteria.v.cs, age.v.v, …) plus one or more `with` changes. "
            "Nothing is written.",
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
            "parameters": [
                _param("mapping_id", "One mapping's history", {"type": "integer"}),
                _param("version", "One version's changes", {"type": "integer"}),
                *_PAGE,
            ],
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
            "parameters": _PAGE,
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
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {"schema": {"type": "object", "properties": {"reason": {"type": "string"}}}}
                },
            },
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
            "parameters": [
                _param("days", "Days back, today included", {"type": "integer", "minimum": 1, "default": 30}),
                _param("include_mapped", "Also codes mapped since", {"type": "boolean"}),
                _PAGE[0],
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"days": {"type": "integer"}, "items": {"type": "array", "items": _ref("Gap")}},
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
            "parameters": [
                _param("codes", "ICD-10-CM codes, comma-separated", examples=["E11.9,C91.00"]),
                _param("prefix", "Every billable ICD-10-CM code under this prefix", examples=["E11"]),
                _param("gaps", "1: the gap report's codes", {"type": "boolean"}),
                _param(
                    "days",
                    "With gaps: days back, today included",
                    {"type": "integer", "minimum": 1, "maximum": 3650, "default": 30},
                ),
            ],
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
            "parameters": [
                _param("code_system", "OID, URI or name (default ICD-10-CM)"),
                _param("code", "The rejected code", required=True),
                _param("topic_id", "The rejected topic", required=True),
                _param("reason", "Why, for the audit log"),
            ],
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
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["name", "role"],
                            "properties": {"name": {"type": "string"}, "role": {"type": "string", "enum": list(ROLES)}},
                        }
                    }
                },
            },
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

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Infobutton mapping management API",
        "version": "1",
        "description": "Manage the code → health-topic mappings of the infobutton responder. "
        "Roles: viewer (read), editor (+ change, import, restore), admin (+ tokens).",
        "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": _PATHS,
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
