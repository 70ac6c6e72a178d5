"""PostgreSQL unreachable for real (a forwarder in front of it, stopped): cached answers keep
flowing, an answer that needs the database is a 503 with Retry-After (never a 500), and all is
well again once the database is back. ``bench/faults.py`` does the same to a real
``infobutton serve`` under load."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy.exc

from infobutton import create_app
from infobutton.config import Settings
from infobutton.knowledge import KnowledgeService

from ..conftest import Clock, icd
from .forwarder import Forwarder


@pytest.fixture
def proxied(postgres_url):
    """(forwarder, the test schema's URL through it)."""
    with Forwarder(("127.0.0.1", 5432)) as forwarder:
        yield forwarder, postgres_url.replace("127.0.0.1:5432", forwarder.address, 1)


@pytest.mark.postgres
def test_cached_answers_flow_and_uncached_ones_get_503_while_postgres_is_unreachable(tmp_path, proxied, caplog):
    forwarder, url = proxied
    app = create_app(Settings(data_dir=str(tmp_path), database_url=url, version_check_interval=0.0))
    client = app.test_client()
    cached = icd("C91.00", knowledgeResponseType="application/json")
    uncached = icd("E11.9", knowledgeResponseType="application/json")
    try:
        first = client.get("/infobutton", query_string=cached)
        assert first.status_code == 200

        forwarder.stop()
        with caplog.at_level(logging.WARNING, logger="infobutton.knowledge"):
            for _ in range(3):
                again = client.get("/infobutton", query_string=cached)
                assert again.status_code == 200 and again.data == first.data
        checks = [r for r in caplog.records if r.name == "infobutton.knowledge"]
        assert len(checks) == 1, "the failed version check is logged once per outage, not per request"

        down = client.get("/infobutton", query_string=uncached)
        assert down.status_code == 503
        assert down.headers["Retry-After"].isdigit()
        assert "database is unavailable" in down.get_json()["detail"]
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200  # alive: restarting it would not help

        forwarder.start()  # the same port: the service's URL is right again
        back = client.get("/infobutton", query_string=uncached)
        assert back.status_code == 200 and back.get_json()["feed"]["entry"]
        assert client.get("/readyz").status_code == 200
    finally:
        app.extensions["infobutton"].close()


class _Flaky:
    """A database whose version reads fail while ``down`` (a fake of the one call the check makes)."""

    def __init__(self):
        self.down = False
        self.version = 1

    def query(self, sql, params=()):
        if self.down:
            raise sqlalchemy.exc.OperationalError("SELECT", {}, ConnectionRefusedError())
        return [("mapping_version", self.version), ("topic_version", 1)]


def test_a_failed_version_check_keeps_what_is_cached_and_retries_next_interval():
    db, clock = _Flaky(), Clock()
    service = KnowledgeService(db, topics=None, mappings=None, check_interval=1.0, timer=clock)
    built = []
    assert service.cached_response("k", lambda: built.append(1) or "answer") == "answer"

    db.down = True
    clock.now += 2
    assert service.cached_response("k", lambda: built.append(1) or "rebuilt") == "answer"
    db.down, db.version = False, 2  # back, and the mappings changed meanwhile
    clock.now += 0.5  # within the interval: not yet checked again
    assert service.cached_response("k", lambda: "rebuilt") == "answer"
    clock.now += 1
    assert service.cached_response("k", lambda: "rebuilt") == "rebuilt"
    assert built == [1]
