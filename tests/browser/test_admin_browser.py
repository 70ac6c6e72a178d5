"""A librarian's session in a real browser (Debian's chromium through Playwright): sign in, find
an unanswered code in the gap report, map it with a live preview, see the infobutton answer
change, read the audit history and undo the change with one click.

The server runs on 127.0.0.1 in a thread; screenshots go to the test's tmp dir.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from infobutton import bundled, create_app
from infobutton.config import Settings

from ..conftest import ICD10CM
from .conftest import serve
from .test_click_page import AXE, audit

pytestmark = pytest.mark.browser

SEEDED = len(bundled.load_rules())  # rules a fresh database is seeded with

D47_9 = f"mainSearchCriteria.v.c=D47.9&mainSearchCriteria.v.cs={ICD10CM}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = create_app(Settings(data_dir=str(tmp_path_factory.mktemp("admin-browser")), version_check_interval=0.2))
    services = app.extensions["infobutton"]
    token = services.tokens.create("Lena Librarian", "editor")
    with serve(app) as base:
        yield base, token, services
    services.close()


def answer_topics(page, base: str) -> list[str]:
    """The live infobutton answer (JSON), opened by the browser in a second tab."""
    tab = page.context.new_page()
    tab.goto(f"{base}/infobutton?{D47_9}&knowledgeResponseType=application/json")
    text = tab.locator("body").inner_text()
    tab.close()
    return [e["title"]["_value"] for e in json.loads(text)["feed"].get("entry", [])]


def test_sign_in_map_a_gap_preview_answer_and_undo(server, page, tmp_path):
    base, token, services = server
    assert answer_topics(page, base) == []  # a clinician clicks: nothing is mapped yet

    # sign in
    page.goto(f"{base}/admin/")
    assert "/admin/signin" in page.url
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/admin/")
    assert page.get_by_text("Lena Librarian").first.is_visible()

    # the gap report shows the code; "Map this code" opens a filled-in form
    page.get_by_role("link", name="Gap report").click()
    row = page.locator("#gaps tr", has_text="D47.9")
    assert "Neoplasm of uncertain behavior of lymphoid" in row.inner_text()
    page.screenshot(path=str(tmp_path / "gaps.png"), full_page=True)
    row.get_by_role("link", name="Map this code").click()
    assert page.get_by_label("Code", exact=True).input_value() == "D47.9"

    # preview (server side), then the live preview follows typing (admin.js)
    page.get_by_label("Topic").fill("leukemia")
    page.get_by_role("button", name="Preview").click()
    assert page.locator("#preview-now").inner_text().strip() == "no topic"
    assert page.locator("#preview-after").inner_text().startswith("Leukemia")
    page.get_by_label("Topic").fill("acutemyeloidleukemia")
    page.wait_for_function("() => document.getElementById('preview-after').innerText.includes('Acute Myeloid')")
    assert answer_topics(page, base) == []  # a preview writes nothing
    page.get_by_label("Reason for this mapping").fill("MDS often precedes AML")
    page.screenshot(path=str(tmp_path / "form.png"), full_page=True)

    # save: the live answer changes at once
    page.get_by_role("button", name="Add mapping").click()
    assert "it is live now" in page.locator(".flash").inner_text()
    assert answer_topics(page, base) == ["Acute Myeloid Leukemia"]

    # the history says who did it; one click undoes it
    page.get_by_role("link", name="History").click()
    latest = page.locator("section.version").first
    assert "Lena Librarian" in latest.inner_text() and "D47.9" in latest.inner_text()
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
    latest.get_by_role("button", name="Undo version 2: restore version 1").click()
    assert "Restored version 1 as version 3" in page.locator(".flash").inner_text()
    assert answer_topics(page, base) == []
    assert services.mappings.count() == SEEDED
    assert page.problems == []


def test_context_limits_in_the_form_live_preview_and_accessibility(server, page, tmp_path):
    """The limits are labelled checkboxes and the preview context labelled selects (no serious
    axe-core violation); the live preview (admin.js) sends the ticked codes with the rule and the
    chosen context as infobutton parameters, and follows an age group as it follows an age."""
    base, token, services = server
    page.goto(f"{base}/admin/signin")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/admin/")
    page.goto(f"{base}/admin/mappings/new?code_system=ICD-10-CM&code=C91.00")
    page.get_by_label("Topic").fill("leukemia")
    page.get_by_role("button", name="Preview").click()
    assert "Childhood Leukemia" not in page.locator("#preview-now").inner_text()

    page.get_by_role("group", name="Audience").get_by_label("PROV health professional").check()
    page.get_by_role("group", name="Task").get_by_label("MLREV medication list review task").check()
    with page.expect_request(lambda r: "/admin/api/preview" in r.url and "ageGroup.v.c" in r.url) as sent:
        page.get_by_label("Age group", exact=False).last.select_option("D002648")
    query = parse_qs(urlsplit(sent.value.url).query)
    change = json.loads(query["with"][0])
    assert change["rule"]["audiences"] == ["PROV"] and change["rule"]["tasks"] == ["MLREV"]
    assert query["ageGroup.v.c"] == ["D002648"] and query["ageGroup.v.cs"] == ["2.16.840.1.113883.6.177"]
    page.wait_for_function("() => document.getElementById('preview-now').innerText.includes('Childhood Leukemia')")
    assert page.locator("#preview-for").inner_text() == "For ICD-10-CM C91.00, age group D002648."
    with page.expect_request(lambda r: "/admin/api/preview" in r.url and "informationRecipient=PAT" in r.url):
        page.get_by_label("Reader").select_option("PAT")
    page.screenshot(path=str(tmp_path / "limits.png"), full_page=True)
    if AXE.exists():
        assert audit(page) == []
    assert page.problems == []
    assert services.mappings.count() == SEEDED  # previews write nothing


def test_coverage_by_chapter_and_category_is_readable_and_accessible(server, page, tmp_path):
    """From the navigation to a chapter's categories: a table with a caption, header cells for its
    rows and columns, and no serious axe-core violation."""
    base, token, services = server
    page.goto(f"{base}/admin/signin")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/admin/")
    page.get_by_role("link", name="Coverage").click()
    page.wait_for_url(f"{base}/admin/coverage")
    table = page.get_by_role("table", name="ICD-10-CM chapters: choose one for its categories")
    neoplasms = table.get_by_role("row", name="Neoplasms (C00-D49)")
    assert neoplasms.get_by_role("cell").nth(2).inner_text() != "0"  # the shipped leukemia rules: curated
    if AXE.exists():
        assert audit(page) == []
    page.get_by_role("link", name="Chapter 2: its categories").click()
    page.wait_for_url(f"{base}/admin/coverage?chapter=2")
    row = page.get_by_role("row", name="C91 Lymphoid leukemia")
    assert row.get_by_role("cell").last.inner_text() == "100%"
    page.screenshot(path=str(tmp_path / "coverage.png"), full_page=True)
    if AXE.exists():
        assert audit(page) == []
    assert page.problems == []
