"""/readyz against real databases (SQLite behind head, PostgreSQL dropped), and X-Request-ID."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import uuid

import psycopg
import pytest
from alembic import command
from alembic.config import Config

from infobutton import create_app
from infobutton.config import Settings
from infobutton.logs import JsonFormatter
from infobutton.store import migrate

from ..conftest import POSTGRES_URL, icd

HEX_ID = re.compile(r"[0-9a-f]{32}")


def test_readyz_is_200_when_the_database_answers_at_head(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {"database": "ok", "schema": "ok"}}


def test_readyz_is_503_when_the_schema_is_behind_head(app, client, settings):
    with app.extensions["infobutton"].db.connection() as conn:
        config = Config()
        config.set_main_option("script_location", migrate.SCRIPT_LOCATION)
        config.attributes["connection"] = conn
        command.stamp(config, "base")  # as a database the migrations have not reached
        conn.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.json["failed"] == ["schema"]
    assert response.json["checks"]["database"] == "ok"
    assert migrate.head() in response.json["checks"]["schema"]
    assert client.get("/healthz").status_code == 200  # alive, only not ready


def test_readyz_is_503_for_a_revision_this_version_does_not_know(app, client, tmp_path):
    path = tmp_path / "infobutton.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'")
    db.close()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["failed"] == ["schema"]


@pytest.fixture
def doomed_postgres_url(postgres_server):
    """A whole PostgreSQL database of its own, which the test may drop under the app."""
    name = "readyz_" + uuid.uuid4().hex[:10]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name, name
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.postgres
def test_readyz_is_503_naming_the_database_when_it_is_gone(doomed_postgres_url, tmp_path):
    url, name = doomed_postgres_url
    app = create_app(Settings(data_dir=str(tmp_path), database_url=url, version_check_interval=0.0))
    try:
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert response.json == {
            "status": "unavailable",
            "failed": ["database"],
            "checks": {"database": "unreachable", "schema": "unknown"},
        }
        assert "5432" not in response.get_data(as_text=True) and name not in response.get_data(as_text=True)
        exposition = client.get("/metrics").get_data(as_text=True)
        errors = re.search(r'infobutton_database_errors_total\{kind="OperationalError"\} (\S+)', exposition)
        assert errors and float(errors.group(1)) >= 1
    finally:
        app.extensions["infobutton"].close()


def test_a_sane_request_id_is_echoed(client):
    for rid in ("abc-123", "A.b_c-9", "x" * 64):
        response = client.get("/healthz", headers={"X-Request-ID": rid})
        assert response.headers["X-Request-ID"] == rid


def test_an_insane_or_missing_request_id_is_replaced(client):
    for rid in ("x" * 65, "has space", "semi;colon", "ünï", "", "a\tb"):
        response = client.get("/healthz", headers={"X-Request-ID": rid})
        assert HEX_ID.fullmatch(response.headers["X-Request-ID"]), rid
    first, second = client.get("/healthz"), client.get("/healthz")
    assert HEX_ID.fullmatch(first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


def test_errors_and_unrouted_paths_carry_a_request_id_too(client):
    assert HEX_ID.fullmatch(client.get("/no/such/path").headers["X-Request-ID"])
    bad = client.get("/infobutton", query_string={"age.v.v": "77"}, headers={"X-Request-ID": "req-1"})
    assert bad.status_code == 400 and bad.headers["X-Request-ID"] == "req-1"
    assert len(bad.headers.getlist("X-Request-ID")) == 1


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


def test_app_log_lines_in_a_request_carry_its_id_and_route_not_its_query(app, client):
    handler = _Lines()
    log = logging.getLogger("infobutton.web.errors")
    log.addHandler(handler)
    try:
        services = app.extensions["infobutton"]
        # a conflict is logged by the error handler (path and constraint only)
        services.db.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY)")
        app.add_url_rule(
            "/probe/<int:n>", "probe", lambda n: services.db.execute("INSERT INTO probe VALUES (1)") and ""
        )
        client.get("/probe/1")
        response = client.get(
            "/probe/1", query_string=icd("F32.9", **{"age.v.v": "15"}), headers={"X-Request-ID": "r-7"}
        )
    finally:
        log.removeHandler(handler)
    assert response.status_code == 409
    (line,) = [json.loads(line) for line in handler.lines]
    assert line["request_id"] == "r-7" and line["route"] == "/probe/<int:n>" and line["method"] == "GET"
    assert line["level"] == "WARNING" and line["logger"] == "infobutton.web.errors"
    assert line["time"].endswith("+00:00")
    assert "F32.9" not in handler.lines[0] and "age.v.v" not in handler.lines[0]
