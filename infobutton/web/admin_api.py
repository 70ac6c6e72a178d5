"""The mapping-management JSON API under /admin/api, and its OpenAPI document at /openapi.json.

Errors are RFC 9457 problem+json; 422 adds ``errors`` (one per bad field or CSV line), 409 adds
``current`` (the mapping as stored now, to merge with). Writes need ``If-Match`` with the
mapping's revision (its ETag, RFC 9110 §13.1.1).
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, g, jsonify, request

from .. import terminology
from ..mappings.openapi import document
from ..mappings.service import MappingAdmin, mapping_json, parse_changes
from ..mappings.suggestion_service import SuggestionAdmin, rejection_json, suggestion_json
from ..mappings.validation import ValidationFailed
from ..models import InvalidRequest
from ..render import problem
from ..services import current_services
from ..store.codec import rule_from_dict
from ..store.mappings import MappingConflict, revision
from ..store.tokens import SqlTokenStore
from .admin_auth import Unauthenticated, require

bp = Blueprint("admin_api", __name__)


def _admin() -> MappingAdmin:
    return current_services().mapping_admin


def _problem(status: int, detail: str, parameter: str | None = None, **extra) -> Response:
    body = problem.problem(status, detail, parameter) | extra
    response = Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/problem+json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(ValidationFailed)
def _validation(exc: ValidationFailed):
    return _problem(422, f"{len(exc.errors)} problem(s); nothing was written", exc.parameter, errors=exc.errors)


@bp.errorhandler(MappingConflict)
def _conflict(exc: MappingConflict):
    current = mapping_json(exc.current) if exc.current else None
    return _problem(409, exc.message, exc.parameter, current=current)


@bp.errorhandler(Unauthenticated)
def _unauthenticated(exc: Unauthenticated):
    response = _problem(401, exc.message, exc.parameter)
    response.headers["WWW-Authenticate"] = exc.challenge
    return response


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- parameters ----------------------------------------------------------------------------


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(name, "must be a whole number", 400) from None
    if not low <= value <= high:
        raise InvalidRequest(name, f"must be between {low} and {high}", 400)
    return value


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in ("1", "true", "yes", "on")


def _page(items: list, total: int, limit: int, offset: int) -> dict:
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if offset + limit < total else None,
    }


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidRequest("body", "send a JSON object with Content-Type: application/json", 400)
    return data


def _expected_revision(body: dict | None = None) -> str | None:
    """The revision the caller read: If-Match, or ``revision`` in the body; 428 without."""
    if request.if_match.star_tag:
        return None
    tags = request.if_match.as_set()
    if tags:
        return next(iter(tags))
    if body and body.get("revision"):
        return str(body["revision"])
    raise InvalidRequest(
        "If-Match",
        "send If-Match with the mapping's ETag (or its revision in the body) so a concurrent change is not overwritten",
        428,
    )


def _mapping_response(rule, status: int = 200) -> Response:
    response = jsonify(mapping_json(rule))
    response.status_code = status
    response.set_etag(revision(rule))
    if status == 201:
        response.headers["Location"] = f"/admin/api/mappings/{rule.id}"
    return response


# -- the API ---------------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())


@bp.get("/admin/api/me")
@require("viewer")
def me():
    return {"name": g.admin.name, "role": g.admin.role}


@bp.get("/admin/api/topics")
@require("viewer")
def topics():
    q = request.args.get("q", "").strip().lower()
    limit = _int("limit", 50, 1, 500)
    found = []
    for topic in current_services().topics.all():
        haystack = " ".join((topic.id, topic.title, *topic.also_called)).lower()
        if not q or q in haystack:
            found.append({"id": topic.id, "title": topic.title, "language": topic.language, "url": topic.url})
    found.sort(key=lambda t: (not t["title"].lower().startswith(q), t["title"].lower()))
    return {"items": found[:limit], "total": len(found)}


@bp.get("/admin/api/mappings")
@require("viewer")
def list_mappings():
    limit, offset = _int("limit", 50, 1, 500), _int("offset", 0, 0, 10**9)
    system = request.args.get("code_system")
    system = terminology.code_system(system, "code_system") if system else None
    code = request.args.get("code", "").strip()
    if code and system is not None:
        code = terminology.normalise(system, code)
    rules, total = current_services().mappings.find(
        code_system=system,
        code=code.upper() or None,
        topic_id=request.args.get("topic_id"),
        text=request.args.get("q"),
        limit=limit,
        offset=offset,
    )
    return _page([mapping_json(r) for r in rules], total, limit, offset)


@bp.post("/admin/api/mappings")
@require("editor")
def create_mapping():
    rule = _admin().create(_json_body(), g.admin.name)
    return _mapping_response(rule, 201)


@bp.get("/admin/api/mappings/<int:rule_id>")
@require("viewer")
def get_mapping(rule_id: int):
    rule = current_services().mappings.get(rule_id)
    if rule is None:
        raise InvalidRequest("id", f"no mapping {rule_id}", 404)
    return _mapping_response(rule)


@bp.put("/admin/api/mappings/<int:rule_id>")
@require("editor")
def update_mapping(rule_id: int):
    body = _json_body()
    rule = _admin().update(rule_id, body, _expected_revision(body), g.admin.name)
    return _mapping_response(rule)


@bp.delete("/admin/api/mappings/<int:rule_id>")
@require("editor")
def delete_mapping(rule_id: int):
    if current_services().mappings.get(rule_id) is None:
        raise InvalidRequest("id", f"no mapping {rule_id}", 404)
    _admin().delete(rule_id, _expected_revision(), g.admin.name, request.args.get("reason", ""))
    return Response(status=204)


def _csv_text() -> str:
    settings = current_services().settings
    request.max_content_length = settings.max_import_bytes
    request.max_form_memory_size = settings.max_import_bytes
    if request.files.get("file") is not None:
        raw = request.files["file"].read()
    elif request.form.get("csv") is not None:
        raw = request.form["csv"].encode()
    else:
        raw = request.get_data()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest("body", "the CSV must be UTF-8 text", 400) from None


@bp.post("/admin/api/mappings/import")
@require("editor")
def import_mappings():
    text = _csv_text()
    if not text.strip():
        raise InvalidRequest("body", "send the CSV as the request body (text/csv)", 400)
    base = request.args.get("base_version")
    plan, version = _admin().import_csv(
        text,
        mode=request.args.get("mode", "merge"),
        actor=g.admin.name,
        reason=request.args.get("reason", ""),
        dry_run=_flag("dry_run"),
        expected_version=_int("base_version", 0, 0, 10**12) if base else None,
    )
    return {**plan.to_dict(), "dry_run": _flag("dry_run"), "version": version}


@bp.get("/admin/api/mappings/export")
@require("viewer")
def export_mappings():
    return Response(
        _admin().export_csv(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="mappings.csv"'},
    )


@bp.get("/admin/api/preview")
@require("viewer")
def preview():
    params = [(k, v) for k, v in request.args.items(multi=True) if k != "with"]
    changes = parse_changes(request.args.getlist("with"))
    return _admin().preview(params, changes)


def _audit_json(entry) -> dict:
    def shown(data):
        return mapping_json(rule_from_dict(data)) | {"revision": None} if data else None

    return {
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "mapping_id": entry.mapping_id,
        "before": shown(entry.before),
        "after": shown(entry.after),
        "reason": entry.reason,
        "version": entry.version,
    }


@bp.get("/admin/api/audit")
@require("viewer")
def audit():
    limit, offset = _int("limit", 50, 1, 500), _int("offset", 0, 0, 10**9)
    mapping_id = _int("mapping_id", 0, 1, 10**12) if request.args.get("mapping_id") else None
    version = _int("version", 0, 1, 10**12) if request.args.get("version") else None
    entries, total = current_services().history.audit(
        mapping_id=mapping_id, version=version, limit=limit, offset=offset
    )
    return _page([_audit_json(e) for e in entries], total, limit, offset)


@bp.get("/admin/api/versions")
@require("viewer")
def versions():
    limit, offset = _int("limit", 50, 1, 500), _int("offset", 0, 0, 10**9)
    found, total = current_services().history.versions(limit, offset)
    page = _page([v.__dict__ for v in found], total, limit, offset)
    return page | {"current": current_services().mappings.version()}


@bp.get("/admin/api/versions/<int:n>")
@require("viewer")
def version(n: int):
    history = current_services().history
    found = history.version(n)
    if found is None:
        raise InvalidRequest("n", f"no mapping version {n}", 404)
    return found.__dict__ | {"rules": [mapping_json(r) | {"revision": None} for r in history.snapshot(n)]}


@bp.post("/admin/api/versions/<int:n>/restore")
@require("editor")
def restore(n: int):
    body = request.get_json(silent=True) or {}
    reason = str(body.get("reason", "")) if isinstance(body, dict) else ""
    new = _admin().restore(n, g.admin.name, reason)
    return {"restored": n, "version": new or current_services().mappings.version(), "changed": new is not None}


@bp.get("/admin/api/gaps")
@require("viewer")
def gaps():
    report = current_services().usage.gaps(
        days=_int("days", 30, 1, 3650), limit=_int("limit", 200, 1, 1000), include_mapped=_flag("include_mapped")
    )
    return {"days": _int("days", 30, 1, 3650), "items": _suggestions().annotate_gaps(report)}


# -- suggestions -----------------------------------------------------------------------------


def _suggestions() -> SuggestionAdmin:
    return current_services().suggestions


@bp.get("/admin/api/suggestions")
@require("viewer")
def suggestions():
    admin = _suggestions()
    codes = admin.codes(
        codes=request.args.get("codes"),
        prefix=request.args.get("prefix"),
        gaps=_flag("gaps"),
        days=_int("days", 30, 1, 3650),
    )
    found = admin.suggest(codes)
    return {
        "items": [suggestion_json(s) for s in found],
        "total": len(found),
        "confident": sum(s.confident for s in found),
        "codes": len(codes),
    }


@bp.post("/admin/api/suggestions/accept")
@require("editor")
def accept_suggestion():
    return _mapping_response(_suggestions().accept(_json_body(), g.admin.name), 201)


@bp.post("/admin/api/suggestions/reject")
@require("editor")
def reject_suggestion():
    body = _json_body()
    admin = _suggestions()
    key = admin.key_of(body)
    new = admin.reject([body], g.admin.name, str(body.get("reason") or ""))
    return rejection_json(admin.rejections.get(key)), 201 if new else 200


@bp.get("/admin/api/suggestions/rejections")
@require("viewer")
def rejections():
    return {"items": [rejection_json(r) for r in _suggestions().rejections.all()]}


@bp.delete("/admin/api/suggestions/rejections")
@require("editor")
def unreject_suggestion():
    params = {k: request.args.get(k, "") for k in ("code_system", "code", "topic_id")}
    if not _suggestions().unreject([params], g.admin.name, request.args.get("reason", "")):
        raise InvalidRequest("topic_id", f"{params['topic_id']} is not rejected for {params['code']}", 404)
    return Response(status=204)


def _tokens() -> SqlTokenStore:
    return current_services().tokens


@bp.get("/admin/api/tokens")
@require("admin")
def list_tokens():
    return {"items": [t.__dict__ | {"key_id": None} for t in _tokens().list()]}


@bp.post("/admin/api/tokens")
@require("admin")
def create_token():
    body = _json_body()
    token = _tokens().create(str(body.get("name", "")), str(body.get("role", "")))
    return {"name": body["name"].strip(), "role": body["role"], "token": token}, 201


@bp.delete("/admin/api/tokens/<name>")
@require("admin")
def revoke_token(name: str):
    if not _tokens().revoke(name):
        raise InvalidRequest("name", f"no token named {name!r}", 404)
    return Response(status=204)
