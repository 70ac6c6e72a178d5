"""The click page in a real browser (Debian's chromium through Playwright): English and Spanish,
the language switch, following a link, keyboard focus, print, the demo form, and an axe-core
audit with no serious or critical violations. Screenshots are saved under the test's tmp dir.

Nothing leaves 127.0.0.1: requests to other hosts are answered by a stub route.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.serving import make_server

from infobutton import create_app
from infobutton.config import Settings

from ..conftest import ICD10CM, require
from ..render.cases import SECTION_SITES
from ..synced_topics import synced

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}
C91_00 = f"mainSearchCriteria.v.c=C91.00&mainSearchCriteria.v.cs={ICD10CM}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = create_app(Settings(data_dir=str(tmp_path_factory.mktemp("browser-data")), version_check_interval=0.0))
    topics = app.extensions["infobutton"].topics
    topics.upsert(synced(topics.all()))  # Spanish twins and summaries, as after a sync
    leukemia = next(t for t in topics.all() if t.id == "leukemia")
    topics.upsert([replace(leukemia, sites=SECTION_SITES)])  # link sections, as after a sync
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    app.extensions["infobutton"].close()


@pytest.fixture(scope="module")
def browser():
    require(CHROMIUM.exists(), "chromium is not installed (tests/setup-browser.sh installs it)")
    require(AXE.exists(), "axe-core is not installed (tests/setup-browser.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


class Outside:
    """Answers every request for a host other than 127.0.0.1 with a stub page, and records it."""

    def __init__(self):
        self.requests = []

    def __call__(self, route):
        request = route.request
        if urlsplit(request.url).hostname == "127.0.0.1":
            return route.continue_()
        self.requests.append((request.url, request.headers))
        route.fulfill(
            status=200,
            content_type="text/html",
            body="<!doctype html><html lang='en'><title>stub</title><h1>Outside page</h1></html>",
        )


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP)
    outside = Outside()
    context.route("**/*", outside)
    page = context.new_page()
    page.outside = outside
    page.csp_errors = []
    page.on("console", lambda m: "Content Security Policy" in m.text and page.csp_errors.append(m.text))
    yield page
    context.close()


def audit(page) -> list[dict]:
    """axe-core's serious and critical violations (WCAG 2.x A/AA and best practices)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated by the debugger: CSP stays strict
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def shoot(page, tmp_path, name):
    page.screenshot(path=str(tmp_path / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(MOBILE)
    page.screenshot(path=str(tmp_path / f"{name}-mobile.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_english_page_switch_to_spanish_and_back(page, server, tmp_path):
    response = page.goto(f"{server}/application?{C91_00}&informationRecipient.languageCode.c=en")
    assert response.status == 200
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("h1").inner_text().startswith("Health topics for ICD-10-CM C91.00")
    assert page.locator("article h2").all_inner_texts() == ["Acute Lymphocytic Leukemia", "Leukemia"]
    # The stylesheet loaded under the CSP (the header is dark, not the default transparent).
    assert page.eval_on_selector(".site-header", "e => getComputedStyle(e).backgroundColor") == "rgb(17, 47, 78)"
    assert audit(page) == []
    shoot(page, tmp_path, "c91-00-en")

    page.get_by_role("link", name="Ver en español").click()
    page.wait_for_load_state()
    query = parse_qs(urlsplit(page.url).query)
    assert query["informationRecipient.languageCode.c"] == ["es"]
    assert query["mainSearchCriteria.v.c"] == ["C91.00"]
    assert page.get_attribute("html", "lang") == "es"
    assert page.locator("h1").inner_text() == "Temas de salud para ICD-10-CM C91.00"
    assert page.locator("article h2").all_inner_texts() == ["Leucemia linfocítica aguda", "Leucemia"]
    assert page.locator("text=También llamado").count() >= 1
    assert audit(page) == []
    shoot(page, tmp_path, "c91-00-es")

    page.get_by_role("link", name="View in English").click()
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "en"
    assert page.csp_errors == []


def test_spanish_page_opened_directly(page, server, tmp_path):
    page.goto(
        f"{server}/infobutton?{C91_00}&informationRecipient.languageCode.c=es&age.v.v=6&age.v.u=a", wait_until="load"
    )
    assert page.get_attribute("html", "lang") == "es"  # Accept: text/html from the browser
    assert "Leucemia infantil" in page.locator("article h2").all_inner_texts()
    assert audit(page) == []
    shoot(page, tmp_path, "c91-00-es-child")


def test_following_a_topic_link_sends_no_referrer(page, server):
    page.goto(f"{server}/application?{C91_00}&age.v.v=40")
    page.locator("article h2 a").first.click()
    page.wait_for_load_state()
    assert page.url == "https://medlineplus.gov/acutelymphocyticleukemia.html"
    assert page.locator("h1").inner_text() == "Outside page"
    url, headers = page.outside.requests[-1]
    assert url == "https://medlineplus.gov/acutelymphocyticleukemia.html"
    assert "referer" not in {k.lower() for k in headers}  # the query carries patient context


def test_keyboard_focus_is_visible(page, server):
    page.goto(f"{server}/application?{C91_00}")
    page.keyboard.press("Tab")
    focused = page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
        const r = e.getBoundingClientRect();
        return {cls: e.className, outline: s.outlineStyle, width: s.outlineWidth, top: r.top}; }""")
    assert focused["cls"] == "skip-link" and focused["top"] >= 0
    assert focused["outline"] == "solid" and focused["width"] == "3px"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_print_layout_hides_navigation(page, server, tmp_path):
    page.goto(f"{server}/application?{C91_00}")
    page.emulate_media(media="print")
    assert not page.locator(".language-switch").is_visible()
    assert page.locator("article h2").first.is_visible()
    page.screenshot(path=str(tmp_path / "c91-00-print.png"), full_page=True)


def test_no_match_page_search_box(page, server, tmp_path):
    page.goto(f"{server}/application?mainSearchCriteria.v.c=Z99.89&mainSearchCriteria.v.cs={ICD10CM}")
    assert page.locator("h1").inner_text().startswith("No health topics found")
    assert audit(page) == []
    shoot(page, tmp_path, "no-match")
    page.get_by_label("Search health topics").fill("leukemia")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/application"
    assert parse_qs(urlsplit(page.url).query)["mainSearchCriteria.v.ot"] == ["leukemia"]
    assert page.get_attribute("html", "lang") == "en"


def test_demo_form_opens_the_click_page(page, server, tmp_path):
    page.goto(f"{server}/")
    assert audit(page) == []
    shoot(page, tmp_path, "demo")
    page.get_by_label("Code", exact=True).fill("C92.10")
    page.get_by_label("Language").select_option("es")
    page.get_by_role("button", name="Show health topics").click()
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "es"
    assert page.locator("article h2").first.inner_text() == "Leucemia mieloide crónica"
    assert page.csp_errors == []


def test_subtopic_shows_only_its_sections_in_the_childs_order(page, server, tmp_path):
    page.goto(f"{server}/application?{C91_00}&subTopic.v.c=Q000628&subTopic.v.cs=2.16.840.1.113883.6.177&age.v.v=6")
    assert page.locator("article h2").all_inner_texts() == [
        "Acute Lymphocytic Leukemia",
        "Childhood Leukemia",
        "Leukemia",
    ]
    assert page.locator(".sections-asked").inner_text() == (
        "Showing only the links under \u201cTreatments and Therapies\u201d, as asked."
    )
    all_lymphocytic, _, leukemia = page.locator("article").all()
    assert all_lymphocytic.locator(".subtopic-note").inner_text().startswith("No links under")
    assert all_lymphocytic.locator(".link-group").count() == 0
    assert leukemia.locator(".subtopic-note").count() == 0
    assert leukemia.locator(".link-group h4").all_inner_texts() == ["Treatments and Therapies"]
    titles = leukemia.locator(".link-group li a").all_inner_texts()
    assert [t.split(" Lymphoblastic")[0] for t in titles] == ["Childhood Acute", "Blood Transfusion", "Adult Acute"]
    assert audit(page) == []
    shoot(page, tmp_path, "c91-00-therapy-child")

    page.get_by_role("link", name="Ver en español").click()  # the switch keeps the subtopic
    page.wait_for_load_state()
    assert parse_qs(urlsplit(page.url).query)["subTopic.v.c"] == ["Q000628"]
    assert page.locator(".sections-asked").inner_text().startswith("Se muestran solo los enlaces en")
    assert page.csp_errors == []
