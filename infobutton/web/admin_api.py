"""The mapping-management JSON API under /admin/api, and its OpenAPI document at /openapi.json.

Errors are RFC 9457 problem+json; 422 adds ``errors`` (one per bad field or CSV line), 409 adds
``current`` (the mapping as stored now, to merge with). Writes need ``If-Match`` with the
mapping's revision (its ETag, RFC 9110 §13.1.1).
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from .. import terminology
from ..mappings import coverage, schemas
from ..mappings.openapi import document
from ..mappings.service import MappingAdmin, mapping_json, parse_changes
from ..mappings.suggestion_service import SuggestionAdmin, rejection_json, suggestion_json
from ..mappings.validation import ValidationFailed
from ..models import InvalidRequest
from ..services import current_services
from ..store.codec import rule_from_dict
from ..store.mappings import MappingConflict, revision
from ..store.tokens import SqlTokenStore
from .admin_auth import Unauthenticated, require
from .errors import error_response

bp = Blueprint("admin_api", __name__)


def _admin() -> MappingAdmin:
    return current_services().mapping_admin


@bp.errorhandler(ValidationFailed)
def _validation(exc: ValidationFailed):
    detail = f"{len(exc.errors)} problem(s); nothing was written"
    return error_response(422, detail, exc.parameter, errors=exc.errors)


@bp.errorhandler(MappingConflict)
def _conflict(exc: MappingConflict):
    current = mapping_json(exc.current) if exc.current else None
    return error_response(409, exc.message, exc.parameter, current=current)


@bp.errorhandler(Unauthenticated)
def _unauthenticated(exc: Unauthenticated):
    response = error_response(401, exc.message, exc.parameter)
    response.headers["WWW-Authenticate"] = exc.challenge
    return response


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- input ---------------------------------------------------------------------------------


def _query(model):
    return schemas.query(model, request.args)


def _json() -> object:
    """The parsed JSON body, or None when it is missing, not JSON, not UTF-8 or too deep."""
    if not request.is_json:
        return None
    try:
        return request.get_json(silent=True)
    except RecursionError:  # nesting deeper than the parser goes
        return None


def _body(model):
    return schemas.body(model, _json())


def _mapping_body() -> dict:
    """A mapping body: a JSON object, whose fields the service validates (``validation.validate``)."""
    return schemas.json_object(_json())


def _page(items: list, total: int, limit: int, offset: int) -> dict:
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if offset + limit < total else None,
    }


def _expected_revision(body: dict | None = None) -> str | None:
    """The revision the caller read: If-Match, or ``revision`` in the body; 428 without."""
    if request.if_match.star_tag:
        return None
    tags = request.if_match.as_set()
    if tags:
        return next(iter(tags))
    if body and isinstance(body.get("revision"), str) and body["revision"]:
        return body["revision"]
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
    args = _query(schemas.TopicsQuery)
    q = args.q.strip().lower()
    found = []
    for topic in current_services().topics.all():
        haystack = " ".join((topic.id, topic.title, *topic.also_called)).lower()
        if not q or q in haystack:
            found.append(
                {
                    "id": topic.id,
                    "title": topic.title,
                    "language": topic.language,
                    "url": topic.url,
                    "audience": topic.audience,
                }
            )
    found.sort(key=lambda t: (not t["title"].lower().startswith(q), t["title"].lower()))
    return {"items": found[: args.limit], "total": len(found)}


@bp.get("/admin/api/mappings")
@require("viewer")
def list_mappings():
    args = _query(schemas.MappingsQuery)
    system = terminology.code_system(args.code_system, "code_system") if args.code_system else None
    code = args.code.strip()
    if code and system is not None:
        code = terminology.normalise(system, code)
    rules, total = current_services().mappings.find(
        code_system=system,
        code=code.upper() or None,
        topic_id=args.topic_id,
        text=args.q,
        limit=args.limit,
        offset=args.offset,
    )
    return _page([mapping_json(r) for r in rules], total, args.limit, args.offset)


@bp.post("/admin/api/mappings")
@require("editor")
def create_mapping():
    rule = _admin().create(_mapping_body(), g.admin.name)
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
    if current_services().mappings.get(rule_id) is None:
        raise InvalidRequest("id", f"no mapping {rule_id}", 404)
    body = _mapping_body()
    rule = _admin().update(rule_id, body, _expected_revision(body), g.admin.name)
    return _mapping_response(rule)


@bp.delete("/admin/api/mappings/<int:rule_id>")
@require("editor")
def delete_mapping(rule_id: int):
    reason = _query(schemas.ReasonQuery).reason
    if current_services().mappings.get(rule_id) is None:
        raise InvalidRequest("id", f"no mapping {rule_id}", 404)
    _admin().delete(rule_id, _expected_revision(), g.admin.name, reason)
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
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest("body", "the CSV must be UTF-8 text", 400) from None
    if "\x00" in text:
        raise InvalidRequest("body", "the CSV must not contain NUL characters", 400)
    return text


@bp.post("/admin/api/mappings/import")
@require("editor")
def import_mappings():
    args = _query(schemas.ImportQuery)
    text = _csv_text()
    if not text.strip():
        raise InvalidRequest("body", "send the CSV as the request body (text/csv)", 400)
    plan, version = _admin().import_csv(
        text,
        mode=args.mode,
        actor=g.admin.name,
        reason=args.reason,
        dry_run=args.dry_run,
        expected_version=args.base_version,
        force=args.force,
    )
    return {**plan.to_dict(), "dry_run": args.dry_run, "version": version}


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
    args = _query(schemas.AuditQuery)
    entries, total = current_services().history.audit(
        mapping_id=args.mapping_id, version=args.version, limit=args.limit, offset=args.offset
    )
    return _page([_audit_json(e) for e in entries], total, args.limit, args.offset)


@bp.get("/admin/api/versions")
@require("viewer")
def versions():
    args = _query(schemas.PageQuery)
    found, total = current_services().history.versions(args.limit, args.offset)
    page = _page([v.__dict__ for v in found], total, args.limit, args.offset)
    return page | {"current": current_services().mappings.version()}


@bp.get("/admin/api/versions/<int:n>")
@require("viewer")
def version(n: int):
    history = current_services().history
    found = history.version(n)
    if found is None:
        raise InvalidRequest("n", f"no mapping version {n}", 404)
    return found.__dict__ | {"rules": [mapping_json(r) | {"revision": None} for r in history.snapshot(n) or []]}


@bp.post("/admin/api/versions/<int:n>/restore")
@require("editor")
def restore(n: int):
    reason = _body(schemas.RestoreInput).reason if request.get_data() else ""
    new = _admin().restore(n, g.admin.name, reason)
    return {"restored": n, "version": new or current_services().mappings.version(), "changed": new is not None}


@bp.get("/admin/api/gaps")
@require("viewer")
def gaps():
    args = _query(schemas.GapsQuery)
    usage = current_services().usage
    report = usage.gaps(days=args.days, limit=args.limit, include_mapped=args.include_mapped)
    chapters = current_services().coverage.chapters()
    return {
        "days": args.days,
        "items": _suggestions().annotate_gaps(report),
        "unknown": usage.unknown(args.days),
        "coverage": [row.json() for row in [*chapters, coverage.total(chapters)]],
    }


@bp.get("/admin/api/coverage")
@require("viewer")
def coverage_report():
    """Billable codes answered per chapter, or per category of one chapter (``mappings.coverage``)."""
    args = _query(schemas.CoverageQuery)
    report = current_services().coverage
    rows = report.categories(args.chapter) if args.chapter else report.chapters()
    title = f"All categories of chapter {args.chapter}" if args.chapter else "All chapters"
    return {"chapter": args.chapter, "rows": [row.json() for row in rows], "total": coverage.total(rows, title).json()}


# -- suggestions -----------------------------------------------------------------------------


def _suggestions() -> SuggestionAdmin:
    return current_services().suggestions


@bp.get("/admin/api/suggestions")
@require("viewer")
def suggestions():
    args = _query(schemas.SuggestionsQuery)
    admin = _suggestions()
    codes = admin.codes(codes=args.codes, prefix=args.prefix, gaps=args.gaps, days=args.days)
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
    key = _body(schemas.SuggestionKey).model_dump()
    return _mapping_response(_suggestions().accept(key, g.admin.name), 201)


@bp.post("/admin/api/suggestions/reject")
@require("editor")
def reject_suggestion():
    body = _body(schemas.SuggestionKey).model_dump()
    admin = _suggestions()
    key = admin.key_of(body)
    new = admin.reject([body], g.admin.name, body["reason"])
    rejection = admin.rejections.get(key)
    if rejection is None:  # withdrawn by a concurrent request between the two statements
        raise InvalidRequest("topic_id", "the rejection was withdrawn by a concurrent change; send it again", 409)
    return rejection_json(rejection), 201 if new else 200


@bp.get("/admin/api/suggestions/rejections")
@require("viewer")
def rejections():
    return {"items": [rejection_json(r) for r in _suggestions().rejections.all()]}


@bp.delete("/admin/api/suggestions/rejections")
@require("editor")
def unreject_suggestion():
    args = _query(schemas.RejectionQuery)
    params = args.model_dump(exclude={"reason"})
    if not _suggestions().unreject([params], g.admin.name, args.reason):
        raise InvalidRequest("topic_id", f"{args.topic_id} is not rejected for {args.code}", 404)
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
    body = _body(schemas.TokenInput)
    token = _tokens().create(body.name, body.role)
    return {"name": body.name.strip(), "role": body.role, "token": token}, 201


@bp.delete("/admin/api/tokens/<name>")
@require("admin")
def revoke_token(name: str):
    if not _tokens().revoke(name):
        raise InvalidRequest("name", f"no token named {name!r}", 404)
    return Response(status=204)
