"""Shared fixtures: a real app on a temporary SQLite file, PostgreSQL in a throwaway schema,
the HL7 schema from ../shared/conformance, and the rule that CI never skips a real service.

Tiers: a test that needs a real service or a heavy step carries that tier's marker (pyproject.toml
lists them), so ``make test-fast`` can leave it out. The markers cannot be forgotten: a test that
asks for a service's fixture (``TIER_OF_FIXTURE``) without its marker fails collection, and one that
reaches PostgreSQL or Redis at run time (``getfixturevalue``) or starts ``infobutton serve``
(``serve_command``) without it fails at that moment (``needs_tier``).
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from infobutton import create_app
from infobutton.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CONFORMANCE = SHARED / "conformance"
SEED_PAGE = SHARED / "seeds" / "000_64b13ee4fbfd3c59.txt"
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("INFOBUTTON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("INFOBUTTON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

pytest_plugins = ["pytester"]  # tests/test_tiers.py runs small suites of its own

ICD10CM = "2.16.840.1.113883.6.90"
SNOMEDCT = "2.16.840.1.113883.6.96"


class Clock:
    """An injectable timer (cachetools, schedulers, rate limits): tests move time, never sleep."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


# The fixtures that reach a real service or process, and the marker a test using them must carry.
TIER_OF_FIXTURE = {
    "postgres_server": "postgres",
    "postgres_url": "postgres",
    "redis_url": "redis",
    "browser": "browser",
    "page": "browser",
    "nginx_bin": "nginx",
    "served": "gunicorn",
}


def untiered(item: pytest.Item) -> list[str]:
    """What ``item`` uses without its tier's marker, one line each (empty when it is tiered right)."""
    names = getattr(item, "fixturenames", ())
    return [
        f"{item.nodeid}: uses the fixture {name!r} without @pytest.mark.{tier}"
        for name, tier in TIER_OF_FIXTURE.items()
        if name in names and item.get_closest_marker(tier) is None
    ]


def pytest_collection_modifyitems(config, items):
    problems = [line for item in items for line in untiered(item)]
    if problems:
        raise pytest.UsageError("tests without their tier's marker (see tests/conftest.py):\n" + "\n".join(problems))


_running: list[pytest.Item] = []  # the test being set up or run, for needs_tier


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _running[:] = [item]


def needs_tier(tier: str) -> None:
    """Fail the running test unless it carries ``tier``'s marker (for services reached at run time)."""
    if _running and _running[0].get_closest_marker(tier) is None:
        pytest.fail(f"{_running[0].nodeid} needs @pytest.mark.{tier}: it reaches a {tier} at run time")


def wait_until(
    condition: Callable[[], object], timeout: float = 60, what: str | Callable[[], str] = "the condition"
) -> Any:
    """Poll ``condition`` until it returns something true, and return that: the one way tests wait
    for something to happen. Generous by default, as the machine may be busy; when ``timeout``
    seconds pass first the test fails naming ``what`` (a callable is asked then, for the state)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what() if callable(what) else what}")
        time.sleep(0.05)  # the poll interval, not a guess at how long something takes


def require(available: bool, reason: str) -> None:
    """Skip locally when a real service is absent; under CI=true that is a failure."""
    if not available:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: this test must run)")
        pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory) -> Path:
    """A database a first start filled from the bundled mappings and topics, made once per
    session: seeding takes seconds, a copy milliseconds. Tests of the first start itself make
    their own data directory."""
    from infobutton.services import build_services

    where = tmp_path_factory.mktemp("seeded")
    build_services(Settings(data_dir=str(where), version_check_interval=0.0)).close()
    return where / "infobutton.sqlite3"


@pytest.fixture
def settings(tmp_path, seeded_database) -> Settings:
    """An app's settings on its own data directory, whose database starts as a first start leaves
    it (or as a fixture before this one left it)."""
    if not (tmp_path / seeded_database.name).exists():
        shutil.copyfile(seeded_database, tmp_path / seeded_database.name)
    return Settings(data_dir=str(tmp_path), version_check_interval=0.0)


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["infobutton"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def services(app):
    return app.extensions["infobutton"]


@pytest.fixture
def synced_catalogue(services):
    """The app's catalogue with the leukemia family as a sync of the MedlinePlus export would leave
    it (summaries, also-called names, Spanish twins: ``tests/synced_topics.py``), for tests of
    what the responder does with full topics."""
    from tests.synced_topics import synced

    services.topics.upsert(synced(services.topics.all()))
    return services.topics


@pytest.fixture(scope="session")
def knowledge_schema():
    """lxml XMLSchema of the HL7 Knowledge Response, or a skip where ../shared is absent."""
    from lxml import etree

    path = CONFORMANCE / "KnowledgeResponse.xsd"
    require(path.exists(), f"{path} not found")
    return etree.XMLSchema(etree.parse(str(path)))


def validate_if_schema(doc) -> None:
    """Validate against the HL7 schema when ../shared is beside the clone (CI always has it), so a
    test about something else still runs without it."""
    from lxml import etree

    path = CONFORMANCE / "KnowledgeResponse.xsd"
    if path.exists():
        etree.XMLSchema(etree.parse(str(path))).assertValid(doc)
    else:
        if IN_CI:
            pytest.fail(f"{path} not found (CI=true: the conformance schema must be there)")


@pytest.fixture
def postgres_server() -> str:
    """The test PostgreSQL server's URL (its ``test`` database), for tests that make their own
    databases or schemas on it; a skip locally when it is not running."""
    needs_tier("postgres")
    require(port_open("127.0.0.1", 5432), "PostgreSQL is not running on 127.0.0.1:5432")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def redis_url() -> str:
    """The test Redis server's URL; a skip locally when it is not running."""
    needs_tier("redis")
    where = urlsplit(REDIS_URL)
    require(port_open(where.hostname or "127.0.0.1", where.port or 6379), f"Redis is not running at {REDIS_URL}")
    return REDIS_URL


def icd(code: str, **extra) -> dict:
    """Query parameters for one ICD-10-CM code plus any extra parameters."""
    return {"mainSearchCriteria.v.c": code, "mainSearchCriteria.v.cs": ICD10CM, **extra}


def unmap_diabetes(services) -> None:
    """Take away the shipped E10/E11 rules, for tests of what a librarian sees where nobody has
    mapped diabetes yet (suggestions, the gap report)."""
    from infobutton.store.mappings import Change

    gone = [Change(r, None) for r in services.mappings.rules() if r.code.startswith(("E10", "E11"))]
    services.mappings.apply(gone, actor="test", action="delete", reason="nobody has mapped diabetes here")
    services.knowledge.refresh_now()


def bench_script(name: str):
    """bench/<name>.py imported by path as ``bench_<name>`` (on sys.path bench/coverage.py would
    shadow the coverage package)."""
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module
