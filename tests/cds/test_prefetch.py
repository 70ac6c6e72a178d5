"""Reading the EHR's fhirServer safely, through the app and real servers on 127.0.0.1: only an
allow-listed base of the calling issuer, the token never over plain http, one deadline for the
whole prefetch, a bounded number of fetches per worker, and one error for every failure."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlencode

import pytest
import requests

from infobutton import create_app
from infobutton.config import Settings

from ..conftest import ICD10CM, wait_until
from ..local_server import LocalServer
from ..serving import Serving
from ..test_cli import free_port
from ..web.test_cds_hooks import ALL, PV, TOKEN, FhirServer, bundle, call, post
from . import ehr

AUTH = {"access_token": TOKEN, "token_type": "Bearer"}


def make_app(tmp_path, fhir_servers, **extra):
    settings = Settings(
        data_dir=str(tmp_path),
        version_check_interval=0.0,
        cds_issuers=ehr.issuers(fhir_servers=fhir_servers),
        **extra,
    )
    return create_app(settings)


@pytest.fixture
def fhir():
    with FhirServer([ALL]) as server:
        yield server


@pytest.fixture
def app_for(tmp_path):
    made = []

    def build(fhir_servers, **extra):
        made.append(make_app(tmp_path / str(len(made)), fhir_servers, **{"cds_allow_http_loopback": True, **extra}))
        return made[-1].test_client()

    yield build
    for app in made:
        app.extensions["infobutton"].close()


def test_an_allow_listed_server_is_read(app_for, fhir):
    r = post(app_for([fhir.url]), PV, call(fhirServer=fhir.url, fhirAuthorization=AUTH))
    assert r.status_code == 200 and len(r.json["cards"]) == 1


def test_a_server_without_a_trailing_slash_is_read_as_a_directory(app_for, fhir):
    """``…/fhir`` allow-listed as ``…/fhir/`` reads ``…/fhir/Patient/p1``, never ``…/fhirPatient/p1``."""
    r = post(app_for([fhir.url]), PV, call(fhirServer=fhir.url.rstrip("/"), fhirAuthorization=AUTH))
    assert r.status_code == 200 and len(r.json["cards"]) == 1
    paths = [path for path, _ in fhir.requests]
    assert paths[0] == "/fhir/Patient/p1"
    assert all(path.startswith("/fhir/") for path in paths) and any(p.startswith("/fhir/Condition?") for p in paths)


def test_a_next_page_outside_the_base_is_not_fetched(app_for, fhir):
    fhir.conditions = [ALL, ALL]
    client = app_for([fhir.url])
    for outside in ("{fhir}..;/admin/Condition?page=2", "{fhir}%252e%252e/admin?page=2", "{root}admin?page=2"):
        fhir.requests.clear()
        fhir.next_url = outside.format(fhir=fhir.url, root=fhir.url.removesuffix("fhir/"))
        r = post(client, PV, call(fhirServer=fhir.url, fhirAuthorization=AUTH))
        assert r.status_code == 200
        assert [path.partition("?")[0] for path, _ in fhir.requests] == ["/fhir/Patient/p1", "/fhir/Condition"]


@pytest.mark.parametrize(
    "server",
    [
        "{fhir}../../internal-admin/",
        "{fhir}..;/admin/api/",
        "{fhir}%252e%252e/admin/api/",
        "{fhir}%2e/",
        "{fhir}%2e%2e/%2e%2e/admin/api/",
        "{fhir}..%2f..%2fadmin/api/",
        "http://127.0.0.1@{host}/fhir/",
        "http://{host}.evil.example/fhir/",
        "http://0x7f000001:{port}/admin/api/",
        "http://2130706433:{port}/admin/",
        "http://localhost:{port}/fhir/",
        "http://[::1]:{port}/fhir/",
        "http://127.0.0.1:{port}/fhirx/",
        "HTTP://127.0.0.1:{other}/fhir/",
        "http://127.0.0.1/admin/api/",  # the service's own admin API (its default port)
        "http://localhost/admin/api/tokens",
    ],
)
def test_servers_outside_the_allow_list_are_412_and_never_contacted(app_for, fhir, server):
    client = app_for([fhir.url])
    url = server.format(fhir=fhir.url, host=f"127.0.0.1:{fhir.port}", port=fhir.port, other=fhir.port + 1)
    r = post(client, PV, call(fhirServer=url, fhirAuthorization=AUTH))
    assert r.status_code in (400, 412), r.json
    assert r.json["parameter"] == "fhirServer"
    assert fhir.requests == []


def test_another_issuers_server_is_not_ours_to_read(tmp_path, fhir):
    other = {"https://other-ehr.example.org": {"keys": {"keys": [ehr.jwk()]}, "fhir_servers": [fhir.url]}}
    mine = json.loads(ehr.issuers(fhir_servers=[]))
    settings = Settings(
        data_dir=str(tmp_path),
        version_check_interval=0.0,
        cds_issuers=json.dumps({**mine, **other}),
        cds_allow_http_loopback=True,
    )
    app = create_app(settings)
    try:
        r = post(app.test_client(), PV, call(fhirServer=fhir.url, fhirAuthorization=AUTH))
        assert r.status_code == 412 and fhir.requests == []
    finally:
        app.extensions["infobutton"].close()


def test_the_default_is_deny(tmp_path, fhir):
    app = create_app(Settings(data_dir=str(tmp_path), cds_allow_unauthenticated=True, cds_allow_http_loopback=True))
    try:
        r = post(app.test_client(), PV, call(fhirServer=fhir.url, fhirAuthorization=AUTH), token="")
        assert r.status_code == 412 and fhir.requests == []
    finally:
        app.extensions["infobutton"].close()


def test_the_token_is_never_sent_over_plain_http_without_the_development_flag(app_for, fhir):
    client = app_for([fhir.url], cds_allow_http_loopback=False)
    r = post(client, PV, call(fhirServer=fhir.url, fhirAuthorization=AUTH))
    assert r.status_code == 412 and "https" in r.json["detail"]
    assert fhir.requests == []  # nothing sent, the token least of all


def test_the_development_flag_allows_http_on_loopback_only(app_for):
    client = app_for(["http://ehr.example.org/fhir/"])
    r = post(client, PV, call(fhirServer="http://ehr.example.org/fhir/", fhirAuthorization=AUTH))
    assert r.status_code == 412 and "https" in r.json["detail"]


class NotFhir(LocalServer):
    """200 with a web page, not a FHIR resource."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<html>router admin</html>")

        super().__init__(Handler)


