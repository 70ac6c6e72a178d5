"""deploy/nginx.conf under a real nginx: accepted by `nginx -t`, forwards only the public paths,
sets the forwarding headers, keeps bodies to the instances' limits, and logs no patient context."""

from __future__ import annotations

import difflib
import json
import threading
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from ..conftest import ICD10CM, wait_until
from ..local_server import LocalServer
from .nginx import CONFIG, Nginx, check, free_port, local_variant, write_variant

pytestmark = pytest.mark.nginx

PATIENT = {
    "mainSearchCriteria.v.c": "F32.9",
    "mainSearchCriteria.v.cs": ICD10CM,
    "mainSearchCriteria.v.dn": "Depresión mayor",
    "age.v.v": "15",
    "age.v.u": "a",
    "patientPerson.administrativeGenderCode.c": "F",
}
# What must never reach a log line (raw and as URL-encoded by requests).
LEAKS = ("F32.9", "Depresi", "age.v.v", "patientPerson", "mainSearchCriteria", "=15")


def access_lines(nginx: Nginx, count: int) -> list[dict]:
    """The access log once it has ``count`` lines: nginx writes a line as the request ends, which
    may be just after the client has its answer."""
    lines = wait_until(
        lambda: len(read := (nginx.scratch / "access.log").read_text().splitlines()) >= count and read,
        what=f"{count} access log lines",
    )
    return [json.loads(line) for line in lines]


def test_nginx_accepts_the_file_changed_only_where_compose_differs_from_a_test(nginx_bin, scratch):
    config = write_variant(scratch, free_port(), free_port())
    checked = check(nginx_bin, config)
    assert checked.returncode == 0, checked.stderr
    changed = [
        line
        for line in difflib.unified_diff(CONFIG.read_text().splitlines(), config.read_text().splitlines(), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    # listen, 2 upstream servers, 2 logs: swapped; pid and 5 temp paths: added.
    assert sum(line.startswith("-") for line in changed) == 5
    assert sum(line.startswith("+") for line in changed) == 5 + 1 + 5


def test_nginx_refuses_a_broken_variant(nginx_bin, scratch):
    """`nginx -t` as used above does catch mistakes."""
    config = scratch / "nginx.conf"
    config.write_text(
        local_variant(scratch, free_port(), free_port()).replace("limit_conn per_client", "limit_conn nozone")
    )
    assert check(nginx_bin, config).returncode != 0


@pytest.mark.gunicorn
def test_public_paths_reach_the_instance_and_operator_paths_do_not(proxy, served):
    r = requests.get(
        proxy.base + "/infobutton", params={**PATIENT, "knowledgeResponseType": "application/json"}, timeout=60
    )
    assert r.status_code == 200 and r.json()["feed"]
    assert r.headers["Server"] == "nginx"  # no version, and not gunicorn's
    for path in ("/healthz", "/openapi.json", "/cds-services", "/admin/signin"):
        assert requests.get(proxy.base + path, timeout=60).status_code == 200, path
    for path in ("/metrics", "/readyz", "/metrics/", "/healthz/../metrics", "/nothing"):
        assert requests.get(proxy.base + path, timeout=60).status_code == 404, path
    by_path = {}
    for line in access_lines(proxy, 1 + 4 + 5):
        by_path.setdefault(line["path"], []).append(line)
    assert all(line["upstream"] == "" for line in by_path["/metrics"] + by_path["/readyz"])
    assert all(line["upstream"] == f"127.0.0.1:{served[1]}" for line in by_path["/infobutton"])


@pytest.mark.gunicorn
def test_bodies_are_held_to_the_instances_limits(proxy):
    big = b"x" * (64 * 1024 + 1)  # INFOBUTTON_MAX_BODY_BYTES + 1
    assert requests.post(proxy.base + "/infobutton", data=big, timeout=60).status_code == 413
    # The admin import may be larger: nginx lets it through to the app (which wants a sign-in).
    # 96 KiB: more than the public limit, small enough to sit in gunicorn's socket buffer. (Unread
    # megabytes make gunicorn close mid-body after its 401, and nginx answers 502 instead.)
    r = requests.post(proxy.base + "/admin/api/mappings/import", data=b"x" * 96 * 1024, timeout=60)
    assert r.status_code in (401, 403)
    refused, passed = access_lines(proxy, 2)
    assert refused["status"] == 413 and refused["upstream"] == ""  # nginx answered, the instance never saw it
    assert passed["path"] == "/admin/api/mappings/import" and passed["upstream"]


def test_logs_carry_paths_never_query_strings_even_when_the_instance_is_down(nginx_bin, scratch):
    with Nginx(nginx_bin, scratch, free_port()) as nginx:  # nothing listens upstream: 502
        r = requests.get(
            nginx.base + "/infobutton", params=PATIENT, headers={"Referer": nginx.base + "/?age.v.v=15"}, timeout=60
        )
        assert r.status_code == 502
    logs = nginx.logs()
    assert '"path":"/infobutton"' in logs and '"status":502' in logs
    assert not [leak for leak in LEAKS if leak in logs], logs


class Echo(BaseHTTPRequestHandler):
    """Answers with the request line and headers it received, as JSON."""

    seen: list[dict] = []
    lock = threading.Lock()

    def do_GET(self):
        with self.lock:
            self.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_forwarding_headers_name_the_client_the_proxy_saw(nginx_bin, scratch):
    Echo.seen = []
    with LocalServer(Echo) as upstream, Nginx(nginx_bin, scratch, upstream.port) as nginx:
        spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Request-ID": "abc.123-x"}
        assert requests.get(nginx.base + "/infobutton", params=PATIENT, headers=spoofed, timeout=60).ok
        assert requests.get(
            nginx.base + "/healthz", headers={"X-Request-ID": "no spaces; or semicolons"}, timeout=60
        ).ok
    first, second = Echo.seen
    assert first["x-forwarded-for"] == "127.0.0.1"  # the client's own claim is replaced
    assert first["x-forwarded-proto"] == "http"
    assert first["host"] == f"127.0.0.1:{nginx.port}"
    assert first["path"].startswith("/infobutton?") and "age.v.v=15" in first["path"]  # the query goes through
    assert first["x-request-id"] == "abc.123-x"  # a sane caller's id is kept, in the log too
    assert len(second["x-request-id"]) == 32 and second["x-request-id"].isalnum()  # else nginx's own
    ids = [line["request_id"] for line in access_lines(nginx, 2)]
    assert ids == [first["x-request-id"], second["x-request-id"]]
