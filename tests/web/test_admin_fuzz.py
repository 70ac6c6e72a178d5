"""No input to any admin endpoint gives a 500.

Every admin API route (read from the Flask url_map, so a new route is covered without touching
this file) gets every method, as each role and unauthenticated, with a fixed corpus of hostile
values: wrong JSON types for every field, huge strings, NUL bytes, invalid UTF-8, non-JSON
bodies, wrong content types, odd path and query parameters. Every answer is below 500 and every
4xx is a problem+json body that says what was wrong. The admin UI's form posts (with a proper
CSRF token) are fuzzed the same way. The corpus is seeded, so a failure reproduces.
"""

from __future__ import annotations

import json
import random
import re

import pytest

from infobutton.mappings import schemas

pytestmark = pytest.mark.slow

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Every field name any admin body or query takes (the models'), plus a few that none does.
FIELDS = sorted(
    {name for model in schemas.BODIES + schemas.QUERIES for name in model.model_fields}
    | {"with", "mainSearchCriteria.v.c", "mainSearchCriteria.v.cs", "age.v.v", "file", "csv", "action", "next"}
)

HOSTILE_JSON = [
    None,
    0,
    -1,
    1.5,
    1e308,
    99999999999999999999,
    True,
    [],
    [1, "a"],
    {},
    {"a": {"b": None}},
    "",
    " ",
    "x" * 70_000,
    "\x00",
    "a\x00b",
    "<script>alert(1)</script>",
    "\ud800",  # a lone surrogate: valid JSON text, not encodable as UTF-8
    "ünïcödé ✓ 𝄞",
    "-1",
    "99999999999999999999",
    "NaN",
]

HOSTILE_TEXT = [
    "",
    "0",
    "-1",
    "1.5",
    "1e3",
    "99999999999999999999",
    "x",
    "\x00",
    "ü",
    "<script>",
    "9" * 5000,
    "[]",
    "{}",
    "null",
    "true",
    '{"op":"add","rule":[]}',
    '[{"op":"update","id":"x"}]',
    '{"op":"delete","id":null}',
]

RAW_BODIES = [
    (b"", "application/json"),
    (b"not json", "application/json"),
    (b"\xff\xfe\x00", "application/json"),
    (b'{"name":', "application/json"),
    (b"[]", "application/json"),
    (b"null", "application/json"),
    (b"1", "application/json"),
    (b'"text"', "application/json"),
    (b'{"priority": NaN, "min_age": Infinity}', "application/json"),
    (b"[" * 50_000 + b"]" * 50_000, "application/json"),  # deeper than the recursion limit
    (b'{"code": "C91"}', "text/plain"),
    (b"code=C91&topic_id=leukemia", "application/x-www-form-urlencoded"),
    (b"\xff\xfe", "text/csv"),
    (b"code_system,code,topic_id\nICD-10-CM,C91,\x00\n", "text/csv"),
    (b"--x\r\nbroken multipart", "multipart/form-data; boundary=x"),
    (b"{}", "application/xml"),
    (b"{}", ""),
]

PATH_INT = ["0", "1", "-1", "99999999999999999999", "%00", "%C3%A9", "1.5"]
PATH_STR = ["nobody", "%00", "%FF", "%C3%BCn%C3%AFcode", "x" * 3000, "..", "%2F"]

VALID_BODY = {
    "code_system": "ICD-10-CM",
    "code": "D47.9",
    "topic_id": "leukemia",
    "name": "fuzz",
    "role": "viewer",
    "reason": "fuzz",
}

SEED = 20240509


def _path_values(rule) -> list[str]:
    """Concrete paths for one url_map rule: every converter gets the hostile path values."""
    paths = [rule.rule]
    for match in re.finditer(r"<(?:(\w+):)?(\w+)>", rule.rule):
        values = PATH_INT if match.group(1) == "int" else PATH_STR
        paths = [p.replace(match.group(0), v, 1) for p in paths for v in values]
    return paths


def _cases(rng: random.Random):
    """(method, path, kwargs for the test client) for every admin API route: every method with
    every odd path value, and each method the route takes with the body and query corpus (each
    field once per route, with a value drawn from the corpus)."""
    for rule in _admin_rules():
        paths = _path_values(rule)
        for method in METHODS:
            for path in paths:
                yield method, path, {}
            if method not in rule.methods:
                continue
            path = paths[1] if len(paths) > 1 else paths[0]  # "1" / "%00": well-formed enough
            for body, content_type in RAW_BODIES:
                yield method, path, {"data": body, "content_type": content_type}
            for name in FIELDS:
                yield method, path, _json({**VALID_BODY, name: rng.choice(HOSTILE_JSON)})
                yield method, path, {"query_string": {name: rng.choice(HOSTILE_TEXT)}}
            yield method, path, _json({**VALID_BODY, "extra": 1})
            yield method, path, _json([VALID_BODY])
            yield method, path, {"query_string": {name: "1" for name in FIELDS}}


def _json(value) -> dict:
    """A JSON body as ASCII text (escapes survive: a lone surrogate reaches the server)."""
    return {"data": json.dumps(value), "content_type": "application/json"}


_RULES: list = []


def _admin_rules():
    return _RULES


def _is_problem(r) -> bool:
    if r.mimetype != "application/problem+json":
        return False
    body = json.loads(r.get_data())
    return bool(body.get("detail")) and body.get("status") == r.status_code


@pytest.fixture
def who(services):
    store = services.tokens
    tokens = {role: store.create(f"fuzz-{role}", role) for role in ("viewer", "editor", "admin")}
    return {"anonymous": {}} | {role: {"Authorization": f"Bearer {t}"} for role, t in tokens.items()}


def test_no_input_to_any_admin_api_route_gives_a_500(app, client, who):
    _RULES[:] = sorted(
        (r for r in app.url_map.iter_rules() if r.rule.startswith("/admin/api/") or r.rule == "/openapi.json"),
        key=lambda r: r.rule,
    )
    assert len(_RULES) >= 15  # the walk found the API
    rng = random.Random(SEED)
    failures = []
    seen_roles = {}
    for n, (method, path, kwargs) in enumerate(_cases(rng)):
        # Every case as admin (the role that reaches deepest); a rotating other identity too.
        for role in ("admin", ("anonymous", "viewer", "editor")[n % 3]):
            r = client.open(path, method=method, headers=who[role], **kwargs)
            seen_roles[role] = seen_roles.get(role, 0) + 1
            if r.status_code >= 500 or (r.status_code >= 400 and not _is_problem(r)):
                failures.append((role, method, path, _short(kwargs), r.status_code, r.get_data()[:200]))
    distinct = {(f[1], f[2][:40], f[4]): f for f in failures}
    assert not failures, f"{len(failures)} bad answers: {list(distinct.values())[:20]}"
    assert set(seen_roles) == {"anonymous", "viewer", "editor", "admin"}


def _short(kwargs: dict) -> str:
    return repr(kwargs)[:200]


# -- the admin UI's forms --------------------------------------------------------------------


FORM_FIELDS = sorted(
    {name for model in schemas.BODIES for name in model.model_fields}
    | {"csrf_missing", "action", "next", "token", "mode", "base_version", "csv", "days", "preview_age"}
    | {"preview_gender", "revision", "change_reason"}
    | {"preview_recipient", "preview_task", "preview_setting", "preview_language", "preview_age_group"}
)


def _csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _signed_in(client, token: str) -> str:
    """Sign in as a person does (the form's CSRF token), and the session's CSRF token."""
    csrf = _csrf_of(client.get("/admin/signin").get_data(as_text=True))
    assert client.post("/admin/signin", data={"csrf": csrf, "token": token}).status_code == 303
    return _csrf_of(client.get("/admin/mappings/new").get_data(as_text=True))


def test_no_admin_ui_form_or_page_gives_a_500(app, client, who):
    token = who["admin"]["Authorization"].removeprefix("Bearer ")
    csrf = _signed_in(client, token)
    rules = [
        r
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/admin/") and not r.rule.startswith("/admin/api") and "POST" in r.methods
    ]
    assert len(rules) >= 8
    rng = random.Random(SEED)
    failures = []
    for rule in sorted(rules, key=lambda r: r.rule):
        if rule.rule in ("/admin/signout",) or "revoke" in rule.rule:
            continue  # would end the session the rest of the walk uses
        paths = _path_values(rule)
        for path in paths:  # odd path values, with a well-formed form
            r = client.post(path, data={"csrf": csrf, "action": "save", **VALID_BODY})
            if r.status_code >= 500:
                failures.append((path, "path", r.status_code))
        path = paths[1] if len(paths) > 1 else paths[0]
        for action in ("save", "commit", "review", ""):
            for name in FORM_FIELDS:
                form = {"csrf": csrf, "action": action, **VALID_BODY, name: rng.choice(HOSTILE_TEXT)}
                r = client.post(path, data=form)
                if r.status_code >= 500:
                    failures.append((path, action, name, form[name][:40], r.status_code))
        r = client.post(path, data=b"\xff\xfe\x00", content_type="application/x-www-form-urlencoded")
        if r.status_code >= 500:
            failures.append((path, "raw", r.status_code))
    # every page, with each field as an odd query parameter
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin/") and not rule.rule.startswith("/admin/api") and "GET" in rule.methods:
            path = _path_values(rule)[1] if rule.arguments else rule.rule
            for name in FORM_FIELDS + ["offset", "q", "code_system", "code"]:
                for value in ("99999999999999999999", rng.choice(HOSTILE_TEXT)):
                    r = client.get(path, query_string={name: value})
                    if r.status_code >= 500:
                        failures.append((path, "GET", name, value[:40], r.status_code))
    # sign-in itself, and revoking (last: it may end the session)
    for value in HOSTILE_TEXT:
        r = client.post("/admin/signin", data={"csrf": csrf, "token": value, "next": value})
        if r.status_code >= 500:
            failures.append(("/admin/signin", value[:40], r.status_code))
    for path in _path_values(next(r for r in rules if "revoke" in r.rule)):
        r = client.post(path, data={"csrf": csrf})
        if r.status_code >= 500:
            failures.append((path, r.status_code))
    distinct = {f[:2]: f for f in failures}
    assert not failures, f"{len(failures)} 500s: {list(distinct.values())[:20]}"
