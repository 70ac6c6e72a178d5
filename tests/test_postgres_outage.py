"""A real ``infobutton serve`` on PostgreSQL keeps answering while its database connections are
terminated under load: the pool replaces them (pre-ping, one retry of a read), no request gets a
5xx, and /healthz answers 200 afterwards."""

import os
import signal
import subprocess
import threading
import uuid
from collections import Counter

import psycopg
import pytest
import requests

from .conftest import ICD10CM, POSTGRES_URL, wait_until
from .test_cli import BIN, free_port, serve_command, wait_ready

pytestmark = [pytest.mark.postgres, pytest.mark.gunicorn]

PASSWORD = "never-in-a-log"  # trust auth ignores it; serve must not print it
CODES = ["C91.00", "E11.9", "J45.909", "C91.10", "I10", "E11"]


@pytest.fixture
def fresh_database(postgres_server):
    """A PostgreSQL database of its own (the service's connections can be told apart), dropped after."""
    name = "ib_outage_" + uuid.uuid4().hex[:10]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    server, _, _ = POSTGRES_URL.partition("://")[2].rpartition("/")
    if "@" in server and ":" not in server.partition("@")[0]:  # give it a password to keep out of logs
        server = server.replace("@", f":{PASSWORD}@", 1)
    yield name, f"postgresql://{server}/{name}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def terminate_service_connections(database: str) -> int:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'infobutton' AND datname = %s",
            (database,),
        ).fetchall()
    return len(rows)


def test_terminating_the_services_connections_mid_load_gives_no_5xx(tmp_path, fresh_database):
    database, url = fresh_database
    env = {
        **os.environ,
        "INFOBUTTON_RATE_LIMIT": "1000000/minute",
        "INFOBUTTON_DATA_DIR": str(tmp_path / "data"),
        "INFOBUTTON_DATABASE_URL": url,
    }
    created = subprocess.run(
        [str(BIN), "admin", "create-token", "--name", "outage", "--role", "viewer"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    token = created.stdout.strip().splitlines()[-1]
    port = free_port()
    log = open(tmp_path / "server.log", "w+")  # noqa: SIM115 - the server writes to it for the whole test
    proc = subprocess.Popen(
        serve_command(port, 2),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    statuses: Counter = Counter()
    bad: list[str] = []
    lock = threading.Lock()

    def load(worker: int) -> None:
        auth = {"Authorization": f"Bearer {token}"}
        i = worker
        with requests.Session() as session:
            while not stop.is_set():
                i += 1
                code = CODES[i % len(CODES)]
                calls = [
                    (base + "/infobutton", {"mainSearchCriteria.v.c": code, "mainSearchCriteria.v.cs": ICD10CM}, {}),
                    (base + "/healthz", {}, {}),
                    (base + "/admin/api/mappings", {"code": code.partition(".")[0]}, auth),
                    (base + "/admin/api/versions", {}, auth),
                    (base + "/admin/api/audit", {}, auth),
                ]
                target, params, headers = calls[i % len(calls)]
                try:
                    r = session.get(target, params=params, headers=headers, timeout=60)
                    with lock:
                        statuses[r.status_code] += 1
                        if r.status_code >= 500:
                            bad.append(f"{r.status_code} {target}: {r.text[:200]}")
                except requests.RequestException as exc:  # a worker that died would show here
                    with lock:
                        bad.append(f"{type(exc).__name__} {target}")

    try:
        wait_ready(base + "/healthz", proc)
        threads = [threading.Thread(target=load, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        terminated = []

        def answered() -> int:
            with lock:
                return sum(statuses.values()) + len(bad)

        for _ in range(6):  # 30 calls of load between terminations, and after the last
            seen = answered()
            wait_until(lambda seen=seen: answered() >= seen + 30, timeout=120, what="30 more answers")
            if len(terminated) < 5:
                terminated.append(terminate_service_connections(database))
        stop.set()
        for t in threads:
            t.join(timeout=120)
        assert sum(terminated) > 0, "no service connection was ever terminated: the test proved nothing"
        assert bad == [], f"{len(bad)} failed of {sum(statuses.values())}: {bad[:5]}"
        assert statuses[200] > 50 and all(status < 500 for status in statuses)
        terminate_service_connections(database)
        assert requests.get(base + "/healthz", timeout=60).status_code == 200
    finally:
        stop.set()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.seek(0)
        text = log.read()
        log.close()
    assert '"message": "database ready: postgresql://postgres:***@' in text  # a JSON log line (logs.py)
    assert PASSWORD not in text
