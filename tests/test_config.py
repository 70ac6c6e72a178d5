"""Settings: every bad value is refused at start, naming the variable and what it accepts.

The environment is always a dict passed in; the process's own is never changed.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infobutton import create_app
from infobutton.config import ConfigError, Settings
from infobutton.crosswalk import MapFileError

BIN = Path(sys.executable).parent / "infobutton"


def refused(env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    return caught.value


def test_defaults_are_unchanged():
    s = Settings.from_env({})
    assert (s.max_topics, s.cache_ttl, s.cache_size, s.http_max_age) == (3, 300, 4096, 3600)
    assert s.version_check_interval == 0.2
    assert (s.max_body_bytes, s.max_url_bytes, s.seed, s.cookie_secure) == (65536, 8192, True, True)
    assert (s.sync_interval, s.upstream_ttl, s.upstream_timeout, s.upstream_rate) == (0, 43200, 2.0, 80)
    assert (s.cds_fhir_timeout, s.max_import_bytes, s.signin_attempts, s.signin_window) == (3.0, 8388608, 5, 900)
    assert s.database_url == s.base_url == s.redis_url == s.snomed_map == s.secret_key == ""


@pytest.mark.parametrize(
    ("word", "value"),
    [("true", True), ("1", True), ("yes", True), ("On", True), (" TRUE ", True)]
    + [("false", False), ("0", False), ("no", False), ("off", False), ("False", False)],
)
def test_booleans_accept_the_usual_words(word, value):
    s = Settings.from_env({"INFOBUTTON_SEED": word, "INFOBUTTON_COOKIE_SECURE": word})
    assert s.seed is value and s.cookie_secure is value


@pytest.mark.parametrize("word", ["ture", "", "2", "y", "t", "enabled"])
def test_a_misspelt_boolean_is_refused_not_read_as_false(word):
    error = refused({"INFOBUTTON_SEED": word})
    assert error.variable == "INFOBUTTON_SEED"
    assert str(error) == f"INFOBUTTON_SEED: expected true or false (also 1/0, yes/no, on/off), got {word!r}"


def test_a_word_for_a_number_names_the_variable_and_what_it_accepts():
    assert str(refused({"INFOBUTTON_MAX_TOPICS": "abc"})) == "INFOBUTTON_MAX_TOPICS: expected an integer ≥ 1, got 'abc'"


@pytest.mark.parametrize(
    ("name", "bad", "accepts"),
    [
        ("MAX_TOPICS", "0", "an integer ≥ 1"),
        ("MAX_TOPICS", "2.5", "an integer ≥ 1"),
        ("CACHE_SIZE", "0", "an integer ≥ 1"),
        ("MAX_BODY_BYTES", "-1", "an integer ≥ 1"),
        ("MAX_URL_BYTES", "0", "an integer ≥ 1"),
        ("MAX_IMPORT_BYTES", "0", "an integer ≥ 1"),
        ("UPSTREAM_RATE", "0", "an integer ≥ 1"),
        ("SIGNIN_ATTEMPTS", "0", "an integer ≥ 1"),
        ("HTTP_MAX_AGE", "-1", "an integer ≥ 0"),
        ("CACHE_TTL", "-1", "a number ≥ 0"),
        ("CACHE_TTL", "nan", "a number ≥ 0"),
        ("VERSION_CHECK_INTERVAL", "-0.1", "a number ≥ 0"),
        ("SYNC_INTERVAL", "soon", "a number ≥ 0"),
        ("UPSTREAM_TTL", "inf", "a number ≥ 0"),
        ("UPSTREAM_TIMEOUT", "0", "a number > 0"),
        ("CDS_FHIR_TIMEOUT", "-5", "a number > 0"),
        ("SIGNIN_WINDOW", "0", "a number > 0"),
    ],
)
def test_every_number_has_a_range(name, bad, accepts):
    assert str(refused({f"INFOBUTTON_{name}": bad})) == f"INFOBUTTON_{name}: expected {accepts}, got {bad!r}"


def test_numbers_at_their_bounds_are_accepted():
    s = Settings.from_env(
        {
            "INFOBUTTON_MAX_TOPICS": "1",
            "INFOBUTTON_CACHE_TTL": "0",
            "INFOBUTTON_HTTP_MAX_AGE": "0",
            "INFOBUTTON_VERSION_CHECK_INTERVAL": "0",
            "INFOBUTTON_UPSTREAM_TIMEOUT": "0.05",
        }
    )
    assert (s.max_topics, s.cache_ttl, s.http_max_age, s.version_check_interval) == (1, 0, 0, 0)
    assert s.upstream_timeout == 0.05


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/infobutton/db.sqlite3",
        "sqlite:///relative.sqlite3",
        "sqlite://",
        "postgresql://ib@db/infobutton",
        "postgresql+psycopg://ib:pw@db:5432/infobutton",
    ],
)
def test_database_urls_accepted(url):
    s = Settings.from_env({"INFOBUTTON_DATABASE_URL": url})
    assert s.database_url == s.resolved_database_url == url


def test_postgres_scheme_is_spelt_postgresql_when_resolved():
    s = Settings.from_env({"INFOBUTTON_DATABASE_URL": "postgres://ib@db/infobutton"})
    assert s.resolved_database_url == "postgresql://ib@db/infobutton"


@pytest.mark.parametrize(
    "url",
    [
        "./postgresql+psycopg:/ib@db/infobutton",  # the accident that made a SQLite file of that name
        "/var/lib/infobutton/db.sqlite3",  # a bare path
        "mysql://ib@db/infobutton",
        "postgresql+psycopg2://ib@db/infobutton",
        "sqlite:/db.sqlite3",
        "sqlite://host/db.sqlite3",
    ],
)
def test_other_database_urls_are_refused_listing_the_accepted_schemes(url):
    error = refused({"INFOBUTTON_DATABASE_URL": url})
    assert error.variable == "INFOBUTTON_DATABASE_URL"
    for scheme in ("sqlite:///", "sqlite://", "postgresql://", "postgres://", "postgresql+psycopg://"):
        assert scheme in error.message
    assert error.message.endswith(f"got {url!r}")


def test_a_refused_url_does_not_echo_its_password():
    error = refused({"INFOBUTTON_DATABASE_URL": "mysql://ib:s3cret@db/infobutton"})
    assert "s3cret" not in str(error) and "mysql://ib:***@db/infobutton" in str(error)


@pytest.mark.parametrize("name", ["BASE_URL", "SYNC_URL", "UPSTREAM_URL"])
def test_http_urls_must_be_http(name):
    assert Settings.from_env({f"INFOBUTTON_{name}": "https://ib.example.org/"})
    assert Settings.from_env({f"INFOBUTTON_{name}": ""})  # unset
    for bad in ("ftp://ib.example.org/", "ib.example.org", "file:///etc/passwd", "https://"):
        error = refused({f"INFOBUTTON_{name}": bad})
        assert str(error) == f"INFOBUTTON_{name}: expected an http:// or https:// URL, got {bad!r}"


def test_fhir_server_prefixes_must_be_http():
    assert Settings.from_env({"INFOBUTTON_CDS_FHIR_SERVERS": "https://a.example.org/, http://b.example.org/fhir/"})
    error = refused({"INFOBUTTON_CDS_FHIR_SERVERS": "https://a.example.org/,b.example.org"})
    assert error.variable == "INFOBUTTON_CDS_FHIR_SERVERS" and "http:// or https://" in error.message


def test_redis_url_scheme():
    for url in ("redis://127.0.0.1:6379/0", "rediss://cache/0", "unix:///run/redis.sock"):
        assert Settings.from_env({"INFOBUTTON_REDIS_URL": url}).redis_url == url
    error = refused({"INFOBUTTON_REDIS_URL": "127.0.0.1:6379"})
    assert error.variable == "INFOBUTTON_REDIS_URL" and "redis://" in error.message


def test_an_absent_snomed_map_is_refused_where_it_is_read_as_a_config_error(tmp_path):
    """One check, in crosswalk (it reads the file at start); its error is a ConfigError."""
    with pytest.raises(ConfigError) as caught:
        create_app({"data_dir": str(tmp_path), "snomed_map": str(tmp_path / "absent.tsv")})
    assert isinstance(caught.value, MapFileError) and caught.value.variable == "INFOBUTTON_SNOMED_MAP"


def test_overrides_and_direct_construction_are_validated_too(tmp_path):
    assert Settings.from_env({"INFOBUTTON_MAX_TOPICS": "abc"}, max_topics=4).max_topics == 4  # override wins
    with pytest.raises(ConfigError, match="INFOBUTTON_MAX_TOPICS"):
        Settings(max_topics=0)
    with pytest.raises(ConfigError, match="INFOBUTTON_CACHE_TTL"):
        create_app({"data_dir": str(tmp_path), "cache_ttl": -1})
    with pytest.raises(ConfigError, match="INFOBUTTON_NO_SUCH_THING: not a setting"):
        create_app({"data_dir": str(tmp_path), "no_such_thing": 1})
    with pytest.raises(ConfigError, match="INFOBUTTON_SEED"):
        Settings().replace(seed="ture")


def test_settings_are_frozen():
    s = Settings()
    with pytest.raises(ValueError):
        s.max_topics = 5  # type: ignore[misc]
    assert s.replace(max_topics=5).max_topics == 5 and s.max_topics == 3


def test_unrelated_variables_are_ignored():
    assert Settings.from_env({"INFOBUTTON_TEST_POSTGRES_URL": "nonsense", "PATH": "/bin"}) == Settings()


# -- the command line ------------------------------------------------------------------------


def run(args: list[str], tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INFOBUTTON_")}
    clean |= {"INFOBUTTON_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run([str(BIN), *args], env=clean, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"INFOBUTTON_MAX_TOPICS": "abc"}, "infobutton: INFOBUTTON_MAX_TOPICS: expected an integer ≥ 1, got 'abc'"),
        ({"INFOBUTTON_SEED": "ture"}, "infobutton: INFOBUTTON_SEED: expected true or false"),
        ({"INFOBUTTON_DATABASE_URL": "./postgresql+psycopg:/x"}, "infobutton: INFOBUTTON_DATABASE_URL: expected a URL"),
        ({"INFOBUTTON_SNOMED_MAP": "/nonexistent/map.tsv"}, "infobutton: INFOBUTTON_SNOMED_MAP: '/nonexistent/"),
    ],
)
def test_serve_with_a_bad_value_exits_2_naming_the_variable_without_a_traceback(tmp_path, env, line):
    done = run(["serve", "--host", "127.0.0.1", "--port", "9"], tmp_path, **env)
    assert done.returncode == 2
    assert done.stderr.startswith(line)
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "data").exists() or "SNOMED" in line  # refused before anything was written
    assert not list(tmp_path.glob("**/postgresql+psycopg*"))


@pytest.mark.parametrize("args", [["mappings", "export"], ["topics", "sync"], ["admin", "list-tokens"]])
def test_other_commands_refuse_a_bad_value_the_same_way(tmp_path, args):
    done = run(args, tmp_path, INFOBUTTON_CACHE_SIZE="many")
    assert done.returncode == 2
    assert done.stderr == "infobutton: INFOBUTTON_CACHE_SIZE: expected an integer ≥ 1, got 'many'\n"


def test_fhir_fetch_slots_are_fewer_than_the_request_threads():
    """Fetches waiting on slow FHIR servers must leave request threads for everything else: the
    default is half the threads, and a setting at or above them is refused at start."""
    assert (Settings().threads, Settings().fhir_fetch_slots) == (4, 2)
    assert Settings(threads=8).fhir_fetch_slots == 4 and Settings(threads=2).fhir_fetch_slots == 1
    assert Settings(cds_fhir_concurrency=3).fhir_fetch_slots == 3
    for env in (
        {"INFOBUTTON_CDS_FHIR_CONCURRENCY": "4"},
        {"INFOBUTTON_THREADS": "6", "INFOBUTTON_CDS_FHIR_CONCURRENCY": "9"},
    ):
        error = refused(env)
        assert error.variable == "INFOBUTTON_CDS_FHIR_CONCURRENCY" and "fewer than INFOBUTTON_THREADS" in error.message
    assert refused({"INFOBUTTON_THREADS": "1"}).variable == "INFOBUTTON_THREADS"


def test_serve_runs_the_configured_threads():
    from infobutton.cli import gunicorn_options

    assert gunicorn_options("127.0.0.1", 8080, 1, Settings(threads=6))["threads"] == 6


def test_log_settings_accept_their_words_in_any_case_and_refuse_others():
    settings = Settings.from_env({"INFOBUTTON_LOG_FORMAT": " JSON ", "INFOBUTTON_LOG_LEVEL": "Debug"})
    assert (settings.log_format, settings.log_level) == ("json", "debug")
    assert (Settings().log_format, Settings().log_level) == ("auto", "info")
    error = refused({"INFOBUTTON_LOG_FORMAT": "yaml"})
    assert str(error) == "INFOBUTTON_LOG_FORMAT: expected auto, text or json, got 'yaml'"
    assert refused({"INFOBUTTON_LOG_LEVEL": "trace"}).message.startswith("expected debug, info, warning or error")


def test_config_imports_no_database_web_or_http_library():
    """The settings are read before anything else (every command): config's own imports are
    pydantic and the standard library, plus the CDS package's two stdlib-only parsers. The
    package's ``__init__`` (the app factory) is left out, to see what config itself loads."""
    script = """
import sys, types
package = types.ModuleType("infobutton")
package.__path__ = [sys.argv[1]]
sys.modules["infobutton"] = package
import infobutton.config
print(" ".join(sorted(sys.modules)))
"""
    package = Path(__file__).resolve().parents[1] / "infobutton"
    done = subprocess.run([sys.executable, "-c", script, str(package)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.split()
    assert "infobutton.config" in loaded and "pydantic" in loaded
    heavy = ("sqlalchemy", "flask", "werkzeug", "gunicorn", "limits", "jwt", "cryptography", "alembic", "redis")
    assert [m for m in loaded if m.split(".")[0] in heavy] == []
    ours = {m for m in loaded if m.startswith("infobutton.")}
    assert ours == {"infobutton.config", "infobutton.cds", "infobutton.cds.fhir_url", "infobutton.cds.issuers"}
