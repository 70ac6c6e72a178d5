"""The mapping-management web UI at /admin/: server-rendered pages that work without
JavaScript; static/admin.js only adds a live preview while typing.

Sign-in takes a token and keeps a session cookie; every form carries a CSRF token; token checks
are throttled per client and per key id (``admin_auth.check_token``); sign-out ends every
session of the token.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import werkzeug
from flask import Blueprint, Flask, Response, abort, flash, g, redirect, render_template, request, url_for

from .. import terminology
from ..mappings import coverage as mapping_coverage
from ..mappings.constraints import LIMITS, conditions
from ..mappings.service import MappingAdmin, mapping_json
from ..mappings.suggestion_service import SuggestionAdmin
from ..mappings.validation import SCALARS, ValidationFailed
from ..models import ROLES, Code, CodeSystem, InvalidRequest, role_allows
from ..render import problem
from ..services import current_services
from ..store.codec import rule_from_dict
from ..store.mappings import MappingConflict, revision
from . import admin_api, admin_auth

bp = Blueprint("admin_ui", __name__, url_prefix="/admin")
PAGE = 50


def init_app(app: Flask) -> None:
    """Session settings plus the API and UI blueprints (one line in register_blueprints)."""
    admin_auth.init_session(app, app.extensions["infobutton"].settings)
    app.register_blueprint(admin_api.bp)
    app.register_blueprint(bp)


ADMIN_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _admin() -> MappingAdmin:
    return current_services().mapping_admin


@bp.context_processor
def _context():
    return {
        "csrf_token": admin_auth.csrf_token,
        "user": g.get("admin"),
        "code_systems": list(CodeSystem),
        "roles": ROLES,
        "t": {"site": "Infobutton mappings", "skip": "Skip to main content"},
        "home_url": url_for("admin_ui.mappings"),
        "role_allows": role_allows,
        "limits": LIMITS,
        "conditions": conditions,
        "preview_context": PREVIEW_CONTEXT,
    }


@bp.before_request
def _guard():
    if request.method == "POST" and request.endpoint == "admin_ui.import_csv":
        _user("editor")  # before the body is read: only an editor may send an import's size
        settings = current_services().settings
        request.max_content_length = settings.max_import_bytes  # the API's limit (admin_api._csv_text)
        request.max_form_memory_size = settings.max_import_bytes
    if request.method == "POST" and not admin_auth.csrf_ok(request.form.get("csrf")):
        abort(_error(403, "This form expired or did not come from this site. Go back, reload and try again."))


@bp.after_request
def _headers(response: Response) -> Response:
    """Admin pages' own policy (they load admin.js); the public pages' hook leaves them alone."""
    response.headers["Content-Security-Policy"] = ADMIN_CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.errorhandler(InvalidRequest)
def _invalid(exc: InvalidRequest):
    return _error(exc.status, exc.message, exc.parameter)


def _error(status: int, detail: str, parameter: str | None = None) -> Response:
    """The error page for people: the same problem body the API answers with, as HTML."""
    return _page("admin/error.html", status, problem=problem.problem(status, detail, parameter))


def _page(template: str, status: int = 200, /, **values: Any) -> Response:
    return Response(render_template(template, **values), status=status, content_type="text/html; charset=utf-8")


def _user(role: str = "viewer"):
    """The signed-in holder with at least ``role``; else to sign-in (or 403)."""
    info = admin_auth.session_user()
    if info is None:
        abort(redirect(url_for("admin_ui.signin", next=request.full_path)))
    g.admin = info
    if not role_allows(info.role, role):
        abort(_error(403, f"Your role ({info.role}) may not do this; it needs {role}."))
    return info


def _safe_next(value: str | None) -> str:
    # printable: a CR or LF would split the Location header (werkzeug refuses it with a 500)
    if value and value.startswith("/admin") and not value.startswith("//") and value.isprintable():
        return value
    return url_for("admin_ui.mappings")


# -- sign-in ---------------------------------------------------------------------------------


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    if request.method == "GET":
        return _page("admin/signin.html", next=request.args.get("next", ""))
    try:
        info = admin_auth.check_token(request.form.get("token", "").strip())
    except admin_auth.Throttled as exc:
        response = _page(
            "admin/signin.html",
            429,
            next=request.form.get("next", ""),
            error="Too many failed sign-ins. Wait a few minutes.",
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except admin_auth.Unauthenticated:
        return _page(
            "admin/signin.html",
            401,
            next=request.form.get("next", ""),
            error="That token is not valid (or was revoked).",
        )
    admin_auth.tokens().touch(info.key_id)
    admin_auth.sign_in(info)
    return redirect(_safe_next(request.form.get("next")), 303)


@bp.post("/signout")
def signout():
    """Ends every session of the signed-in token, copies of this cookie included."""
    admin_auth.sign_out()
    return redirect(url_for("admin_ui.signin"), 303)


# -- mappings --------------------------------------------------------------------------------


@bp.get("/")
def mappings():
    _user()
    args = request.args
    system = None
    if args.get("code_system"):
        try:
            system = terminology.code_system(args["code_system"], "code_system")
        except InvalidRequest:
            system = None
    offset = _offset(args)
    code = args.get("code", "").strip()
    if code and system is not None:
        code = terminology.normalise(system, code)
    rules, total = current_services().mappings.find(
        code_system=system,
        code=code.upper() or None,
        topic_id=args.get("topic_id") or None,
        text=args.get("q") or None,
        limit=PAGE,
        offset=offset,
    )
    topic = current_services().knowledge.topic
    rows = [(r, topic(r.topic_id), terminology.describe(_code(r))) for r in rules]
    # the filters only: url_for would read _external, _anchor … in the query as its own options
    kept: dict[str, Any] = {k: args[k] for k in ("q", "code_system", "code", "topic_id") if k in args}
    prev_url = url_for("admin_ui.mappings", **kept, offset=max(offset - PAGE, 0)) if offset else None
    next_url = url_for("admin_ui.mappings", **kept, offset=offset + PAGE) if offset + PAGE < total else None
    return _page(
        "admin/mappings.html",
        rows=rows,
        total=total,
        offset=offset,
        page=PAGE,
        system=system,
        args=args,
        version=current_services().mappings.version(),
        prev_url=prev_url,
        next_url=next_url,
    )


def _offset(args) -> int:
    """A page's ``offset`` (0 when absent or not a number; at most 10⁹, which a database holds)."""
    try:
        return min(max(int(args.get("offset", 0)), 0), 10**9)
    except ValueError:
        return 0


