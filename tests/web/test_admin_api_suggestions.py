"""Suggestions in the admin API: in the gap report, listed, accepted as curated rules, rejected and
un-rejected, with roles, status codes and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from infobutton import create_app
from infobutton.config import Settings
from infobutton.request import parse

from ..conftest import icd, unmap_diabetes

E11 = {"code_system": "ICD-10-CM", "code": "E11", "topic_id": "diabetestype2"}
EVIDENCE = "ICD-10-CM title \u2018Type 2 diabetes mellitus\u2019 (E11) holds the topic name \u2018Diabetes Type 2\u2019"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def only_one_diabetes_page(services) -> None:
    """These tests start where nobody has mapped diabetes and one topic fits E11: the general
    Diabetes page (also called "Diabetes mellitus") matches E11's title too, so it is withdrawn."""
    unmap_diabetes(services)
    services.topics.upsert([replace(services.topics.get("diabetes"), status="withdrawn")])


def prepare(services) -> dict:
    only_one_diabetes_page(services)
    store = services.tokens
    return {role: bearer(store.create(f"{role}-person", role)) for role in ("viewer", "editor")}


@pytest.fixture
def who(services):
    return prepare(services)


def answer(services, code: str) -> list[tuple[str, str]]:
    return [(m.topic.id, m.provenance.value) for m in services.knowledge.resolve(parse(icd(code).items()))]


def test_the_gap_report_carries_each_codes_suggestions(client, services, who):
    for code in ("E11.9", "E11.65", "Z99.89"):
        client.get("/infobutton", query_string=icd(code))
    r = client.get("/admin/api/gaps", headers=who["viewer"])
    assert r.status_code == 200
    items = {g["code"]: g for g in r.get_json()["items"]}
    [s] = items["E11.9"]["suggestions"]
    assert s == {
        "code_system": "ICD-10-CM",
        "code_system_oid": "2.16.840.1.113883.6.90",
        "code": "E11",
        "topic_id": "diabetestype2",
        "topic_title": "Diabetes Type 2",
        "scope": "descendants",
        "confident": True,
        "doubts": [],
        "covers": ["E11.65", "E11.9"],  # gap report order
        "evidence": {
            "code": "E11",
            "title": "Type 2 diabetes mellitus",
            "name": "Diabetes Type 2",
            "kind": "title",
            "words": ["2", "diabete", "type"],
            "exact": False,
            "text": EVIDENCE,
        },
        "reason": "suggested: " + EVIDENCE,
    }
    # E11.65 also names its own topic, on the code itself (with hyperglycemia): only for review
    found = items["E11.65"]["suggestions"]
    assert found[0] == s and ("E11.65", "hyperglycemia") in [(x["code"], x["topic_id"]) for x in found]
    assert not [x for x in found[1:] if x["confident"]]
    assert items["Z99.89"]["suggestions"] == []


def test_suggestions_for_codes_or_a_prefix(client, who):
    r = client.get("/admin/api/suggestions", query_string={"codes": "E11.9,C91.00"}, headers=who["viewer"])
    body = r.get_json()
    assert r.status_code == 200
    assert (body["total"], body["confident"], body["codes"]) == (1, 1, 2)
    assert body["items"][0]["code"] == "E11"
    r = client.get("/admin/api/suggestions?prefix=E11", headers=who["viewer"])
    assert r.get_json()["codes"] == 87 and len(r.get_json()["items"][0]["covers"]) == 87


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("", "codes"),
        ("codes=E11.9&prefix=E11", "prefix"),
        ("codes=NOPE", "codes"),
        ("prefix=S", "prefix"),
        ("prefix=%3C", "prefix"),
        ("gaps=1&days=0", "days"),
    ],
)
def test_400_for_bad_suggestion_queries(client, who, query, parameter):
    r = client.get(f"/admin/api/suggestions?{query}", headers=who["viewer"])
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert r.get_json()["parameter"] == parameter


def test_roles_viewers_see_editors_act(client, services, who):
    assert client.get("/admin/api/suggestions?codes=E11.9").status_code == 401
    version = services.mappings.version()
    for path in ("/admin/api/suggestions/accept", "/admin/api/suggestions/reject"):
        r = client.post(path, json=E11, headers=who["viewer"])
        assert r.status_code == 403 and "editor" in r.get_json()["detail"]
    r = client.delete("/admin/api/suggestions/rejections", query_string=E11, headers=who["viewer"])
    assert r.status_code == 403
    assert client.get("/admin/api/suggestions/rejections", headers=who["viewer"]).status_code == 200
    assert services.mappings.version() == version and services.suggestions.rejections.all() == []


