"""Structured logs (logs.py): the pieces, then a real `infobutton serve` whose every log line is
JSON and carries no patient context, even when gunicorn rejects raw malformed request lines."""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from flask import Flask, request
from gunicorn.config import Config
from gunicorn.http.errors import InvalidHeader, InvalidRequestLine, InvalidRequestMethod, LimitRequestLine

from infobutton.logs import (
    GunicornLogger,
    JsonFormatter,
    RedactRequestLines,
    TextFormatter,
    formatter,
    redact,
    request_id,
)

from .conftest import ICD10CM, wait_until
from .test_cli import free_port, serve_command, wait_ready

# Recognisable patient context: none of it may reach any log.
PATIENT = ("F32.9", "Depresi", "age.v.v", "administrativeGenderCode", "xyzzy-note", "mainSearchCriteria")


def test_request_id_accepts_sane_tokens_only():
    assert request_id("abc.DEF_1-2") == "abc.DEF_1-2"
    for offered in (None, "", "x" * 65, "a b", "a/b", "é"):
        assert re.fullmatch(r"[0-9a-f]{32}", request_id(offered))


@pytest.mark.parametrize(
    "error",
    [
        InvalidRequestLine("GET /infobutton?mainSearchCriteria.v.c=F32.9&age.v.v=15 x HTTP/1.1"),
        InvalidRequestMethod("age.v.v=15"),
        InvalidHeader("mainSearchCriteria.v.dn DepresiÃ³n"),
        LimitRequestLine(9000, 8190),
    ],
)
def test_gunicorns_invalid_request_warnings_lose_the_request_content(error):
    message = redact(f"Invalid request from ip=10.0.0.7: {error}")
    assert message.startswith("Invalid request from ip=10.0.0.7: ")
    assert "request content not logged" in message
    for value in ("F32.9", "age.v.v", "Depresi", "mainSearchCriteria"):
        assert value not in message


def test_other_gunicorn_messages_lose_quoted_request_content_and_query_strings():
    assert redact("Error handling request /infobutton?age.v.v=15") == "Error handling request /infobutton?…"
    assert redact("No more data after: b'GET /x?F32.9'") == "No more data after: '…'"
    assert redact("Booting worker with pid: 42") == "Booting worker with pid: 42"


def test_the_filter_redacts_formatted_messages_and_tracebacks():
    try:
        raise ValueError("GET /infobutton?age.v.v=15")
    except ValueError:
        record = logging.LogRecord(
            "gunicorn.error", logging.ERROR, "f", 1, "Error handling %s", ("/a?F32.9",), sys.exc_info()
        )
    assert RedactRequestLines().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Error handling /a?…"
    assert "age.v.v" not in line["exception"] and "ValueError" in line["exception"]