def _code(rule):
    return Code(rule.code_system, rule.code)


# The rule's own fields in the form: the CSV columns but the context limits, which the form
# sends as their JSON names, one checkbox per code (``constraints.LIMITS``).
_SCALAR_FIELDS = tuple(SCALARS)

# The preview's context: form field → the infobutton request parameter it is sent as (URL-IG
# §2.1.2–2.1.3), so a librarian sees the answer now and after the change for that context.
PREVIEW_CONTEXT = {
    "preview_age": "age.v.v",
    "preview_gender": "patientPerson.administrativeGenderCode.c",
    "preview_recipient": "informationRecipient",
    "preview_task": "taskContext.c.c",
    "preview_setting": "encounter.c.c",
    "preview_language": "informationRecipient.languageCode.c",
    "preview_age_group": "ageGroup.v.c",
}
MESH = CodeSystem.MESH.oid  # ageGroup.v.cs


def _form_fields(form) -> dict:
    """The rule's fields from a form (a MultiDict: each limit a list of the checked codes) or
    from a mapping's JSON (its limits already lists)."""
    fields: dict[str, Any] = {name: form.get(name, "") for name in (*_SCALAR_FIELDS, "change_reason")}
    for limit in LIMITS:
        fields[limit.field] = form.getlist(limit.field) if hasattr(form, "getlist") else form.get(limit.field) or []
    return fields