def test_accept_creates_an_audited_curated_rule_that_is_served_at_once(client, services, who):
    client.get("/infobutton", query_string=icd("E11.9"))
    assert answer(services, "E11.9") == [("diabetestype2", "automatic")]
    r = client.post("/admin/api/suggestions/accept", json=E11, headers=who["editor"])
    assert r.status_code == 201, r.get_json()
    rule = r.get_json()
    assert r.headers["Location"] == f"/admin/api/mappings/{rule['id']}"
    assert r.headers["ETag"] == f'"{rule["revision"]}"'
    assert (rule["code"], rule["topic_id"], rule["scope"], rule["reason"]) == (
        "E11",
        "diabetestype2",
        "descendants",
        "suggested: " + EVIDENCE,
    )
    assert answer(services, "E11.9") == [("diabetestype2", "curated")]
    [entry] = client.get(f"/admin/api/audit?mapping_id={rule['id']}", headers=who["viewer"]).get_json()["items"]
    assert (entry["actor"], entry["action"], entry["reason"]) == (
        "editor-person",
        "accept",
        "accepted suggested: " + EVIDENCE,
    )
    # No longer a suggestion, no longer a gap.
    again = client.post("/admin/api/suggestions/accept", json=E11, headers=who["editor"])
    assert again.status_code == 409 and again.get_json()["parameter"] == "topic_id"
    assert client.get("/admin/api/gaps", headers=who["viewer"]).get_json()["items"] == []


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({**E11, "topic_id": "leukemia"}, 409, "topic_id"),  # no title of E11 holds it
        ({**E11, "code": "E11.999"}, 422, "code"),
        ({**E11, "topic_id": "nosuchtopic"}, 422, "topic_id"),
        ({"code": "E11"}, 422, "topic_id"),
        ({**E11, "code_system": "nonsense"}, 422, "code_system"),
    ],
)
def test_accept_refuses_what_is_not_a_current_suggestion(client, services, who, body, status, field):
    version = services.mappings.version()
    r = client.post("/admin/api/suggestions/accept", json=body, headers=who["editor"])
    assert r.status_code == status and r.get_json()["parameter"] == field
    assert services.mappings.version() == version


def test_400_for_a_body_that_is_not_a_json_object(client, who):
    r = client.post("/admin/api/suggestions/reject", data="E11", headers=who["editor"])
    assert r.status_code == 400


def test_reject_suppresses_until_unrejected(client, services, who):
    editor, viewer = who["editor"], who["viewer"]
    r = client.post("/admin/api/suggestions/reject", json={**E11, "reason": "diabetes page instead"}, headers=editor)
    assert r.status_code == 201
    assert {k: r.get_json()[k] for k in ("code", "topic_id", "actor", "reason")} == {
        "code": "E11",
        "topic_id": "diabetestype2",
        "actor": "editor-person",
        "reason": "diabetes page instead",
    }
    assert client.post("/admin/api/suggestions/reject", json=E11, headers=editor).status_code == 200
    listed = client.get("/admin/api/suggestions?codes=E11.9,E11.65", headers=viewer).get_json()
    listed = [(x["code"], x["topic_id"]) for x in listed["items"]]
    assert ("E11.65", "hyperglycemia") in listed and ("E11", "diabetestype2") not in listed
    assert client.post("/admin/api/suggestions/accept", json=E11, headers=editor).status_code == 409
    assert [x["code"] for x in client.get("/admin/api/suggestions/rejections", headers=viewer).get_json()["items"]] == [
        "E11"
    ]
    r = client.delete("/admin/api/suggestions/rejections", query_string={**E11, "reason": "oops"}, headers=editor)
    assert r.status_code == 204
    r = client.delete("/admin/api/suggestions/rejections", query_string=E11, headers=editor)
    assert r.status_code == 404
    assert client.get("/admin/api/suggestions?codes=E11.9", headers=viewer).get_json()["total"] == 1
    events, _ = services.suggestions.rejections.audit()
    assert [(e.action, e.actor, e.reason) for e in events] == [
        ("unreject", "editor-person", "oops"),
        ("reject", "editor-person", "diabetes page instead"),
    ]


def test_reject_validates(client, who):
    r = client.post("/admin/api/suggestions/reject", json={"code": "E11.999", "topic_id": "x"}, headers=who["editor"])
    assert r.status_code == 422
    assert {e["field"] for e in r.get_json()["errors"]} == {"code", "topic_id"}


@pytest.mark.postgres
def test_accept_and_reject_on_postgresql(tmp_path, postgres_url):
    app = create_app(Settings(data_dir=str(tmp_path), database_url=postgres_url, version_check_interval=0.0))
    try:
        client, services = app.test_client(), app.extensions["infobutton"]
        headers = prepare(services)
        listed = client.get("/admin/api/suggestions?codes=E11.9,E10.9", headers=headers["viewer"])
        assert [s["code"] for s in listed.get_json()["items"]] == ["E10", "E11"]
        r = client.post("/admin/api/suggestions/reject", json=E11, headers=headers["editor"])
        assert r.status_code == 201
        assert client.get("/admin/api/suggestions?codes=E11.9", headers=headers["viewer"]).get_json()["total"] == 0
        assert (
            client.delete("/admin/api/suggestions/rejections", query_string=E11, headers=headers["editor"]).status_code
            == 204
        )
        version = services.mappings.version()
        r = client.post("/admin/api/suggestions/accept", json=E11, headers=headers["editor"])
        assert r.status_code == 201 and services.mappings.version() == version + 1
        assert answer(services, "E11.65") == [("diabetestype2", "curated")]
    finally:
        app.extensions["infobutton"].close()