def test_json_lines_carry_utc_time_level_logger_and_message():
    record = logging.LogRecord("infobutton.x", logging.INFO, "f", 1, "hello %s", ("there",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello there" and line["level"] == "INFO" and line["logger"] == "infobutton.x"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])


def text_fields(line: str) -> dict[str, str]:
    """A text line read back: time, level, logger, then the message up to the first key=value."""
    time_, level, logger, rest = line.split(None, 3)
    words = rest.split(" ")
    first = next(i for i, w in enumerate(words) if re.fullmatch(r"[a-z_]+=\S+", w))
    fields = dict(w.split("=", 1) for w in words[first:])
    return {"time": time_, "level": level, "logger": logger, "message": " ".join(words[:first]), **fields}


def test_text_and_json_lines_carry_the_same_fields_and_no_query_string():
    app = Flask(__name__)
    app.add_url_rule("/infobutton", "infobutton", lambda: "")
    query = "mainSearchCriteria.v.c=F32.9&age.v.v=15&patientPerson.administrativeGenderCode.c=F"
    with app.test_request_context(f"/infobutton?{query}", method="GET"):
        app.preprocess_request()
        request.environ["infobutton.request_id"] = "trace-42"
        record = logging.LogRecord("infobutton.web", logging.WARNING, "f", 1, "answered %d topics", (3,), None)
        record.status, record.duration_ms = 200, 1.5
        json_line = json.loads(JsonFormatter().format(record))
        text_line = TextFormatter().format(record)
    expected = {
        "level": "WARNING",
        "logger": "infobutton.web",
        "message": "answered 3 topics",
        "request_id": "trace-42",
        "route": "/infobutton",
        "method": "GET",
        "status": 200,
        "duration_ms": 1.5,
    }
    assert json_line.items() >= expected.items() and json_line.keys() == {"time", *expected}
    assert text_fields(text_line) == {k: str(v) for k, v in json_line.items()}
    for line in (json.dumps(json_line), text_line):
        for value in (*PATIENT, "patientPerson", "?"):
            assert value not in line, value


def test_text_lines_quote_odd_values_and_indent_continuations():
    record = logging.LogRecord("gunicorn.access", logging.INFO, "f", 1, "first\n2026-01-01 ERROR forged", (), None)
    record.user_agent = 'Mozilla/5.0 (X11) "quoted"\nnext'
    line = TextFormatter().format(record)
    first, second = line.split("\n")
    assert (
        first.endswith("first")
        and second == "    2026-01-01 ERROR forged " + r'user_agent="Mozilla/5.0 (X11) \"quoted\"\nnext"'
    )


class _Stream:
    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_auto_writes_text_to_a_terminal_and_json_elsewhere_unless_configured():
    assert isinstance(formatter("auto", _Stream(True)), TextFormatter)
    assert isinstance(formatter("auto", _Stream(False)), JsonFormatter)
    assert isinstance(formatter("text", _Stream(False)), TextFormatter)
    assert isinstance(formatter("json", _Stream(True)), JsonFormatter)


# -- a real server ------------------------------------------------------------------------------


class Served:
    """`infobutton serve` with its stdout and stderr in two files."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.prom = tmp / "prom"
        self.stdout, self.stderr = tmp / "stdout.log", tmp / "stderr.log"
        env = {**os.environ, "INFOBUTTON_DATA_DIR": str(tmp / "data"), "PROMETHEUS_MULTIPROC_DIR": str(self.prom)}
        env.pop("INFOBUTTON_DATABASE_URL", None)
        with open(self.stdout, "w") as out, open(self.stderr, "w") as err:
            self.proc = subprocess.Popen(
                serve_command(self.port, 2),
                env=env,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def logs(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = Served(tmp_path_factory.mktemp("serve"))
    try:
        wait_ready(server.base + "/healthz", server.proc)
        yield server
    finally:
        server.stop()


def raw(port: int, data: bytes) -> bytes:
    """Send bytes as they are and read what comes back (any transport error ends the read)."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except OSError:
            pass
    return answer


@pytest.mark.gunicorn
def test_every_line_of_a_served_log_is_json_with_the_request_fields(served):
    params = {
        "mainSearchCriteria.v.c": "F32.9",
        "mainSearchCriteria.v.cs": ICD10CM,
        "mainSearchCriteria.v.dn": "Depresión mayor",
        "mainSearchCriteria.v.ot": "xyzzy-note",
        "age.v.v": "15",
        "age.v.u": "a",
        "patientPerson.administrativeGenderCode.c": "F",
    }
    agent = "EHR-client/1.0 " + "x" * 300
    got = requests.get(
        served.base + "/infobutton",
        params=params,
        headers={"X-Request-ID": "trace-42", "User-Agent": agent},
        timeout=60,
    )
    assert got.status_code == 200 and got.headers["X-Request-ID"] == "trace-42"
    posted = requests.post(served.base + "/infobutton", data=params, timeout=60)
    assert posted.status_code == 200
    assert requests.get(served.base + "/infobutton", params={"age.v.v": "15"}, timeout=60).status_code == 400
    assert requests.get(served.base + "/no/F32.9", timeout=60).status_code == 404
    # gunicorn writes an access line just after its response: wait for the last one
    wait_until(lambda: "GET (no route) 404" in served.logs(), what="the last access line")
    lines = [json.loads(line) for line in served.logs().splitlines() if line.strip()]
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys()
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    (traced,) = [line for line in access if line.get("request_id") == "trace-42"]
    assert traced["route"] == "/infobutton" and traced["method"] == "GET" and traced["status"] == 200
    assert traced["message"] == "GET /infobutton 200"
    assert traced["duration_ms"] >= 0 and traced["time"].endswith("+00:00")
    assert traced["user_agent"].startswith("EHR-client/1.0") and len(traced["user_agent"]) <= 120
    assert any(line["method"] == "POST" and line["route"] == "/infobutton" for line in access)
    assert any(line["status"] == 404 and "route" not in line for line in access)
    assert any(line["logger"].startswith("infobutton") for line in lines)  # app logs, same format
    assert any(line["logger"] == "gunicorn.error" for line in lines)  # gunicorn's own, same format
    text = served.logs()
    for value in PATIENT:
        assert value not in text, value


@pytest.mark.gunicorn
def test_a_served_log_says_once_where_it_listens_and_migrates_quietly(served):
    """Not a terminal: JSON lines, the start announced in one of them (without a request to
    try, which a log pipeline would read as one made), no Alembic step at INFO."""
    lines = [json.loads(line) for line in served.logs().splitlines() if line.strip()]
    (ready,) = [line for line in lines if line["message"].startswith("infobutton is listening on")]
    assert ready["message"].startswith(f"infobutton is listening on {served.base}; admin UI  {served.base}/admin/")
    assert "admin create-token" in ready["message"] and "curl" not in ready["message"]
    assert not [line for line in lines if line["logger"].startswith("alembic")]
    (database,) = [line for line in lines if line["message"].startswith("database ready: ")]
    assert re.search(r"\(schema \d{4}, [\d,]+ rules, [\d,]+ topics\)$", database["message"])


@pytest.mark.gunicorn
def test_malformed_request_lines_leave_no_patient_context_in_any_log(served):
    query = "mainSearchCriteria.v.c=F32.9&mainSearchCriteria.v.dn=Depresión&age.v.v=15"
    spaced = query.replace("&age", " mayor&age")
    attempts = {
        "raw space in the query": f"GET /infobutton?{spaced} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        "raw UTF-8 in the target": f"GET /infobutton?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        "an over-long line": ("GET /infobutton?" + "&".join([query] * 400) + " HTTP/1.1\r\nHost: x\r\n\r\n").encode(),
        "a bad method": b"age.v.v=15&F32.9 /infobutton HTTP/1.1\r\nHost: x\r\n\r\n",
        "a header without colon": f"GET /infobutton HTTP/1.1\r\nHost: x\r\n{query} Depresión\r\n\r\n".encode(),
        "a bad version": f"GET /infobutton?{query} HTTP/F32.9\r\nHost: x\r\n\r\n".encode(),
    }
    for what, data in attempts.items():
        answer = raw(served.port, data)
        assert answer.startswith(b"HTTP/1.1 4"), (what, answer[:200])
        for value in (b"F32.9", b"age.v.v", b"Depresi", b"mainSearchCriteria"):  # the error page
            assert value not in answer, (what, answer)
    assert requests.get(served.base + "/healthz", timeout=60).status_code == 200
    text = served.logs()
    assert text.count("request content not logged") >= len(attempts) - 1  # the long line says its size
    for line in text.splitlines():
        if line.strip():
            json.loads(line)
    for value in (*PATIENT, "DepresiÃ³n", "Depresión"):
        assert value not in text, value


@pytest.mark.gunicorn
def test_metrics_add_up_every_workers_counts(served):
    for _ in range(12):
        with requests.Session() as fresh:  # a new connection each time: both workers get some
            assert fresh.get(served.base + "/readyz", timeout=60).status_code == 200
    text = requests.get(served.base + "/metrics", timeout=60).text
    found = re.search(
        r'infobutton_http_requests_total\{format="json",method="GET",route="/readyz",status="200"\} (\S+)', text
    )
    assert found and float(found.group(1)) == 12
    assert list(served.prom.glob("*.db"))


@pytest.mark.gunicorn
def test_stopping_serve_empties_the_metrics_directory(served):
    served.stop()
    assert served.proc.returncode == 0
    assert served.prom.is_dir() and not list(served.prom.glob("*.db"))


def test_generated_request_ids_differ_between_forked_workers():
    """Workers fork from one arbiter: their generated ids must not repeat each other's."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first id, then exit without running pytest's teardown
        os.write(write, request_id(None).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    parent = request_id(None)
    assert len(child) == len(parent) == 32 and child != parent


def test_refused_requests_leave_no_access_line_and_others_do(capsys):
    cfg = Config()
    cfg.set("accesslog", "-")
    logger = GunicornLogger(cfg)
    took = datetime.timedelta(milliseconds=2)
    environ = {"REQUEST_METHOD": "GET"}
    logger.access(SimpleNamespace(status="429 TOO MANY REQUESTS"), None, environ, took)
    assert capsys.readouterr().out == ""
    logger.access(SimpleNamespace(status="200 OK"), None, environ, took)
    assert '"status": 200' in capsys.readouterr().out
