"""Upstream refresh against a real HTTP server on 127.0.0.1: conditional GET, retries with
backoff, timeouts, 500s and 404s; the import is the same transactional one."""

import zipfile
from datetime import date

import pytest
from click.testing import CliRunner

from infobutton.cli import main
from infobutton.content.fetch import FetchError, fetch
from infobutton.content.sync import SyncError, candidate_urls, sync
from infobutton.store import open_stores
from tests.content.bundled_catalogue import TOTAL, bundled_catalogue
from tests.content.http_fixture import Reply, Upstream

STARTER = bundled_catalogue("2026-11-23")
REVISED = bundled_catalogue("2026-11-24", leukemia_summary="Synced summary.")
FAST = {"backoff": 0.01, "timeout": (10.0, 10.0)}  # no waits; generous for a busy machine


@pytest.fixture
def upstream():
    with Upstream() as server:
        yield server


@pytest.fixture
def store(tmp_path):
    db, topics, _ = open_stores(f"sqlite:///{tmp_path}/sync.sqlite3")
    topics.upsert([])  # empty catalogue
    yield topics
    db.close()


def test_fetch_streams_to_a_file_and_returns_validators(upstream, tmp_path):
    url = upstream.route(
        "/cat.xml", Reply(200, STARTER, etag='"v1"', headers={"Last-Modified": "Mon, 23 Nov 2026 00:00:00 GMT"})
    )
    result = fetch(url, tmp_path, **FAST)
    assert result.status == 200 and result.path.read_bytes() == STARTER
    assert (result.etag, result.last_modified) == ('"v1"', "Mon, 23 Nov 2026 00:00:00 GMT")
    again = fetch(url, tmp_path, etag='"v1"', **FAST)
    assert again.not_modified and again.path is None
    assert upstream.hits("/cat.xml")[1]["If-None-Match"] == '"v1"'


def test_fetch_retries_a_500_with_backoff_then_succeeds(upstream, tmp_path):
    url = upstream.route("/cat.xml", Reply(500, b"oops"), Reply(503, b"busy"), Reply(200, STARTER))
    waits = []
    result = fetch(url, tmp_path, retries=3, backoff=0.5, sleep=waits.append)
    assert result.status == 200
    assert waits == [0.5, 1.0]  # exponential backoff
    assert len(upstream.hits("/cat.xml")) == 3


def test_fetch_gives_up_after_retries_and_says_why(upstream, tmp_path):
    url = upstream.route("/cat.xml", Reply(500, b"oops"))
    with pytest.raises(FetchError, match=r"HTTP 500 \(gave up after 3 attempts\)"):
        fetch(url, tmp_path, retries=2, **{**FAST})
    assert len(upstream.hits("/cat.xml")) == 3
    assert list(tmp_path.iterdir()) == []  # no temp file left behind


def test_fetch_times_out(upstream, tmp_path):
    url = upstream.route("/slow.xml", Reply(200, STARTER, delay=1.5))
    with pytest.raises(FetchError, match="timed out"):
        fetch(url, tmp_path, retries=1, backoff=0.01, timeout=(1.0, 0.3))


def test_fetch_does_not_retry_a_404(upstream, tmp_path):
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(upstream.base + "/missing.xml", tmp_path, **FAST)
    assert len(upstream.hits("/missing.xml")) == 1


def test_fetch_enforces_the_byte_cap(upstream, tmp_path):
    url = upstream.route("/big.xml", Reply(200, STARTER))
    with pytest.raises(FetchError, match="limit"):
        fetch(url, tmp_path, max_bytes=1000, **FAST)


def test_sync_imports_then_asks_conditionally(upstream, store):
    url = upstream.route("/cat.xml", Reply(200, STARTER, etag='"v1"'))
    first = sync(store, url, **FAST)
    assert first.imported.counts["added"] == TOTAL
    version = store.version()
    second = sync(store, url, **FAST)
    assert second.imported is None and "not modified" in second.describe()
    assert upstream.hits("/cat.xml")[1]["If-None-Match"] == '"v1"'
    assert store.version() == version
    upstream.route("/cat.xml", Reply(200, REVISED, etag='"v2"'))
    third = sync(store, url, **FAST)
    assert third.imported.counts["updated"] == 1
    assert "Synced summary." in store.get("leukemia").summary_html


def test_sync_failure_keeps_the_catalogue_and_validators(upstream, store):
    url = upstream.route("/cat.xml", Reply(200, STARTER, etag='"v1"'))
    sync(store, url, **FAST)
    upstream.route("/cat.xml", Reply(500, b"down"))
    with pytest.raises(SyncError, match="HTTP 500.*catalogue is unchanged"):
        sync(store, url, **FAST)
    upstream.route("/cat.xml", Reply(200, b"<html>maintenance</html>"))
    with pytest.raises(SyncError, match="root element is <html>"):
        sync(store, url, force=True, **FAST)
    assert len(store.all()) == TOTAL
    upstream.route("/cat.xml", Reply(200, STARTER, etag='"v1"'))
    assert sync(store, url, **FAST).imported is None  # validators of the good import kept


def test_sync_walks_back_over_days_not_published(upstream, store, tmp_path):
    zipped = tmp_path / "c.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mplus_topics_2026-11-22.xml", STARTER)
    upstream.route("/xml/mplus_topics_2026-11-22.zip", Reply(200, zipped.read_bytes()))
    result = sync(store, upstream.base + "/xml/mplus_topics_{date}.zip", today=date(2026, 11, 24), **FAST)
    assert result.url.endswith("2026-11-22.zip") and result.imported.counts["added"] == TOTAL
    assert candidate_urls("x/{date}", date(2026, 11, 24))[:2] == ["x/2026-11-24", "x/2026-11-23"]


def test_sync_command_exits_non_zero_with_the_reason(upstream, tmp_path):
    env = {"INFOBUTTON_DATA_DIR": str(tmp_path), "INFOBUTTON_DATABASE_URL": ""}
    url = upstream.route("/cat.xml", Reply(200, REVISED, etag='"v2"'))
    ok = CliRunner().invoke(main, ["topics", "sync", "--url", url], env=env)
    assert ok.exit_code == 0 and f"{TOTAL} added" in ok.output
    upstream.route("/cat.xml", Reply(404, b"gone"))
    bad = CliRunner().invoke(main, ["topics", "sync", "--url", url], env=env)
    assert bad.exit_code == 1 and "sync failed" in bad.output and "HTTP 404" in bad.output


def test_import_command_takes_a_url(upstream, tmp_path):
    env = {"INFOBUTTON_DATA_DIR": str(tmp_path), "INFOBUTTON_DATABASE_URL": ""}
    url = upstream.route("/mplus_topics.xml", Reply(200, STARTER))
    result = CliRunner().invoke(main, ["topics", "import", url], env=env)
    assert result.exit_code == 0 and f"from {url}" in result.output