def test_every_failure_gives_the_same_answer(app_for, fhir):
    """Refused, timed out, DNS, TLS, an error status, not FHIR: one message, so errors map no
    ports or hosts."""
    closed = free_port()
    with NotFhir() as page:
        targets = [
            f"http://127.0.0.1:{closed}/fhir/",  # refused
            f"https://127.0.0.1:{fhir.port}/fhir/",  # TLS to a plain-http server
            "https://no-such-host.invalid/fhir/",  # DNS
            f"http://127.0.0.1:{page.port}/fhir/",  # not FHIR
            fhir.url,  # 500, then a timeout
        ]
        client = app_for(targets, cds_fhir_timeout=0.5)
        answers = []
        for target in targets[:-1]:
            answers.append(post(client, PV, call(fhirServer=target, fhirAuthorization=AUTH)).json)
        fhir.status = 500
        answers.append(post(client, PV, call(fhirServer=fhir.url, fhirAuthorization=AUTH)).json)
        fhir.status, fhir.delay = 200, 2.0
        answers.append(post(client, PV, call(fhirServer=fhir.url, fhirAuthorization=AUTH)).json)
    assert [a["status"] for a in answers] == [412] * len(answers)
    assert {(a["parameter"], a["detail"]) for a in answers} == {("fhirServer", "the FHIR server could not be read")}


class Drip(LocalServer):
    """Answers 200 with a large Content-Length and then one byte every 0.1 s, for ever: a read
    never times out, only a deadline for the whole fetch ends it."""

    def __init__(self):
        self.stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                try:
                    while not outer.stop.wait(0.1):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                except OSError:
                    pass

        super().__init__(Handler)
        self.server.handle_error = lambda *args: None
        self.url = f"http://127.0.0.1:{self.port}/fhir/"

    def __exit__(self, *exc):
        self.stop.set()
        super().__exit__(*exc)


def _in_thread(fn):
    done: dict = {}
    thread = threading.Thread(target=lambda: done.setdefault("r", fn()), daemon=True)
    thread.start()
    return thread, done


def test_one_deadline_for_the_whole_prefetch_however_the_server_drips(app_for):
    with Drip() as drip:
        client = app_for([drip.url], cds_fhir_timeout=0.5)
        thread, done = _in_thread(lambda: post(client, PV, call(fhirServer=drip.url, fhirAuthorization=AUTH)))
        thread.join(30)  # generous: the deadline is 0.5 s; a per-read timeout would never end
        assert not thread.is_alive(), "the hook call outlived its deadline"
    assert done["r"].status_code == 412