def _preview_params() -> list[tuple[str, str]]:
    """The preview context the form carries, as infobutton request parameters."""
    params = []
    for name, parameter in PREVIEW_CONTEXT.items():
        value = request.values.get(name, "").strip()
        if value:
            params.append((parameter, value))
            if parameter == "ageGroup.v.c":
                params.append(("ageGroup.v.cs", MESH))
    return params


def _preview(fields: dict, rule_id: int | None) -> tuple[dict | None, list]:
    """The answer now and after the change, for the form's code (and preview context)."""
    if not fields.get("code") or not fields.get("code_system"):
        return None, []
    try:
        system = terminology.code_system(fields["code_system"], "code_system")
    except InvalidRequest:
        return None, []
    params = [("mainSearchCriteria.v.c", fields["code"]), ("mainSearchCriteria.v.cs", system.oid)]
    params += _preview_params()
    rule = {k: v for k, v in fields.items() if k != "change_reason"}
    change = {"op": "update", "id": rule_id, "rule": rule} if rule_id else {"op": "add", "rule": rule}
    try:
        return _admin().preview(params, [change]), []
    except ValidationFailed as exc:
        return None, exc.errors
    except InvalidRequest as exc:  # a bad preview context: said next to its input
        field = next((name for name, parameter in PREVIEW_CONTEXT.items() if parameter == exc.parameter), None)
        return None, [{"field": field or exc.parameter, "message": exc.message}]


def _errors_by_field(errors: list) -> dict:
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(error.get("field", "form"), []).append(error["message"])
    return found


@bp.route("/mappings/new", methods=["GET", "POST"])
def new_mapping():
    user = _user("editor")
    fields = _form_fields(request.values)
    fields["scope"] = fields["scope"] or "descendants"
    fields["priority"] = fields["priority"] or "0"
    errors, preview = [], None
    if request.method == "POST" and request.form.get("action") == "save":
        try:
            rule = _admin().create(fields, user.name)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash(f"Mapping {rule.id} added ({rule.code_system.label} {rule.code} → {rule.topic_id}); it is live now.")
            return redirect(url_for("admin_ui.edit_mapping", rule_id=rule.id), 303)
    if fields["code"]:
        preview, preview_errors = _preview(fields, None)
        if request.method == "POST":
            errors = errors or preview_errors
    status = 422 if errors else 200
    return _page(
        "admin/mapping_form.html",
        status,
        fields=fields,
        rule=None,
        preview=preview,
        errors=_errors_by_field(errors),
        topics=_topic_choices(),
    )


@bp.route("/mappings/<int:rule_id>", methods=["GET", "POST"])
def edit_mapping(rule_id: int):
    user = _user()
    current = current_services().mappings.get(rule_id)
    if current is None:
        abort(_error(404, f"There is no mapping {rule_id}.", "id"))
    fields = _form_fields(mapping_json(current)) if request.method == "GET" else _form_fields(request.form)
    expected = request.form.get("revision") or revision(current)
    errors, conflict, preview = [], None, None
    if request.method == "POST":
        _user("editor")
        if request.form.get("action") == "save":
            try:
                rule = _admin().update(rule_id, fields, expected, user.name)
            except ValidationFailed as exc:
                errors = exc.errors
            except MappingConflict as exc:
                conflict = exc.current
                errors = [{"field": "form", "message": exc.message}]
            else:
                flash(f"Mapping {rule.id} saved; it is live now.")
                return redirect(url_for("admin_ui.edit_mapping", rule_id=rule.id), 303)
    preview, preview_errors = _preview(fields, rule_id)
    if request.method == "POST":
        errors = errors or preview_errors
    history, _ = current_services().history.audit(mapping_id=rule_id, limit=20)
    status = 409 if conflict else 422 if errors else 200
    return _page(
        "admin/mapping_form.html",
        status,
        fields=fields,
        rule=current,
        revision=revision(conflict) if conflict else expected,
        conflict=conflict,
        preview=preview,
        errors=_errors_by_field(errors),
        topics=_topic_choices(),
        history=[_entry(e) for e in history],
    )


