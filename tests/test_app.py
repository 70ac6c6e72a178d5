"""The app factory: settings from the environment, and no query strings in the dev server log."""

import logging

from infobutton import _DropQueryStrings, create_app
from infobutton.config import Settings


def test_settings_from_env(tmp_path):
    s = Settings.from_env(
        {
            "INFOBUTTON_DATA_DIR": str(tmp_path),
            "INFOBUTTON_MAX_TOPICS": "5",
            "INFOBUTTON_SEED": "false",
            "INFOBUTTON_CACHE_TTL": "1.5",
        }
    )
    assert s.max_topics == 5 and s.seed is False and s.cache_ttl == 1.5
    assert s.resolved_database_url == f"sqlite:///{tmp_path}/infobutton.sqlite3"
    assert (
        Settings.from_env({"INFOBUTTON_DATABASE_URL": "postgresql://x/y"}).resolved_database_url == "postgresql://x/y"
    )


def test_unseeded_app_starts_empty(tmp_path):
    app = create_app({"data_dir": str(tmp_path), "seed": False})
    assert app.extensions["infobutton"].topics.count() == 0
    app.extensions["infobutton"].close()


def test_dev_server_log_lines_lose_their_query_string():
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /infobutton?age.v.v=77&mainSearchCriteria.v.c=C91.00 HTTP/1.1", "200", "-"),
        None,
    )
    assert _DropQueryStrings().filter(record)
    assert record.getMessage() == '"GET /infobutton HTTP/1.1" 200 -'


def test_flask_cli_finds_the_factory(tmp_path):
    """`flask --app infobutton run` (development) discovers create_app."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    flask = Path(sys.executable).parent / "flask"
    out = subprocess.run(
        [str(flask), "--app", "infobutton", "routes"],
        capture_output=True,
        text=True,
        env={**os.environ, "INFOBUTTON_DATA_DIR": str(tmp_path)},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    for route in ("/infobutton", "/service", "/application", "/cds-services", "/admin/api/mappings", "/healthz"):
        assert route in out.stdout