class Tarpit:
    """Accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/fhir/"
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_when_every_fetch_slot_is_taken_the_call_is_503_at_once(app_for):
    with Tarpit() as tarpit:
        client = app_for([tarpit.url], cds_fhir_timeout=5.0, cds_fhir_concurrency=1)
        body = call(fhirServer=tarpit.url, fhirAuthorization=AUTH)
        thread, first = _in_thread(lambda: post(client, PV, body))
        wait_until(lambda: tarpit.held, what="the first call to hold the one slot")
        busy = post(client, PV, body)
        assert busy.status_code == 503 and busy.headers["Retry-After"]
        assert busy.json["parameter"] == "fhirServer"
        thread.join(30)
    assert first["r"].status_code == 412


def _jwks_app(tmp_path, jwks_url: str, **extra):
    settings = Settings(
        data_dir=str(tmp_path),
        version_check_interval=0.0,
        cds_issuers=ehr.issuers(jwks_url=jwks_url),
        cds_allow_http_loopback=True,
        **extra,
    )
    return create_app(settings)


def test_a_jwks_read_has_one_deadline_however_the_server_drips(tmp_path):
    """An issuer's JWKS URL that drips its body: the call is refused at the read's deadline (2 s),
    not after the 65 KB the size cap allows (at a byte a tenth of a second, hours)."""
    with Drip() as drip:
        app = _jwks_app(tmp_path, drip.url + "jwks.json")
        try:
            body = call(prefetch={"patient": {"resourceType": "Patient", "id": "p1"}, "conditions": bundle()})
            thread, done = _in_thread(lambda: post(app.test_client(), PV, body))
            thread.join(30)
            assert not thread.is_alive(), "the JWKS read outlived its deadline"
            assert done["r"].status_code == 401
        finally:
            app.extensions["infobutton"].close()


def test_jwks_reads_take_fetch_slots_not_request_threads(tmp_path):
    """A JWKS URL that never answers holds a fetch slot, not more: with the one slot taken the
    next caller is 503 at once, and the first is refused when its read's deadline passes."""
    with Tarpit() as tarpit:
        app = _jwks_app(tmp_path, tarpit.url + "jwks.json", threads=2)
        assert app.extensions["infobutton"].settings.fhir_fetch_slots == 1
        try:
            client = app.test_client()
            body = call(prefetch={"patient": {"resourceType": "Patient", "id": "p1"}, "conditions": bundle()})
            thread, first = _in_thread(lambda: post(client, PV, body))
            wait_until(lambda: tarpit.held, what="the first call to hold the one slot")
            started = time.monotonic()
            busy = post(client, PV, body)
            assert busy.status_code == 503 and busy.headers["Retry-After"] and time.monotonic() - started < 2
            thread.join(30)
            assert first["r"].status_code == 401
        finally:
            app.extensions["infobutton"].close()


@pytest.mark.gunicorn
def test_sixteen_callers_held_by_a_hanging_fhir_server_leave_health_and_answers_at_default_settings(tmp_path):
    """The outage, at default settings: 16 callers keep calling for 15 s with a fhirServer that
    never answers, against `infobutton serve` (one worker, its default threads). Every fetch slot
    hangs, yet every /healthz, /readyz and knowledge probe answers 200 within 2 s, and callers
    beyond the slots get 503 at once."""
    env = {
        "INFOBUTTON_CDS_ALLOW_UNAUTHENTICATED": "true",
        "INFOBUTTON_CDS_ALLOW_HTTP_LOOPBACK": "true",
    }
    defaults = Settings()
    knowledge = "/infobutton?" + urlencode(
        {
            "mainSearchCriteria.v.c": "J45.909",
            "mainSearchCriteria.v.cs": ICD10CM,
            "knowledgeResponseType": "application/json",
        }
    )
    calls: list[tuple[int | str, float]] = []
    probes: list[tuple[str, int | str, float]] = []
    with Tarpit() as tarpit:
        env["INFOBUTTON_CDS_FHIR_SERVERS"] = tarpit.url
        with Serving(
            tmp_path,
            env,
            workers=1,
            unset=("INFOBUTTON_CDS_FHIR_CONCURRENCY", "INFOBUTTON_CDS_FHIR_TIMEOUT", "INFOBUTTON_THREADS"),
        ) as server:
            body = call(fhirServer=tarpit.url, fhirAuthorization=AUTH)
            stop = time.monotonic() + 15

            def timed(method, url, **kwargs) -> tuple[int | str, float]:
                started = time.monotonic()
                try:
                    status: int | str = method(url, **kwargs).status_code
                except requests.RequestException as error:
                    status = type(error).__name__
                return status, time.monotonic() - started

            def caller():
                while time.monotonic() < stop:
                    calls.append(timed(requests.post, server.base + PV, json=body, timeout=60))
                    time.sleep(0.1)  # paced under the default rate limit: slots, not 429s, are tested

            callers = [threading.Thread(target=caller, daemon=True) for _ in range(16)]
            for thread in callers:
                thread.start()
            wait_until(lambda: len(tarpit.held) >= defaults.fhir_fetch_slots, what="the fetch slots to fill")
            while time.monotonic() < stop:
                for path in ("/healthz", "/readyz", knowledge):
                    probes.append((path, *timed(requests.get, server.base + path, timeout=2)))
                time.sleep(0.1)  # probes paced over the 15 s of the outage: a test about a duration
            for thread in callers:
                thread.join(90)
    late = [(path, status, round(took, 2)) for path, status, took in probes if status != 200 or took >= 2]
    assert len(probes) >= 30 and late == [], late
    assert {status for status, _ in calls} <= {412, 503}, calls
    busy = [took for status, took in calls if status == 503]
    assert busy and max(busy) < 2, "callers beyond the slots were queued, not refused at once"
    assert all(took < defaults.cds_fhir_timeout + 2 for status, took in calls if status == 412)
