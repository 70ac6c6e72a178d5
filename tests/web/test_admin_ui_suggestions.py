"""Suggestions on the gap report page: evidence shown, one-click accept and reject (CSRF-protected
forms, editors only), un-reject."""

from __future__ import annotations

import html
import re

import pytest

from ..conftest import icd
from .test_admin_api_suggestions import only_one_diabetes_page
from .test_admin_ui import csrf_of, sign_in

FORM = {"code_system": "ICD-10-CM", "code": "E11", "topic_id": "diabetestype2", "days": "7"}


@pytest.fixture
def gap(client, services):
    only_one_diabetes_page(services)
    client.get("/infobutton", query_string=icd("E11.9"))
    services.usage.flush()


def signed_in_as(client, services, role: str):
    token = services.tokens.create(f"{role} person", role)
    assert sign_in(client, token).status_code == 303
    return client


def page(client) -> str:
    return html.unescape(client.get("/admin/gaps?days=7").get_data(as_text=True))


def test_editors_see_the_evidence_and_the_buttons(client, services, gap):
    text = page(signed_in_as(client, services, "editor"))
    row = text[text.index("<strong>E11.9</strong>") : text.index("</tr>", text.index("<strong>E11.9</strong>"))]
    assert "E11 and below → Diabetes Type 2" in row and "confident" in row
    assert "ICD-10-CM title ‘Type 2 diabetes mellitus’ (E11) holds the topic name ‘Diabetes Type 2’" in row
    assert 'action="/admin/suggestions/accept"' in row and 'action="/admin/suggestions/reject"' in row
    assert len(re.findall(r'name="csrf" value="[^"]+"', row)) == 2
    assert row.count('name="days" value="7"') == 2  # back to the same period after the click


def test_viewers_see_suggestions_but_cannot_act(client, services, gap):
    signed_in_as(client, services, "viewer")
    text = page(client)
    assert "E11 and below → Diabetes Type 2" in text and "/admin/suggestions/accept" not in text
    r = client.post("/admin/suggestions/accept", data={**FORM, "csrf": csrf_of(text)})
    assert r.status_code == 403 and services.mappings.find(code="E11")[1] == 0


def test_accept_needs_the_csrf_token_then_adds_the_rule_in_one_click(client, services, gap):
    signed_in_as(client, services, "editor")
    version = services.mappings.version()
    assert client.post("/admin/suggestions/accept", data=FORM).status_code == 403
    assert client.post("/admin/suggestions/accept", data={**FORM, "csrf": "forged"}).status_code == 403
    assert services.mappings.version() == version
    r = client.post("/admin/suggestions/accept", data={**FORM, "csrf": csrf_of(page(client))})
    assert r.status_code == 303 and r.headers["Location"] == "/admin/gaps?days=7"
    [rule], _ = services.mappings.find(code="E11")
    assert (rule.topic_id, rule.scope.value) == ("diabetestype2", "descendants")
    assert rule.reason.startswith("suggested: ICD-10-CM title ‘Type 2 diabetes mellitus’")
    assert services.mappings.version() == version + 1
    text = page(client)
    assert f"Mapping {rule.id} added" in text and "<strong>E11.9</strong>" not in text  # answered now
    # A second click (stale page) is refused with a message, not a second rule.
    client.post("/admin/suggestions/accept", data={**FORM, "csrf": csrf_of(text)})
    assert "is not a current suggestion" in page(client)
    assert services.mappings.find(code="E11")[1] == 1


def test_reject_then_unreject(client, services, gap):
    signed_in_as(client, services, "editor")
    token = csrf_of(page(client))
    assert client.post("/admin/suggestions/reject", data=FORM).status_code == 403
    r = client.post("/admin/suggestions/reject", data={**FORM, "csrf": token, "reason": "no"})
    assert r.status_code == 303
    text = page(client)
    assert "diabetestype2 will not be suggested for E11" in text
    assert "E11 and below → Diabetes Type 2" not in text
    rejected = text[text.index('id="rejections"') :]
    assert "<strong>E11</strong>" in rejected and "editor person" in rejected
    assert 'action="/admin/suggestions/unreject"' in rejected
    [r] = services.suggestions.rejections.all()
    assert (r.code, r.topic_id, r.actor, r.reason) == ("E11", "diabetestype2", "editor person", "no")
    r = client.post("/admin/suggestions/unreject", data={**FORM, "csrf": token})
    assert r.status_code == 303
    text = page(client)
    assert "E11 and below → Diabetes Type 2" in text
    assert services.suggestions.rejections.all() == []


def test_the_api_with_the_session_cookie_needs_the_csrf_header(client, services, gap):
    signed_in_as(client, services, "editor")
    body = {"code": "E11", "topic_id": "diabetestype2"}
    r = client.post("/admin/api/suggestions/accept", json=body)
    assert r.status_code == 403 and r.get_json()["parameter"] == "X-CSRF-Token"
    assert client.post("/admin/api/suggestions/reject", json=body).status_code == 403
    token = csrf_of(page(client))
    r = client.post("/admin/api/suggestions/accept", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201


def test_a_refused_button_is_a_message_not_an_error_page(client, services, gap):
    signed_in_as(client, services, "editor")
    token = csrf_of(page(client))
    bad = {**FORM, "topic_id": "nosuchtopic", "csrf": token, "days": "many"}
    for action in ("reject", "unreject"):
        r = client.post(f"/admin/suggestions/{action}", data=bad)
        assert r.status_code == 303 and r.headers["Location"] == "/admin/gaps?days=30"
        assert "no topic 'nosuchtopic'" in page(client)
    assert services.suggestions.rejections.all() == []
    # Un-rejecting what is not rejected changes nothing and says nothing.
    r = client.post("/admin/suggestions/unreject", data={**FORM, "csrf": token})
    assert r.status_code == 303 and "may be suggested" not in page(client)
    assert services.suggestions.rejections.audit()[1] == 0
    assert client.get("/admin/gaps?days=x").status_code == 200
