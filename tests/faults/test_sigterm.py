"""SIGTERM to a real `infobutton serve` mid-load: every request already sent is answered,
including one whose body is still arriving on a kept-alive connection, and gunicorn's graceful
timeout outlasts the longest request a worker may run."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import threading
from collections import Counter
from urllib.parse import urlencode

import pytest
import requests

from infobutton.cli import gunicorn_options
from infobutton.config import Settings
from infobutton.store import Database

from ..conftest import ICD10CM, wait_until
from ..test_cli import free_port, serve_command, wait_ready

CODES = ["C91.00", "E11.9", "J45.909", "I10", "C92.10", "D47.9"]


def test_the_graceful_timeout_outlasts_the_longest_request(tmp_path):
    options = gunicorn_options("127.0.0.1", 8080, 2, Settings(data_dir=str(tmp_path)))
    # ``timeout`` is the request deadline (gunicorn_worker): no request runs longer than it
    assert options["graceful_timeout"] > options["timeout"]


@pytest.mark.postgres
def test_database_waits_give_up_well_before_the_request_deadline(tmp_path, postgres_url):
    """A request waiting for a pooled connection, SQLite's write lock or a PostgreSQL host gets a
    503 well before the deadline, rather than having its worker (and its other requests) killed."""
    deadline = gunicorn_options("127.0.0.1", 8080, 2, Settings(data_dir=str(tmp_path)))["timeout"]
    for url in (f"sqlite:///{tmp_path}/pool.sqlite3", postgres_url):
        db = Database(url)
        try:
            assert db.engine.pool.timeout() <= deadline / 2
            if db.dialect == "sqlite":
                assert db.scalar("PRAGMA busy_timeout") <= deadline * 1000 * 2 / 3
            else:
                with db.connection() as conn:
                    parameters = conn.connection.dbapi_connection.info.get_parameters()
                assert 0 < int(parameters["connect_timeout"]) <= deadline / 2
        finally:
            db.close()


@pytest.mark.gunicorn
def test_sigterm_mid_load_answers_every_request_already_sent(tmp_path):
    env = {**os.environ, "INFOBUTTON_RATE_LIMIT": "1000000/minute", "INFOBUTTON_DATA_DIR": str(tmp_path / "data")}
    env.pop("INFOBUTTON_DATABASE_URL", None)
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
    terminated = threading.Event()
    before: Counter = Counter()  # outcomes of requests sent before SIGTERM
    answered = [0]  # answers of any kind, to know the load is under way
    failed_before: list[str] = []
    lock = threading.Lock()

    def load(n: int) -> None:
        with requests.Session() as session:  # keep-alive
            i = n
            while not terminated.is_set():
                i += 1
                params = {"mainSearchCriteria.v.c": CODES[i % len(CODES)], "mainSearchCriteria.v.cs": ICD10CM}
                sent_before = not terminated.is_set()
                try:
                    r = session.get(base + "/infobutton", params=params, timeout=60)
                    outcome = str(r.status_code)
                except requests.RequestException as exc:
                    outcome = type(exc).__name__
                with lock:
                    answered[0] += 1
                if sent_before and not terminated.is_set():  # answered before SIGTERM: not the point
                    continue
                with lock:
                    before[outcome] += 1
                    if outcome != "200" and sent_before:
                        failed_before.append(outcome)

    try:
        wait_ready(base + "/healthz", proc)
        # A kept-alive connection: one answer, then a POST whose body is half sent at SIGTERM.
        slow = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        slow.request("GET", "/healthz")
        first = slow.getresponse()
        assert first.status == 200 and first.read()
        body = urlencode({"mainSearchCriteria.v.c": "C91.00", "mainSearchCriteria.v.cs": ICD10CM}).encode()
        slow.putrequest("POST", "/infobutton")
        slow.putheader("Content-Type", "application/x-www-form-urlencoded")
        slow.putheader("Content-Length", str(len(body)))
        slow.endheaders()
        slow.send(body[:10])

        threads = [threading.Thread(target=load, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        wait_until(lambda: answered[0] >= 16, what="the load to be under way")
        terminated.set()
        proc.send_signal(signal.SIGTERM)  # the arbiter: a graceful stop
        wait_until(lambda: "Handling signal: term" in (tmp_path / "server.log").read_text(), what="the arbiter's stop")
        slow.send(body[10:])
        answer = slow.getresponse()
        assert answer.status == 200 and b"leukemia" in answer.read().lower()
        slow.close()
        for t in threads:
            t.join(timeout=120)
        assert proc.wait(timeout=90) == 0
        assert failed_before == [], f"requests in flight at SIGTERM failed: {Counter(failed_before)}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
