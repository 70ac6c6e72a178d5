"""The admin API over HTTP: every status code, validation, concurrency, versions and restore,
CSV round-trip, live effect in this and another app instance, and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json

import pytest

from infobutton import bundled, create_app
from infobutton.config import Settings

from ..conftest import ICD10CM, icd, wait_until

SEEDED = len(bundled.load_rules())  # rules a fresh database is seeded with

NEW = {
    "code_system": "ICD-10-CM",
    "code": "D47.9",
    "topic_id": "leukemia",
    "reason": "a rule a librarian adds in the test",
}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(services):
    store = services.tokens
    return {role: store.create(f"{role}-person", role) for role in ("viewer", "editor", "admin")}


@pytest.fixture
def editor(tokens):
    return bearer(tokens["editor"])


def topics_for(client, code: str) -> list[str]:
    r = client.get("/infobutton", query_string=icd(code, knowledgeResponseType="application/json"))
    assert r.status_code == 200
    entries = r.get_json()["feed"].get("entry", [])
    return [e["id"]["_value"].rsplit("/", 1)[-1].removesuffix(".html") for e in entries]


def create(client, headers, **fields):
    r = client.post("/admin/api/mappings", json={**NEW, **fields}, headers=headers)
    assert r.status_code == 201, r.get_json()
    return r


# -- 401 / 403 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer ibk_nope.nope"}, {"Authorization": "Bearer "}, {"Authorization": "Basic eDp5"}],
)
def test_401_without_or_with_a_bad_token(client, headers):
    r = client.get("/admin/api/mappings", headers=headers)
    assert r.status_code == 401
    assert r.mimetype == "application/problem+json"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.get_json()["parameter"] == "Authorization"


def test_401_for_a_revoked_token(client, services, tokens):
    assert client.get("/admin/api/me", headers=bearer(tokens["editor"])).status_code == 200
    services.tokens.revoke("editor-person")
    assert client.get("/admin/api/me", headers=bearer(tokens["editor"])).status_code == 401


def test_403_for_a_role_that_may_not_act(client, tokens):
    viewer = bearer(tokens["viewer"])
    assert client.get("/admin/api/mappings", headers=viewer).status_code == 200
    r = client.post("/admin/api/mappings", json=NEW, headers=viewer)
    assert r.status_code == 403 and "editor" in r.get_json()["detail"]
    assert client.post("/admin/api/versions/1/restore", headers=viewer).status_code == 403
    editor = bearer(tokens["editor"])
    assert client.get("/admin/api/tokens", headers=editor).status_code == 403
    assert client.get("/admin/api/tokens", headers=bearer(tokens["admin"])).status_code == 200


def test_me_says_who(client, tokens):
    assert client.get("/admin/api/me", headers=bearer(tokens["admin"])).get_json() == {
        "name": "admin-person",
        "role": "admin",
    }


# -- reads -------------------------------------------------------------------------------------


def test_topics_search(client, editor):
    r = client.get("/admin/api/topics", query_string={"q": "myeloid"}, headers=editor)
    assert r.status_code == 200
    items = r.get_json()["items"]
    assert {"id", "title", "language", "url"} <= set(items[0])
    assert "acutemyeloidleukemia" in [t["id"] for t in items]
    assert all("myeloid" in t["title"].lower() or "mieloide" in t["title"].lower() for t in items)


def test_mappings_filter_and_page(client, editor):
    r = client.get("/admin/api/mappings", query_string={"code_system": ICD10CM, "code": "c91"}, headers=editor)
    body = r.get_json()
    assert r.status_code == 200 and body["total"] == 3
    assert {m["topic_id"] for m in body["items"]} == {"leukemia", "childhoodleukemia", "nci-leukemia-hp"}
    page = client.get("/admin/api/mappings?limit=5&offset=5", headers=editor).get_json()
    assert len(page["items"]) == 5 and page["total"] == SEEDED and page["next_offset"] == 10
    by_topic = client.get("/admin/api/mappings?topic_id=chronicmyeloidleukemia", headers=editor)
    assert by_topic.get_json()["total"] == 2  # C92.1 and SNOMED CT 92818009; never C92.2


@pytest.mark.parametrize("query", ["limit=0", "limit=x", "offset=-1", "code_system=nonsense"])
def test_400_for_bad_query_parameters(client, editor, query):
    r = client.get(f"/admin/api/mappings?{query}", headers=editor)
    assert r.status_code == 400
    assert r.get_json()["parameter"] in ("limit", "offset", "code_system")


def test_404_for_an_unknown_mapping(client, editor):
    assert client.get("/admin/api/mappings/9999", headers=editor).status_code == 404
    r = client.put("/admin/api/mappings/9999", json=NEW, headers={**editor, "If-Match": '"x"'})
    assert r.status_code == 404
    assert client.delete("/admin/api/mappings/9999", headers=editor).status_code == 404


# -- create / update / delete ----------------------------------------------------------------


def test_create_is_201_with_id_and_served_at_once(client, editor):
    assert topics_for(client, "D47.9") == []
    r = create(client, editor)
    body = r.get_json()
    assert body["id"] > 0 and body["code"] == "D47.9" and body["scope"] == "descendants"
    assert r.headers["ETag"] == f'"{body["revision"]}"'
    assert r.headers["Location"] == f"/admin/api/mappings/{body['id']}"
    assert topics_for(client, "D47.9") == ["leukemia"]


def test_create_normalises_the_code(client, editor):
    body = create(client, editor, code=" d479 ", code_system=ICD10CM).get_json()
    assert body["code"] == "D47.9" and body["code_system"] == "ICD-10-CM"


def test_422_names_every_bad_field_and_writes_nothing(client, services, editor):
    version = services.mappings.version()
    r = client.post(
        "/admin/api/mappings",
        headers=editor,
        json={
            "code_system": "ICD-10-CM",
            "code": "C99.99",
            "topic_id": "no-such-topic",
            "scope": "everything",
            "priority": "high",
            "prority": 3,
        },
    )
    assert r.status_code == 422
    errors = {e["field"]: e["message"] for e in r.get_json()["errors"]}
    assert set(errors) == {"code", "topic_id", "scope", "priority", "prority"}
    assert "not a valid ICD-10-CM code" in errors["code"]
    assert services.mappings.version() == version


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"code_system": "SNOMED CT", "code": "93143008"}, "code"),  # Verhoeff check digit
        ({"code_system": "LOINC", "code": "2345-8"}, "code"),  # mod-10 check digit (2345-7 is right)
        ({"code_system": "RxNorm", "code": "12AB"}, "code"),
        ({"code_system": "NDC", "code": "1234"}, "code"),
        ({"code_system": "ICD-10-CM", "code": "C00-D49"}, "code"),  # a chapter is not a code to map
        ({"topic_id": "leukemia-es"}, "topic_id"),  # map the English topic
        ({"min_age": 18, "max_age": 5}, "max_age"),
        ({"gender": "X"}, "gender"),
        ({"code_system": "Klingon"}, "code_system"),
    ],
)
def test_422_for_each_kind_of_bad_rule(client, editor, fields, field):
    r = client.post("/admin/api/mappings", json={**NEW, **fields}, headers=editor)
    assert r.status_code == 422
    assert field in [e["field"] for e in r.get_json()["errors"]]


def test_422_for_a_withdrawn_topic(client, services, editor):
    import dataclasses

    topic = services.topics.get("leukemia")
    services.topics.upsert([dataclasses.replace(topic, status="withdrawn")])
    services.knowledge.refresh_now()
    r = client.post("/admin/api/mappings", json=NEW, headers=editor)
    assert r.status_code == 422 and "withdrawn" in r.get_json()["errors"][0]["message"]


def test_valid_codes_of_other_systems_are_accepted(client, editor):
    for system, code in (("SNOMED CT", "277473004"), ("LOINC", "2345-7"), ("RxNorm", "161")):
        create(client, editor, code_system=system, code=code)


def test_422_for_a_duplicate_rule(client, editor):
    r = client.post(
        "/admin/api/mappings", headers=editor, json={"code_system": "ICD-10-CM", "code": "C91", "topic_id": "leukemia"}
    )
    assert r.status_code == 422 and "duplicates mapping" in r.get_json()["errors"][0]["message"]
    # the same code and topic limited to children is a different rule
    create(client, editor, code="C91", topic_id="leukemia", max_age=18)


def test_400_for_a_body_that_is_not_a_json_object(client, editor):
    r = client.post(
        "/admin/api/mappings", data="code=C91", headers=editor, content_type="application/x-www-form-urlencoded"
    )
    assert r.status_code == 400 and r.get_json()["parameter"] == "body"
    r = client.post("/admin/api/mappings", json=[NEW], headers=editor)
    assert r.status_code == 400


def test_update_is_200_and_live(client, editor):
    body = create(client, editor).get_json()
    r = client.put(
        f"/admin/api/mappings/{body['id']}",
        headers={**editor, "If-Match": f'"{body["revision"]}"'},
        json={**NEW, "topic_id": "acutemyeloidleukemia"},
    )
    assert r.status_code == 200 and r.get_json()["topic_id"] == "acutemyeloidleukemia"
    assert r.get_json()["revision"] != body["revision"]
    assert topics_for(client, "D47.9") == ["acutemyeloidleukemia"]


def test_428_without_if_match(client, editor):
    body = create(client, editor).get_json()
    r = client.put(f"/admin/api/mappings/{body['id']}", json=NEW, headers=editor)
    assert r.status_code == 428 and r.get_json()["parameter"] == "If-Match"
    # the revision in the body does as well as If-Match
    r = client.put(
        f"/admin/api/mappings/{body['id']}", headers=editor, json={**NEW, "priority": 2, "revision": body["revision"]}
    )
    assert r.status_code == 200


def test_two_editors_change_the_same_mapping_the_second_gets_409(client, services, tokens):
    services.tokens.create("second-editor", "editor")
    first, second = bearer(tokens["editor"]), None
    second = bearer(services.tokens.create("third-editor", "editor"))
    body = create(client, first).get_json()
    url, read = f"/admin/api/mappings/{body['id']}", f'"{body["revision"]}"'
    # both read revision `read`; the first saves a new priority
    r1 = client.put(url, json={**NEW, "priority": 7}, headers={**first, "If-Match": read})
    assert r1.status_code == 200
    # the second, still holding the old revision, changes the reason: 409, with what is stored now
    r2 = client.put(url, json={**NEW, "reason": "other wording"}, headers={**second, "If-Match": read})
    assert r2.status_code == 409
    current = r2.get_json()["current"]
    assert current["priority"] == 7 and current["revision"] == r1.get_json()["revision"]
    # nothing lost: the first edit stands; the second succeeds once merged onto the current one
    assert services.mappings.get(body["id"]).priority == 7
    r3 = client.put(
        url,
        json={**NEW, "priority": 7, "reason": "other wording"},
        headers={**second, "If-Match": f'"{current["revision"]}"'},
    )
    assert r3.status_code == 200
    stored = services.mappings.get(body["id"])
    assert (stored.priority, stored.reason) == (7, "other wording")


def test_delete_is_204_and_409_for_a_stale_revision(client, editor):
    body = create(client, editor).get_json()
    url = f"/admin/api/mappings/{body['id']}"
    changed = client.put(url, json={**NEW, "priority": 1}, headers={**editor, "If-Match": f'"{body["revision"]}"'})
    r = client.delete(url, headers={**editor, "If-Match": f'"{body["revision"]}"'})
    assert r.status_code == 409
    assert client.delete(url, headers=editor).status_code == 428
    r = client.delete(url, headers={**editor, "If-Match": f'"{changed.get_json()["revision"]}"'})
    assert r.status_code == 204 and r.data == b""
    assert client.get(url, headers=editor).status_code == 404
    assert topics_for(client, "D47.9") == []


# -- audit, versions, restore ----------------------------------------------------------------


def test_audit_says_who_when_what_before_after_and_why(client, editor):
    body = create(client, editor).get_json()
    client.put(
        f"/admin/api/mappings/{body['id']}",
        headers={**editor, "If-Match": f'"{body["revision"]}"'},
        json={**NEW, "priority": 4, "change_reason": "rank above the overview"},
    )
    entries = client.get(f"/admin/api/audit?mapping_id={body['id']}", headers=editor).get_json()["items"]
    update, created = entries
    assert (update["actor"], update["action"]) == ("editor-person", "update")
    assert update["reason"] == "rank above the overview"
    assert update["before"]["priority"] == 0 and update["after"]["priority"] == 4
    assert created["action"] == "create" and created["before"] is None
    assert created["after"]["code"] == "D47.9" and created["at"].endswith("+00:00")
    assert update["version"] == created["version"] + 1


def test_every_change_makes_a_version_and_restore_brings_an_old_one_back(client, services, editor):
    v1 = client.get("/admin/api/versions", headers=editor).get_json()
    assert v1["current"] == v1["items"][0]["n"] == 1 and v1["items"][0]["rule_count"] == SEEDED
    a = create(client, editor).get_json()  # version 2
    create(client, editor, code="C94.80", topic_id="acutemyeloidleukemia")  # version 3
    client.delete(f"/admin/api/mappings/{a['id']}", headers={**editor, "If-Match": f'"{a["revision"]}"'})  # 4
    assert services.mappings.version() == 4
    assert topics_for(client, "D47.9") == []
    assert topics_for(client, "C94.80") == ["acutemyeloidleukemia", "leukemia"]

    # restore version 2: the first new mapping is back (same id), the second is gone
    r = client.post("/admin/api/versions/2/restore", json={"reason": "undo"}, headers=editor)
    assert r.status_code == 200 and r.get_json() == {"restored": 2, "version": 5, "changed": True}
    assert topics_for(client, "D47.9") == ["leukemia"]
    assert topics_for(client, "C94.80") == ["leukemia"]  # back to the C94.8 overview rule only
    restored = services.mappings.get(a["id"])
    assert restored is not None and restored.code == "D47.9"
    snapshot = client.get("/admin/api/versions/2", headers=editor).get_json()["rules"]
    now, offset = [], 0
    while offset is not None:  # every page: the shipped crosswalk holds thousands of rules
        page = client.get(f"/admin/api/mappings?limit=500&offset={offset}", headers=editor).get_json()
        now, offset = now + page["items"], page["next_offset"]
    strip = [{k: v for k, v in m.items() if k != "revision"} for m in now]
    assert sorted(strip, key=lambda m: m["id"]) == sorted(
        [{k: v for k, v in m.items() if k != "revision"} for m in snapshot], key=lambda m: m["id"]
    )
    # restoring what is already current changes nothing and makes no version
    again = client.post("/admin/api/versions/5/restore", headers=editor).get_json()
    assert again == {"restored": 5, "version": 5, "changed": False}
    # and a new mapping never reuses an id the history knows
    new = create(client, editor, code="C94.3", topic_id="acutemyeloidleukemia").get_json()
    assert new["id"] > max(m["id"] for m in snapshot)


def test_restore_of_the_seed_version(client, services, editor):
    create(client, editor)
    create(client, editor, code="C94.80", topic_id="acutemyeloidleukemia")
    client.post("/admin/api/versions/1/restore", headers=editor)
    assert services.mappings.count() == SEEDED
    audit = client.get("/admin/api/audit?limit=2", headers=editor).get_json()["items"]
    assert {e["action"] for e in audit} == {"restore"} and all(e["after"] is None for e in audit)


def test_404_for_an_unknown_version(client, editor):
    assert client.post("/admin/api/versions/99/restore", headers=editor).status_code == 404
    assert client.get("/admin/api/versions/99", headers=editor).status_code == 404


# -- CSV import and export -------------------------------------------------------------------

CSV_HEADER = "code_system,code,topic_id,scope,priority,min_age,max_age,gender,reason\n"


def test_export_imports_back_unchanged(client, services, editor):
    create(client, editor, min_age=0.5, max_age=12, gender="F", reason='commas, "quotes" and ü')
    exported = client.get("/admin/api/mappings/export", headers=editor)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    text = exported.get_data(as_text=True)
    r = client.post(
        "/admin/api/mappings/import?dry_run=1&mode=replace", data=text.encode(), content_type="text/csv", headers=editor
    )
    body = r.get_json()
    assert r.status_code == 200
    assert (body["added"], body["changed"], body["removed"], body["unchanged"]) == ([], [], [], SEEDED + 1)
    assert body["needs_force"] is None

    # into an empty set: the same rules, and the same export, byte for byte
    before = services.mappings.version()
    r = client.post("/admin/api/mappings/import?mode=replace", data=CSV_HEADER, headers=editor, content_type="text/csv")
    assert r.status_code == 409 and r.get_json()["parameter"] == "force"  # the removal guard
    assert f"would remove {SEEDED + 1} of {SEEDED + 1} mappings" in r.get_json()["detail"]
    assert services.mappings.count() == SEEDED + 1 and services.mappings.version() == before
    r = client.post(
        "/admin/api/mappings/import?mode=replace&force=true", data=CSV_HEADER, headers=editor, content_type="text/csv"
    )
    assert r.status_code == 200 and len(r.get_json()["removed"]) == SEEDED + 1
    assert services.mappings.count() == 0
    r = client.post("/admin/api/mappings/import", data=text, headers=editor, content_type="text/csv")
    assert r.get_json()["version"] == before + 2 and len(r.get_json()["added"]) == SEEDED + 1
    assert client.get("/admin/api/mappings/export", headers=editor).get_data(as_text=True) == text


def test_an_export_is_safe_to_open_in_a_spreadsheet_and_imports_back(client, services, editor):
    create(client, editor, reason="=cmd|' /C calc'!A0")
    text = client.get("/admin/api/mappings/export", headers=editor).get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
    assert "'=cmd|' /C calc'!A0" in cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    url = "/admin/api/mappings/import?dry_run=1&mode=replace"
    r = client.post(url, data=text, headers=editor, content_type="text/csv")
    assert r.status_code == 200 and r.get_json()["changed"] == [] and r.get_json()["added"] == []


def test_a_cell_longer_than_the_csv_module_reads_is_a_422_naming_its_line(client, services, editor):
    text = CSV_HEADER + "ICD-10-CM,D47.9,leukemia,descendants,0,,,," + "x" * 131_073 + "\n"
    version = services.mappings.version()
    r = client.post("/admin/api/mappings/import", data=text, headers=editor, content_type="text/csv")
    assert r.status_code == 422 and services.mappings.version() == version
    assert r.get_json()["errors"][0]["line"] == 2


def test_import_dry_run_shows_the_diff_and_writes_nothing(client, services, editor):
    text = CSV_HEADER + (
        "ICD-10-CM,D47.9,leukemia,descendants,0,,,,new\nICD-10-CM,C91,leukemia,descendants,3,,,,reranked\n"
    )
    version = services.mappings.version()
    body = client.post(
        "/admin/api/mappings/import?dry_run=1", data=text, headers=editor, content_type="text/csv"
    ).get_json()
    assert [m["code"] for m in body["added"]] == ["D47.9"]
    assert [(c["before"]["priority"], c["after"]["priority"]) for c in body["changed"]] == [(0, 3)]
    assert body["removed"] == [] and body["dry_run"] is True and body["version"] is None
    assert services.mappings.version() == version and topics_for(client, "D47.9") == []

    body = client.post(
        f"/admin/api/mappings/import?base_version={version}", data=text, headers=editor, content_type="text/csv"
    ).get_json()
    assert body["version"] == version + 1
    assert topics_for(client, "D47.9") == ["leukemia"]
    # committing another diff reviewed at the old version is refused: the set moved on
    other = CSV_HEADER + "ICD-10-CM,C94.3,acutemyeloidleukemia,descendants,0,,,,\n"
    r = client.post(
        f"/admin/api/mappings/import?base_version={version}", data=other, headers=editor, content_type="text/csv"
    )
    assert r.status_code == 409 and services.mappings.version() == version + 1


def test_csv_with_bad_lines_writes_nothing_and_names_each_line(client, services, editor):
    text = CSV_HEADER + (
        "ICD-10-CM,D47.9,leukemia,descendants,0,,,,fine\n"
        "ICD-10-CM,C99.99,leukemia,descendants,0,,,,no such code\n"
        "ICD-10-CM,C94.80,no-such-topic,descendants,0,,,,\n"
        "ICD-10-CM,C94.3,leukemia,sideways,0,,,,\n"
        "ICD-10-CM,D47.9,leukemia,descendants,1,,,,same rule again\n"
    )
    version = services.mappings.version()
    r = client.post("/admin/api/mappings/import", data=text, headers=editor, content_type="text/csv")
    assert r.status_code == 422
    errors = r.get_json()["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(3, "code"), (4, "topic_id"), (5, "scope"), (6, "line")]
    assert "line 2" in errors[3]["message"]
    assert services.mappings.version() == version and topics_for(client, "D47.9") == []


def test_import_as_a_multipart_file_and_bad_input(client, editor):
    from io import BytesIO

    text = CSV_HEADER + "ICD-10-CM,D47.9,leukemia,descendants,0,,,,file upload\n"
    r = client.post("/admin/api/mappings/import", headers=editor, data={"file": (BytesIO(text.encode()), "m.csv")})
    assert r.status_code == 200 and len(r.get_json()["added"]) == 1
    assert client.post("/admin/api/mappings/import", data=b"", headers=editor).status_code == 400
    r = client.post("/admin/api/mappings/import", data=b"\xff\xfe", headers=editor, content_type="text/csv")
    assert r.status_code == 400
    r = client.post("/admin/api/mappings/import?mode=everything", data=text, headers=editor, content_type="text/csv")
    assert r.status_code == 400
    r = client.post("/admin/api/mappings/import", data="a,b\n1,2\n", headers=editor, content_type="text/csv")
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "header"


def test_import_bigger_than_the_answer_limit(client, services, editor):
    rows = "".join(f"ICD-10-CM,C91,leukemia,descendants,0,{a},{a + 1},,{'x' * 900}\n" for a in range(100))
    assert len(rows) > services.settings.max_body_bytes
    r = client.post(
        "/admin/api/mappings/import?dry_run=1", data=CSV_HEADER + rows, headers=editor, content_type="text/csv"
    )
    assert r.status_code == 200 and len(r.get_json()["added"]) == 100


# -- preview ---------------------------------------------------------------------------------


def test_preview_shows_now_and_after_and_writes_nothing(client, services, editor):
    version = services.mappings.version()
    change = json.dumps({"op": "add", "rule": {**NEW, "topic_id": "acutemyeloidleukemia"}})
    r = client.get("/admin/api/preview", query_string={**icd("D47.9"), "with": change}, headers=editor)
    assert r.status_code == 200
    body = r.get_json()
    assert body["now"] == [] and [m["topic_id"] for m in body["after"]] == ["acutemyeloidleukemia"]
    assert body["changed"] is True
    assert services.mappings.version() == version and topics_for(client, "D47.9") == []


def test_preview_of_update_and_delete_and_context(client, services, editor):
    c91 = next(r for r in services.mappings.rules() if (r.code, r.topic_id) == ("C91.0", "acutelymphocyticleukemia"))
    delete = json.dumps({"op": "delete", "id": c91.id})
    body = client.get("/admin/api/preview", query_string={**icd("C91.00"), "with": delete}, headers=editor).get_json()
    assert [m["topic_id"] for m in body["now"]] == ["acutelymphocyticleukemia", "leukemia"]
    assert [m["topic_id"] for m in body["after"]] == ["leukemia"]
    child = client.get(
        "/admin/api/preview", query_string={**icd("C91.00", **{"age.v.v": "7"}), "with": delete}, headers=editor
    ).get_json()
    assert "childhoodleukemia" in [m["topic_id"] for m in child["now"]]
    update = json.dumps(
        {
            "op": "update",
            "id": c91.id,
            "rule": {
                "code_system": "ICD-10-CM",
                "code": "C91.0",
                "topic_id": "chroniclymphocyticleukemia",
                "priority": 10,
            },
        }
    )
    body = client.get("/admin/api/preview", query_string={**icd("C91.00"), "with": update}, headers=editor).get_json()
    assert body["after"][0]["topic_id"] == "chroniclymphocyticleukemia"


@pytest.mark.parametrize(
    "with_, status",
    [
        ("not json", 400),
        (json.dumps({"op": "frobnicate"}), 400),
        (json.dumps({"op": "delete", "id": 99999}), 404),
        (json.dumps({"op": "add", "rule": {**NEW, "code": "C99.99"}}), 422),
    ],
)
def test_preview_errors(client, editor, with_, status):
    r = client.get("/admin/api/preview", query_string={**icd("C91"), "with": with_}, headers=editor)
    assert r.status_code == status


def test_preview_needs_a_valid_infobutton_request(client, editor):
    r = client.get("/admin/api/preview", headers=editor)
    assert r.status_code == 400 and r.get_json()["parameter"] == "mainSearchCriteria.v.c"


# -- tokens over the API ---------------------------------------------------------------------


def test_token_management_for_admins(client, tokens):
    admin = bearer(tokens["admin"])
    r = client.post("/admin/api/tokens", json={"name": "script", "role": "viewer"}, headers=admin)
    assert r.status_code == 201
    token = r.get_json()["token"]
    assert client.get("/admin/api/me", headers=bearer(token)).get_json()["role"] == "viewer"
    listed = client.get("/admin/api/tokens", headers=admin).get_json()["items"]
    assert "script" in [t["name"] for t in listed] and token not in json.dumps(listed)
    assert client.post("/admin/api/tokens", json={"name": "script", "role": "viewer"}, headers=admin).status_code == 409
    assert client.post("/admin/api/tokens", json={"name": "x", "role": "root"}, headers=admin).status_code == 422
    assert client.delete("/admin/api/tokens/script", headers=admin).status_code == 204
    assert client.get("/admin/api/me", headers=bearer(token)).status_code == 401
    assert client.delete("/admin/api/tokens/script", headers=admin).status_code == 404


# -- live effect across instances ------------------------------------------------------------


def test_a_second_instance_serves_the_change_without_a_restart(tmp_path):
    """Two apps on one SQLite file stand in for two workers; the second has its own caches and
    notices the change at its next version check. How soon (``version_check_interval``) is pinned
    with an injected clock in test_knowledge; here the deadline only bounds a busy machine."""
    settings = Settings(data_dir=str(tmp_path), version_check_interval=0.2)
    first, second = create_app(settings), create_app(settings)
    try:
        one, two = first.test_client(), second.test_client()
        assert topics_for(two, "D47.9") == []  # cached in the second instance
        token = first.extensions["infobutton"].tokens.create("ed", "editor")
        create(one, bearer(token))
        assert topics_for(one, "D47.9") == ["leukemia"]  # this instance: at once
        wait_until(lambda: topics_for(two, "D47.9") == ["leukemia"], what="the second instance to see the change")
    finally:
        first.extensions["infobutton"].close()
        second.extensions["infobutton"].close()


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_write_version_restore_path_on_postgresql(tmp_path, postgres_url):
    app = create_app(Settings(data_dir=str(tmp_path), database_url=postgres_url, version_check_interval=0.0))
    try:
        client, services = app.test_client(), app.extensions["infobutton"]
        editor = bearer(services.tokens.create("pg-editor", "editor"))
        assert services.mappings.version() == 1
        body = create(client, editor).get_json()
        assert topics_for(client, "D47.9") == ["leukemia"]
        url, read = f"/admin/api/mappings/{body['id']}", f'"{body["revision"]}"'
        assert client.put(url, json={**NEW, "priority": 2}, headers={**editor, "If-Match": read}).status_code == 200
        assert client.put(url, json={**NEW, "priority": 3}, headers={**editor, "If-Match": read}).status_code == 409
        bad = CSV_HEADER + "ICD-10-CM,C94.80,leukemia,descendants,0,,,,\nICD-10-CM,C99.99,leukemia,,,,,,\n"
        r = client.post("/admin/api/mappings/import", data=bad, headers=editor, content_type="text/csv")
        assert r.status_code == 422 and services.mappings.version() == 3
        r = client.post("/admin/api/versions/1/restore", headers=editor)
        assert r.get_json() == {"restored": 1, "version": 4, "changed": True}
        assert topics_for(client, "D47.9") == [] and services.mappings.count() == SEEDED
        r = client.post("/admin/api/versions/3/restore", headers=editor)
        assert r.get_json()["version"] == 5 and services.mappings.get(body["id"]).priority == 2
        new = create(client, editor, code="C94.80", topic_id="acutemyeloidleukemia").get_json()
        assert new["id"] > body["id"]  # the id sequence moved past restored ids
        audit = client.get("/admin/api/audit?limit=100", headers=editor).get_json()
        assert [e["version"] for e in audit["items"]][:2] == [6, 5]
    finally:
        app.extensions["infobutton"].close()


# -- context limits ----------------------------------------------------------------------------

LIMITS = {
    "audiences": ["prov", "PAT", "PROV"],
    "tasks": ["oe", "MLREV"],
    "settings": ["EMER", "amb"],
    "languages": ["EN"],
    "age_groups": ["D000368", "d000369"],
}
STORED = {
    "audiences": ["PAT", "PROV"],
    "tasks": ["MLREV", "OE"],
    "settings": ["AMB", "EMER"],
    "languages": ["en"],
    "age_groups": ["D000368", "D000369"],
}


def test_limits_are_created_normalised_and_read_back_by_get_and_list(client, editor):
    r = create(client, editor, **LIMITS)
    body = r.get_json()
    assert {k: body[k] for k in STORED} == STORED
    got = client.get(f"/admin/api/mappings/{body['id']}", headers=editor)
    assert got.get_json() == body and got.headers["ETag"] == r.headers["ETag"]
    listed = client.get("/admin/api/mappings", query_string={"code": "D47.9"}, headers=editor).get_json()["items"]
    assert listed == [body]
    plain = client.get("/admin/api/mappings", query_string={"code": "C91"}, headers=editor).get_json()["items"]
    plain = [m for m in plain if m["topic_id"] in ("leukemia", "childhoodleukemia")]  # leukemia.csv's
    assert len(plain) == 2 and all(m[k] == [] for m in plain for k in STORED)  # no limit: any context


def test_limits_are_updated_and_audited(client, editor):
    body = create(client, editor, **LIMITS).get_json()
    r = client.put(
        f"/admin/api/mappings/{body['id']}",
        headers={**editor, "If-Match": f'"{body["revision"]}"'},
        json={**NEW, "audiences": ["PAYOR"], "tasks": [], "languages": None},
    )
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert (after["audiences"], after["tasks"], after["settings"], after["languages"]) == (["PAYOR"], [], [], [])
    assert r.get_json()["revision"] != body["revision"]
    update, created = client.get(f"/admin/api/audit?mapping_id={body['id']}", headers=editor).get_json()["items"]
    assert created["after"]["tasks"] == ["MLREV", "OE"] and update["before"]["age_groups"] == ["D000368", "D000369"]
    assert update["after"]["audiences"] == ["PAYOR"] and update["after"]["age_groups"] == []


@pytest.mark.parametrize(
    "field, value, allowed",
    [
        ("audiences", ["PAT", "doctor"], "PAT, PROV or PAYOR; 'doctor' is not one"),
        ("audiences", "PAT", "must be a list of codes"),
        ("tasks", ["MEDLISTREV"], "MLREV"),
        ("tasks", [7], "OE"),
        ("settings", ["ICU"], "AMB"),
        ("languages", ["fr"], "en or es"),
        ("age_groups", ["D000000"], "D000328"),
        ("age_groups", {"D000328": 1}, "must be a list of codes"),
        ("tasks", ["OE"] * 101, "at most 100 codes"),
    ],
)
def test_422_names_a_bad_limit_and_what_it_allows(client, services, editor, field, value, allowed):
    version = services.mappings.version()
    r = client.post("/admin/api/mappings", json={**NEW, field: value, "topic_id": "nope"}, headers=editor)
    assert r.status_code == 422
    errors = r.get_json()["errors"]
    assert {e["field"] for e in errors} == {field, "topic_id"}  # every bad field at once
    assert any(allowed in e["message"] for e in errors if e["field"] == field)
    assert services.mappings.version() == version


def test_422_for_an_age_group_the_age_range_excludes(client, editor):
    r = client.post(
        "/admin/api/mappings", json={**NEW, "min_age": 65, "age_groups": ["D000293", "D000368"]}, headers=editor
    )
    assert r.status_code == 422
    [error] = r.get_json()["errors"]
    assert error["field"] == "age_groups" and error["message"].startswith("D000293 (Adolescent")
    create(client, editor, min_age=65, age_groups=["D000368", "D000369"])


def test_rules_that_differ_only_by_a_limit_are_two_rules(client, editor):
    create(client, editor, audiences=["PROV"])
    create(client, editor, audiences=["PAT"])
    create(client, editor)
    r = client.post("/admin/api/mappings", json={**NEW, "audiences": ["prov"]}, headers=editor)
    assert r.status_code == 422 and "duplicates mapping" in r.get_json()["errors"][0]["message"]


def test_limits_import_export_and_restore_through_the_api(client, services, editor):
    text = (
        CSV_HEADER.strip()
        + ",audience,task,setting,language,age_group\n"
        + "ICD-10-CM,D47.9,leukemia,descendants,0,,,,pros,PROV,OE,EMER,en,D000328\n"
        + "ICD-10-CM,D47.9,leukemia,descendants,0,,,,patients,pat,,,,\n"
    )
    body = client.post("/admin/api/mappings/import", data=text, headers=editor, content_type="text/csv").get_json()
    assert sorted((m["audiences"], m["tasks"], m["age_groups"]) for m in body["added"]) == [
        (["PAT"], [], []),
        (["PROV"], ["OE"], ["D000328"]),
    ]
    version = body["version"]
    exported = client.get("/admin/api/mappings/export", headers=editor).get_data(as_text=True)
    assert ",pros,PROV,OE,EMER,en,D000328\n" in exported and ",patients,PAT,,,,\n" in exported
    bad = CSV_HEADER.strip() + ",task\nICD-10-CM,D47.9,leukemia,,,,,,,IMMLISTREV\n"
    r = client.post("/admin/api/mappings/import", data=bad, headers=editor, content_type="text/csv")
    assert r.status_code == 422 and r.get_json()["errors"][0] | {"message": ""} == {
        "line": 2,
        "field": "task",
        "message": "",
    }
    client.post("/admin/api/versions/1/restore", headers=editor)
    assert services.mappings.find(code="D47.9")[1] == 0
    client.post(f"/admin/api/versions/{version}/restore", headers=editor)
    rules = services.mappings.find(code="D47.9")[0]
    assert sorted(r.reason for r in rules) == ["patients", "pros"]
    pros = next(r for r in rules if r.reason == "pros")
    assert (pros.tasks, pros.settings, pros.languages, pros.age_groups) == (("OE",), ("EMER",), ("en",), ("D000328",))


@pytest.mark.postgres
def test_limits_on_postgresql(tmp_path, postgres_url):
    app = create_app(Settings(data_dir=str(tmp_path), database_url=postgres_url, version_check_interval=0.0))
    try:
        client, services = app.test_client(), app.extensions["infobutton"]
        editor = bearer(services.tokens.create("pg-editor", "editor"))
        body = create(client, editor, **LIMITS).get_json()
        assert {k: body[k] for k in STORED} == STORED
        assert client.get(f"/admin/api/mappings/{body['id']}", headers=editor).get_json() == body
        create(client, editor, audiences=["PAYOR"])  # differs only by audience: a second rule
        r = client.post("/admin/api/mappings", json={**NEW, **LIMITS}, headers=editor)
        assert r.status_code == 422 and "duplicates mapping" in r.get_json()["errors"][0]["message"]
    finally:
        app.extensions["infobutton"].close()


def test_topics_say_who_they_are_written_for(client, editor):
    items = client.get("/admin/api/topics", query_string={"q": "lymphoblastic", "limit": 50}, headers=editor)
    audiences = {t["id"]: t["audience"] for t in items.get_json()["items"]}
    assert audiences["nci-pdq-adult-all-hp"] == "professional"
    assert audiences["nci-pdq-child-all-hp"] == "professional"
    everyone = client.get("/admin/api/topics", query_string={"q": "acute lymphocytic"}, headers=editor).get_json()
    assert {t["id"]: t["audience"] for t in everyone["items"]}["acutelymphocyticleukemia"] == ""