@bp.post("/mappings/<int:rule_id>/delete")
def delete_mapping(rule_id: int):
    user = _user("editor")
    try:
        version = _admin().delete(
            rule_id, request.form.get("revision") or None, user.name, request.form.get("change_reason", "")
        )
    except MappingConflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin_ui.edit_mapping", rule_id=rule_id), 303)
    flash(f"Mapping {rule_id} deleted (version {version}). Undo it from the history page.")
    return redirect(url_for("admin_ui.mappings"), 303)


def _topic_choices() -> list:
    return [t for t in current_services().topics.all() if t.language == "en"]


# -- CSV import ------------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
def import_csv():
    user = _user("editor")
    if request.method == "GET":
        return _page("admin/import.html", plan=None, text="", mode="merge")
    upload = request.files.get("file")
    text = upload.read().decode("utf-8-sig", "replace") if upload and upload.filename else request.form.get("csv", "")
    mode = request.form.get("mode", "merge")
    if mode not in ("merge", "replace"):
        mode = "merge"
    values = {"text": text, "mode": mode, "reason": request.form.get("change_reason", "")}
    if not text.strip():
        return _page(
            "admin/import.html",
            400,
            plan=None,
            errors=[{"line": 0, "message": "Choose a CSV file or paste CSV text."}],
            **values,
        )
    commit = request.form.get("action") == "commit"
    try:
        base = int(request.form["base_version"]) if commit else None
        plan, version = _admin().import_csv(
            text,
            mode=mode,
            actor=user.name,
            reason=values["reason"],
            dry_run=not commit,
            expected_version=base,
            force=request.form.get("force") == "1",
        )
    except ValidationFailed as exc:
        return _page("admin/import.html", 422, plan=None, errors=exc.errors, **values)
    except (InvalidRequest, KeyError, ValueError) as exc:
        message = getattr(exc, "message", "The review is out of date; review again.")
        return _page("admin/import.html", 409, plan=None, errors=[{"line": 0, "message": message}], **values)
    if commit:
        flash(
            f"Imported: {len(plan.added)} added, {len(plan.changed)} changed, "
            f"{len(plan.removed)} removed" + (f" (version {version})." if version else ".")
        )
        return redirect(url_for("admin_ui.history"), 303)
    return _page("admin/import.html", plan=plan, **values)


# -- history and restore ---------------------------------------------------------------------


def _entry(entry) -> dict:
    def shown(data):
        return rule_from_dict(data) if data else None

    return {"entry": entry, "before": shown(entry.before), "after": shown(entry.after)}


@bp.get("/history")
def history():
    _user()
    store = current_services().history
    offset = _offset(request.args)
    versions, total = store.versions(limit=20, offset=offset)
    changes = {}
    for version in versions:
        entries, count = store.audit(version=version.n, limit=25)
        changes[version.n] = ([_entry(e) for e in entries], count, store.previous(version.n))
    return _page(
        "admin/history.html",
        versions=versions,
        changes=changes,
        total=total,
        offset=offset,
        current=current_services().mappings.version(),
    )


@bp.post("/versions/<int:n>/restore")
def restore(n: int):
    user = _user("editor")
    new = _admin().restore(n, user.name, request.form.get("change_reason", ""))
    if new is None:
        flash(f"The mappings already equal version {n}; nothing changed.")
    else:
        flash(f"Restored version {n} as version {new}; it is live now.")
    return redirect(url_for("admin_ui.history"), 303)


# -- coverage and gap report ----------------------------------------------------------------


