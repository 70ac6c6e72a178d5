"""The one error policy (web.errors): every problem body from one function through safe JSON,
admin input checked by type at the edge, and a database unique violation as a 409."""

from __future__ import annotations

import json
import re

import pytest

from infobutton import create_app
from infobutton.config import Settings
from infobutton.models import CodeSystem, MappingRule, Scope


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(services):
    return bearer(services.tokens.create("the-admin", "admin"))


# -- one body, safe JSON ---------------------------------------------------------------------


def test_admin_api_problems_escape_markup_as_safe_json_does(client, admin):
    r = client.delete("/admin/api/tokens/%3Cscript%3Ealert(1)", headers=admin)
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    raw = r.get_data()
    assert b"<" not in raw and b"\\u003cscript\\u003e" in raw
    assert "<script>alert(1)" in r.get_json()["detail"]  # the same text, escaped


def test_422_extra_members_ride_in_the_same_safe_body(client, services):
    editor = bearer(services.tokens.create("ed", "editor"))
    r = client.post(
        "/admin/api/mappings", json={"code_system": "ICD-10-CM", "code": "<b>", "topic_id": "x"}, headers=editor
    )
    assert r.status_code == 422 and b"<" not in r.get_data()
    assert {e["field"] for e in r.get_json()["errors"]} == {"code", "topic_id"}


def test_admin_ui_error_page_shows_the_problem_title_and_detail(client, services):
    token = services.tokens.create("ui-admin", "admin")

    def csrf(path):
        return re.search(r'name="csrf" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)

    assert client.post("/admin/signin", data={"csrf": csrf("/admin/signin"), "token": token}).status_code == 303
    r = client.post("/admin/versions/4242/restore", data={"csrf": csrf("/admin/mappings/new")})
    page = r.get_data(as_text=True)
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert "<h1>Not Found</h1>" in page and "no mapping version 4242" in page


# -- types at the edge -----------------------------------------------------------------------


def test_a_token_name_that_is_not_a_string_is_422_and_creates_nothing(client, services, admin):
    before = [t.name for t in services.tokens.list()]
    r = client.post("/admin/api/tokens", json={"name": 123, "role": "viewer"}, headers=admin)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["parameter"] == "name" and body["errors"] == [
        {"field": "name", "message": "Input should be a valid string"}
    ]
    assert [t.name for t in services.tokens.list()] == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x"}, "role"),
        ({"name": "x", "role": "viewer", "admin": True}, "admin"),
        ({"name": "", "role": "viewer"}, "name"),
        ({"name": "a\x00b", "role": "viewer"}, "name"),
        ({"name": None, "role": "viewer"}, "name"),
    ],
)
def test_token_bodies_name_the_bad_field(client, services, admin, body, field):
    r = client.post("/admin/api/tokens", json=body, headers=admin)
    assert r.status_code == 422 and r.get_json()["parameter"] == field
    assert [t.name for t in services.tokens.list()] == ["the-admin"]


@pytest.mark.parametrize(
    "path, query, parameter",
    [
        ("/admin/api/mappings", "limit=abc", "limit"),
        ("/admin/api/mappings", "limit=-5", "limit"),
        ("/admin/api/mappings", "offset=99999999999999999999", "offset"),
        ("/admin/api/mappings", "code=a%00b", "code"),
        ("/admin/api/topics", "limit=1.5", "limit"),
        ("/admin/api/audit", "mapping_id=0", "mapping_id"),
        ("/admin/api/audit", "version=x", "version"),
        ("/admin/api/versions", "limit=100000", "limit"),
        ("/admin/api/gaps", "days=-1", "days"),
        ("/admin/api/gaps", "include_mapped=perhaps", "include_mapped"),
        ("/admin/api/suggestions", "codes=E11&days=99999", "days"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_parameter(client, admin, path, query, parameter):
    r = client.get(f"{path}?{query}", headers=admin)
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["parameter"] == parameter and body["detail"]


def test_bad_import_and_delete_parameters_write_nothing(client, services, admin):
    version = services.mappings.version()
    csv = "code_system,code,topic_id\nICD-10-CM,D47.9,leukemia\n"
    for query, parameter in (
        ("mode=everything", "mode"),
        ("base_version=-1", "base_version"),
        ("dry_run=maybe", "dry_run"),
    ):
        r = client.post(f"/admin/api/mappings/import?{query}", data=csv, content_type="text/csv", headers=admin)
        assert r.status_code == 400 and r.get_json()["parameter"] == parameter
    r = client.delete("/admin/api/suggestions/rejections?code=E11", headers=admin)
    assert r.status_code == 400 and r.get_json()["parameter"] == "topic_id"
    assert services.mappings.version() == version


def test_suggestion_bodies_are_checked_by_type(client, admin):
    r = client.post("/admin/api/suggestions/reject", json={"code": ["E11"], "topic_id": 7}, headers=admin)
    assert r.status_code == 422
    assert {e["field"] for e in r.get_json()["errors"]} == {"code", "topic_id"}


def test_mapping_bodies_list_type_errors_and_the_services_findings_together(client, services, admin):
    r = client.post(
        "/admin/api/mappings",
        json={"code_system": "ICD-10-CM", "code": "C99.99", "topic_id": "leukemia", "priority": [1], "min_age": "old"},
        headers=admin,
    )
    assert r.status_code == 422
    errors = {e["field"]: e["message"] for e in r.get_json()["errors"]}
    assert set(errors) == {"priority", "min_age", "code"}
    assert "not a valid ICD-10-CM code" in errors["code"]


def test_a_body_nested_past_the_parser_is_400(client, admin):
    r = client.post("/admin/api/tokens", data="[" * 20_000, content_type="application/json", headers=admin)
    assert r.status_code == 400 and r.get_json()["parameter"] == "body"


# -- unique violations -----------------------------------------------------------------------


RULE = MappingRule(code_system=CodeSystem.ICD10CM, code="D47.9", topic_id="leukemia", scope=Scope.DESCENDANTS)


def _duplicate_route(app) -> None:
    """A route that writes one rule twice through the store, past the service's own duplicate
    check (which no API route lets a request get past), so the database's unique index refuses."""

    @app.post("/admin/api/test-duplicate")
    def duplicate():
        store = app.extensions["infobutton"].mappings
        store.create(RULE, actor="test")
        store.create(RULE, actor="test")
        return {}


def _assert_409_without_sql(client, services):
    before = services.mappings.count()
    r = client.post("/admin/api/test-duplicate")
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["parameter"] and "nothing was written" in body["detail"]
    text = json.dumps(body).upper()
    assert not any(word in text for word in ("INSERT", "SELECT", "VALUES", "D47.9", "LEUKEMIA"))
    assert services.mappings.count() == before + 1  # the first write stood; the second did not


def test_a_unique_violation_is_409_naming_the_conflict_not_the_sql(tmp_path):
    app = create_app(Settings(data_dir=str(tmp_path)))
    _duplicate_route(app)
    try:
        _assert_409_without_sql(app.test_client(), app.extensions["infobutton"])
    finally:
        app.extensions["infobutton"].close()


@pytest.mark.postgres
def test_a_unique_violation_on_postgresql_is_409(tmp_path, postgres_url):
    app = create_app(Settings(data_dir=str(tmp_path), database_url=postgres_url))
    _duplicate_route(app)
    try:
        _assert_409_without_sql(app.test_client(), app.extensions["infobutton"])
    finally:
        app.extensions["infobutton"].close()
