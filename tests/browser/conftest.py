"""The browser tests' live app on 127.0.0.1 and Debian's chromium (``browser`` and ``page`` are
the admin tests'; test_click_page has its own, with the axe-core audit).

``serve`` needs no start-up wait: ``make_server`` has bound and is listening before it returns,
so the browser's first connection is queued, never refused. Playwright's own waits (30 s for
navigations and locators) are the deadlines; nothing here counts time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ..conftest import require

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def serve(app) -> Iterator[str]:
    """``app`` on a free port of 127.0.0.1 in a thread; yields its base URL, then stops it."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    require(CHROMIUM.exists(), "chromium is not installed (tests/setup-browser.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh tab; requests for any host but 127.0.0.1 get an empty 204, console errors are
    collected in ``page.problems``."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.route(
        "**/*", lambda route: route.continue_() if "//127.0.0.1:" in route.request.url else route.fulfill(status=204)
    )
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    yield page
    context.close()
