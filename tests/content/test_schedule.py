"""The optional catalogue sync inside serve: one sync per interval across workers sharing a
database, started by a worker's first answered request, failures logged and harmless."""

import pytest

from infobutton import create_app
from infobutton.content.schedule import SyncScheduler
from infobutton.store import open_stores
from tests.conftest import icd
from tests.content.bundled_catalogue import TOTAL, bundled_catalogue
from tests.content.http_fixture import Reply, Upstream

from ..conftest import Clock, wait_until

STARTER = bundled_catalogue("2026-11-23")
REVISED = bundled_catalogue("2026-11-24", leukemia_summary="Scheduled summary.")


class Knowledge:
    refreshed = 0

    def refresh_now(self):
        self.refreshed += 1


@pytest.fixture
def upstream():
    with Upstream() as server:
        yield server


def test_one_worker_claims_each_slot(upstream, tmp_path):
    url = upstream.route("/cat.xml", Reply(200, STARTER, etag='"v1"'))
    db, topics, _ = open_stores(f"sqlite:///{tmp_path}/s.sqlite3")
    clock = Clock(5000.0)
    options = {"backoff": 0.01, "timeout": (10.0, 10.0)}
    workers = [SyncScheduler(topics, Knowledge(), url, 600, clock=clock, sync_options=options) for _ in range(3)]
    results = [w.run_once() for w in workers]
    assert sum(r is not None for r in results) == 1 and len(upstream.requests) == 1
    assert len(topics.all()) == TOTAL
    assert [w.knowledge.refreshed for w in workers] == [1, 0, 0]
    clock.now += 601
    results = [w.run_once() for w in workers]
    assert sum(r is not None for r in results) == 1 and len(upstream.requests) == 2
    upstream.route("/cat.xml", Reply(500, b"down"))
    clock.now += 601
    assert workers[0].run_once() is None and "HTTP 500" in workers[0].last_error
    assert len(topics.all()) == TOTAL
    db.close()


def test_serve_syncs_on_a_schedule_when_configured(upstream, tmp_path):
    url = upstream.route("/cat.xml", Reply(200, REVISED, etag='"v2"'))
    app = create_app({"data_dir": str(tmp_path), "sync_interval": 0.2, "sync_url": url, "version_check_interval": 0.0})
    services = app.extensions["infobutton"]
    scheduler = services.sync
    try:
        client = app.test_client()
        assert client.get("/infobutton", query_string=icd("C95.90")).status_code == 200
        wait_until(
            lambda: "Scheduled summary." in services.topics.get("leukemia").summary_html,
            timeout=120,  # generous: a busy machine may be slow to sync
            what=lambda: f"a scheduled sync (last error: {scheduler.last_error})",
        )
        body = client.get("/infobutton", query_string=icd("C95.90")).get_data(as_text=True)
        assert "Scheduled summary." in body
    finally:
        scheduler.stop()
        services.close()


def test_sync_is_off_by_default(app):
    assert app.extensions["infobutton"].sync is None
    assert app.extensions["infobutton"].upstream is None
