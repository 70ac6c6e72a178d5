"""A librarian accepts a suggested mapping from the gap report in a real browser, and rejects
another: one click each, and the infobutton answer turns curated."""

from __future__ import annotations

import pytest

from infobutton import create_app
from infobutton.config import Settings
from infobutton.models import CodeSystem, Topic
from infobutton.request import parse

from ..conftest import icd
from .conftest import serve

pytestmark = pytest.mark.browser

TOPICS = [
    Topic(id=tid, title=title, language="en", url=f"https://medlineplus.gov/{tid}.html")
    for tid, title in (
        ("diabetestype2", "Diabetes Type 2"),
        ("crohnsdisease", "Crohn's Disease"),
        ("enteritis", "Enteritis"),
    )
]


@pytest.fixture
def server(tmp_path):
    app = create_app(Settings(data_dir=str(tmp_path), version_check_interval=0.0))
    services = app.extensions["infobutton"]
    services.topics.upsert(TOPICS)
    for rule in services.mappings.rules():  # nobody mapped E11 or K50: the shipped crosswalk's rules go
        if rule.code_system is CodeSystem.ICD10CM and rule.code.startswith(("E11", "K50")):
            services.mapping_admin.delete(rule.id, None, "test")
    services.knowledge.refresh_now()
    token = services.tokens.create("Lena Librarian", "editor")
    client = app.test_client()
    for code in ("E11.9", "K50.00"):
        client.get("/infobutton", query_string=icd(code))
    services.usage.flush()
    with serve(app) as base:
        yield base, token, services
    services.close()


def provenance(services, code: str) -> list[tuple[str, str]]:
    return [(m.topic.id, m.provenance.value) for m in services.knowledge.resolve(parse(icd(code).items()))]


def test_accept_and_reject_from_the_gap_report(server, page, tmp_path):
    base, token, services = server
    assert provenance(services, "E11.9") == [("diabetestype2", "automatic")]
    page.goto(f"{base}/admin/signin?next=/admin/gaps")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/admin/gaps")

    diabetes = page.locator("#gaps tr", has_text="E11.9")
    assert "holds the topic name \u2018Diabetes Type 2\u2019" in diabetes.inner_text()
    assert "the title of E11 also holds Diabetes" in diabetes.inner_text()  # the real catalogue's doubt
    crohn = page.locator("#gaps tr", has_text="K50.00")
    assert "also holds Enteritis" in crohn.inner_text()
    page.screenshot(path=str(tmp_path / "gaps-suggestions.png"), full_page=True)

    with page.expect_navigation():  # the same gap report URL reloads: wait for the new page
        diabetes.get_by_role("button", name="Accept E11 \u2192 Diabetes Type 2").click()
    assert "it is live now" in page.locator(".flash").inner_text()
    assert page.locator("#gaps tr", has_text="E11.9").count() == 0
    assert provenance(services, "E11.9") == [("diabetestype2", "curated")]

    with page.expect_navigation():  # the old page's flash must not answer for the new one
        page.locator("#gaps tr", has_text="K50.00").get_by_role("button", name="Reject K50 \u2192 Enteritis").click()
    assert "will not be suggested" in page.locator(".flash").inner_text()
    row = page.locator("#gaps tr", has_text="K50.00")
    assert row.locator("li.suggestion[data-topic=enteritis]").count() == 0
    assert row.locator("li.suggestion[data-topic=crohnsdisease]").count() == 1
    assert page.locator("#rejections tr", has_text="enteritis").count() == 1
    page.screenshot(path=str(tmp_path / "gaps-after.png"), full_page=True)
    assert page.problems == []
