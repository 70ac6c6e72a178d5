"""`infobutton serve` for real: gunicorn on 127.0.0.1, seeded SQLite, paths-only access log."""

import os
import pty
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import requests
from lxml import etree

from .conftest import ICD10CM, needs_tier, validate_if_schema, wait_until
from .local_server import LocalServer

BIN = Path(sys.executable).parent / "infobutton"


def serve_command(port: int, workers: int) -> list[str]:
    """The command line of a real ``infobutton serve`` (gunicorn) on 127.0.0.1: only a test marked
    ``gunicorn`` may start one, so the fast tier never does."""
    needs_tier("gunicorn")
    return [str(BIN), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc=None, seconds: float = 180, attempt_timeout: float = 5) -> None:
    """Poll until the server answers 200; generous, as workers boot slowly on a busy machine.
    Every transport error (refused, reset, read timeout, cut short) only means "not up yet"."""
    last: list[object] = [None]

    def answers() -> bool:
        assert proc is None or proc.poll() is None, "server exited early"
        try:
            last[0] = requests.get(url, timeout=attempt_timeout).status_code
        except requests.exceptions.RequestException as error:
            last[0] = error
        return last[0] == 200

    wait_until(answers, timeout=seconds, what=lambda: f"{url} to answer 200 (last: {last[0]!r})")


class SlowThenReady(BaseHTTPRequestHandler):
    """Holds the first request until the client has given up on it and asked again (its read
    timeout), then answers every request at once."""

    first = threading.Event()
    retried = threading.Event()

    def do_GET(self):
        if not self.first.is_set():
            self.first.set()
            self.retried.wait(timeout=120)  # the hang is the subject: released by the retry
        else:
            self.retried.set()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_wait_ready_rides_out_a_read_timeout():
    SlowThenReady.first.clear()
    SlowThenReady.retried.clear()
    with LocalServer(SlowThenReady) as server:
        wait_ready(f"http://127.0.0.1:{server.port}/", attempt_timeout=0.5, seconds=120)
    assert SlowThenReady.first.is_set() and SlowThenReady.retried.is_set()


@pytest.mark.gunicorn
def test_serve_answers_c91_00_and_logs_no_patient_context(tmp_path):
    port = free_port()
    env = {**os.environ, "INFOBUTTON_DATA_DIR": str(tmp_path / "data")}
    env.pop("INFOBUTTON_DATABASE_URL", None)
    with open(tmp_path / "server.log", "w+") as log:  # the server writes to it for the whole test
        proc = subprocess.Popen(
            serve_command(port, 2),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base + "/healthz", proc)
            assert (tmp_path / "data" / "infobutton.sqlite3").exists()
            params = {
                "mainSearchCriteria.v.c": "C91.00",
                "mainSearchCriteria.v.cs": ICD10CM,
                "age.v.v": "77",
                "age.v.u": "a",
                "patientPerson.administrativeGenderCode.c": "F",
            }
            for _ in range(4):  # reach both workers
                r = requests.get(base + "/infobutton", params=params, timeout=60)
                assert r.status_code == 200
            doc = etree.fromstring(r.content)
            validate_if_schema(doc)
            first = doc.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}title")
            assert first.text == "Acute Lymphocytic Leukemia"
            assert requests.get(base + "/infobutton", params={"age.v.v": "77"}, timeout=60).status_code == 400
            unmapped = {"mainSearchCriteria.v.c": "R69", "mainSearchCriteria.v.cs": ICD10CM}
            assert requests.get(base + "/infobutton", params=unmapped, timeout=60).status_code == 200
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        # Usage counts are buffered in the workers; a clean stop writes them (the gap report keeps them).
        db = sqlite3.connect(tmp_path / "data" / "infobutton.sqlite3")
        counts = dict(
            (
                (code, (requests_, unmatched))
                for code, requests_, unmatched in db.execute(
                    "SELECT code, SUM(requests), SUM(unmatched) FROM mapping_usage GROUP BY code"
                )
            )
        )
        db.close()
        assert counts["R69"] == (1, 1) and counts["C91.00"] == (4, 0)
        log.seek(0)
        text = log.read()
        assert "GET /infobutton" in text and "/healthz" in text
        assert "C91.00" not in text and "age.v.v" not in text and "patientPerson" not in text


@pytest.mark.gunicorn
def test_serve_binds_no_gunicorn_control_socket(tmp_path):
    """gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), so two
    instances on a host took it from each other: serve runs without one."""
    from .serving import Serving

    home = tmp_path / "home"
    home.mkdir()
    with Serving(tmp_path, {"HOME": str(home)}, unset=("XDG_RUNTIME_DIR",)) as server:
        assert requests.get(server.base + "/healthz", timeout=30).status_code == 200
        assert list(home.rglob("*.ctl")) == []
        assert "control socket" not in server.logs().lower()


@pytest.mark.gunicorn
def test_serve_on_a_terminal_says_once_where_it_listens_how_to_sign_in_and_what_to_try(tmp_path):
    """What a person sees after `make run`: text lines, one short block with the address, the
    admin UI, the command that makes a token, and a request to try; no migration steps."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "INFOBUTTON_DATA_DIR": str(tmp_path / "data")}
    for name in ("INFOBUTTON_DATABASE_URL", "INFOBUTTON_LOG_FORMAT", "INFOBUTTON_LOG_LEVEL"):
        env.pop(name, None)
    master, terminal = pty.openpty()
    proc = subprocess.Popen(
        serve_command(port, 2),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    output: list[bytes] = []

    def read() -> None:  # drain the terminal, or the server blocks writing to it
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the server is gone
                return
            if not chunk:
                return
            output.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_ready(base + "/healthz", proc)
        example = f"curl '{base}/infobutton?mainSearchCriteria.v.c=C91.00&"
        wait_until(lambda: example in b"".join(output).decode(errors="replace"), 60, "the example request")
        query = b"".join(output).decode(errors="replace").split(example, 1)[1].split("'", 1)[0]
        answer = requests.get(f"{base}/infobutton?mainSearchCriteria.v.c=C91.00&{query}", timeout=60)
        assert answer.status_code == 200 and "Leukemia" in answer.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        reader.join(timeout=30)
        os.close(master)
    text = b"".join(output).decode(errors="replace").replace("\r\n", "\n")
    assert text.count("infobutton is listening on") == 1
    (start,) = [i for i, line in enumerate(text.splitlines()) if "infobutton is listening on" in line]
    block = text.splitlines()[start : start + 3]
    assert block[0].endswith(f" INFO  infobutton.cli infobutton is listening on {base}")
    assert block[1].startswith(f"    admin UI  {base}/admin/ ")
    assert 'infobutton admin create-token --name "$USER" --role admin' in block[1]
    assert block[2].startswith(f"    try       curl '{base}/infobutton?mainSearchCriteria.v.c=C91.00&")
    assert "database ready: " in text and " rules, " in text
    assert "alembic" not in text and "Running upgrade" not in text and "Context impl" not in text
    assert not [line for line in text.splitlines() if line.startswith("{")]  # text, not JSON lines