@bp.get("/coverage")
def coverage():
    """Billable codes answered per chapter, or per category of ``?chapter=N``."""
    _user()
    report = current_services().coverage
    number = request.args.get("chapter", "").strip()
    if not number:
        rows = report.chapters()
        return _page("admin/coverage.html", rows=rows, total=mapping_coverage.total(rows), chapter=None)
    chapter = next((r for r in report.chapters() if r.key == number), None)
    if chapter is None:
        abort(_error(404, f"There is no ICD-10-CM chapter {number!r}: chapters are 1 to 22.", "chapter"))
    rows = report.categories(number)
    total = mapping_coverage.total(rows, f"All categories of chapter {number}")
    return _page("admin/coverage.html", rows=rows, total=total, chapter=chapter)


@bp.get("/gaps")
def gaps():
    _user()
    days = _days(request.args)
    usage = current_services().usage
    report = usage.gaps(days=days)
    suggestions = _suggestions()
    chapters = current_services().coverage.chapters()
    return _page(
        "admin/gaps.html",
        report=suggestions.annotate_gaps(report),
        unknown=usage.unknown(days),
        days=days,
        rejections=suggestions.rejections.all(),
        chapters=chapters,
        chapters_total=mapping_coverage.total(chapters),
    )


def _days(values) -> int:
    """The gap report's period (``days``, 1–3650; 30 when absent or not a number)."""
    try:
        return min(max(int(values.get("days", 30)), 1), 3650)
    except ValueError:
        return 30


# -- suggestions -----------------------------------------------------------------------------


def _suggestions() -> SuggestionAdmin:
    return current_services().suggestions


def _suggestion_form() -> tuple[dict, str]:
    """(code_system, code, topic_id) of a gap-report button, and the editor who pressed it."""
    user = _user("editor")
    return {k: request.form.get(k, "") for k in ("code_system", "code", "topic_id")}, user.name


@contextmanager
def _refusal_flashed():
    """A refused action (stale page, bad field) becomes an error flash on the reloaded page."""
    try:
        yield
    except InvalidRequest as exc:
        flash(exc.message, "error")


def _back_to_gaps() -> werkzeug.Response:
    return redirect(url_for("admin_ui.gaps", days=_days(request.form)), 303)


@bp.post("/suggestions/accept")
def accept_suggestion():
    fields, actor = _suggestion_form()
    with _refusal_flashed():
        rule = _suggestions().accept(fields, actor)
        flash(
            f"Mapping {rule.id} added ({rule.code_system.label} {rule.code} and below → "
            f"{rule.topic_id}); it is live now."
        )
    return _back_to_gaps()


@bp.post("/suggestions/reject")
def reject_suggestion():
    fields, actor = _suggestion_form()
    with _refusal_flashed():
        _suggestions().reject([fields], actor, request.form.get("reason", ""))
        flash(f"{fields['topic_id']} will not be suggested for {fields['code']} (or below) again.")
    return _back_to_gaps()


@bp.post("/suggestions/unreject")
def unreject_suggestion():
    fields, actor = _suggestion_form()
    with _refusal_flashed():
        if _suggestions().unreject([fields], actor, request.form.get("reason", "")):
            flash(f"{fields['topic_id']} may be suggested for {fields['code']} again.")
    return _back_to_gaps()


# -- tokens ----------------------------------------------------------------------------------


@bp.route("/tokens", methods=["GET", "POST"])
def tokens():
    _user("admin")
    store = admin_auth.tokens()
    created, error, status = None, None, 200
    if request.method == "POST":
        try:
            token = store.create(request.form.get("name", ""), request.form.get("role", ""))
            created = {"name": request.form["name"].strip(), "token": token}
        except InvalidRequest as exc:
            error, status = exc.message, exc.status
    return _page("admin/tokens.html", status, items=store.list(), created=created, error=error)


@bp.post("/tokens/<name>/revoke")
def revoke_token(name: str):
    info = _user("admin")
    if admin_auth.tokens().revoke(name):
        flash(f"Token {name!r} revoked.")
    if name == info.name:
        admin_auth.sign_out()
        return redirect(url_for("admin_ui.signin"), 303)
    return redirect(url_for("admin_ui.tokens"), 303)


@bp.app_template_filter("years")
def _years(value) -> str:
    """An age bound as people write it: 18, not 18.0."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)
