"""No input to a public endpoint gives a 5xx.

- hypothesis on the request parser: any query string or form body gives a KnowledgeRequest or
  the domain's InvalidRequest, never another exception;
- hypothesis on the public HTTP surface through the Flask test client: any query string or form
  body, in every format (Atom, JSON, JSONP, FHIR, HTML), is answered 200, 304 or 4xx;
- schemathesis on the public operations of /openapi.json, through the WSGI app;
- the hostile inputs the adversarial run found, each a 4xx that names what was wrong: deep JSON,
  lone surrogates, NUL bytes (PostgreSQL too), a malformed chunked body (over a socket to a real
  ``infobutton serve``), CRLF in the sign-in ``next``, huge ids, a CSV with bare CR line endings.

Seeds are fixed (``derandomize``), so a failure reproduces; ``bench/fuzz.py`` runs longer.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from infobutton import create_app
from infobutton.answering import parse_query
from infobutton.config import Settings
from infobutton.mappings.openapi import PUBLIC_PATHS, document
from infobutton.models import InvalidRequest, KnowledgeRequest
from infobutton.request import parse

from .conftest import ICD10CM, SNOMEDCT, icd
from .test_cli import free_port, serve_command, wait_ready

pytestmark = pytest.mark.slow

FUZZ = settings(
    derandomize=True,  # a fixed seed per test: a failure reproduces
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NAMES = [
    "mainSearchCriteria.v.c",
    "mainSearchCriteria.v.cs",
    "mainSearchCriteria.v.dn",
    "mainSearchCriteria.v.ot",
    "mainSearchCriteria.v.c1",
    "mainSearchCriteria.v.cs1",
    "mainSearchCriteria.c.c",
    "mainSearchCriteria.v.c999",
    "subTopic.v.c",
    "informationRecipient",
    "informationRecipient.languageCode.c",
    "performer",
    "performer.languageCode.c",
    "patientPerson.administrativeGenderCode.c",
    "age.v.v",
    "age.v.u",
    "ageGroup.v.c",
    "taskContext.c.c",
    "encounter.c.c",
    "knowledgeResponseType",
    "callback",
]
FORMATS = [
    "text/xml",
    "application/atom+xml",
    "application/json",
    "text/javascript",
    "application/fhir+json",
    "text/html",
    "application/xml",
    "bogus/type",
]
VALUES = [
    "C91.00",
    "c9100",
    "E11.9",
    "44054006",
    ICD10CM,
    SNOMEDCT,
    "ICD-10-CM",
    "http://snomed.info/sct",
    "PAT",
    "PROV",
    "en",
    "es-US",
    "F",
    "M",
    "45",
    "-1",
    "1e308",
    "nan",
    "inf",
    "mo",
    "D007231",
    "handleResponse",
    "a.b",
    "",
    " ",
    "\x00",
    "\ud800",
    "\udfff",
    "\r\n",
    "<script>",
    "x" * 600,
    "%",
    "%zz",
    "&",
    "=",
]
surrogate_text = st.text(st.characters(codec=None, categories=None), max_size=40)  # surrogates included
value = st.one_of(st.sampled_from(VALUES), surrogate_text, st.sampled_from(FORMATS))
name = st.one_of(st.sampled_from(NAMES), st.text(max_size=30))
pairs = st.lists(st.tuples(name, value), max_size=12)


def _encode(text: str) -> str:
    """Percent-encode as a client would, lone surrogates as the bytes a sloppy client sends."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def query_string(items: list[tuple[str, str]]) -> str:
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in items)


GOOD = [
    "",
    f"mainSearchCriteria.v.c=C91.00&mainSearchCriteria.v.cs={ICD10CM}&",
    f"mainSearchCriteria.v.c=44054006&mainSearchCriteria.v.cs={SNOMEDCT}&callback=cb&",
    "mainSearchCriteria.v.ot=asthma&",
]
raw_query = st.tuples(
    st.sampled_from(GOOD),  # a good request with hostile additions, or hostile alone
    st.one_of(
        pairs.map(query_string),
        st.binary(max_size=300).map(lambda b: quote(b, safe="=&")),
        st.text(max_size=200),
    ),
).map("".join)


# -- the parser --------------------------------------------------------------------------------


@FUZZ
@given(items=pairs)
def test_any_parameters_parse_or_are_the_domain_error(items):
    try:
        result = parse(items)
    except InvalidRequest as exc:
        assert exc.parameter and exc.message and 400 <= exc.status < 500
    else:
        assert isinstance(result, KnowledgeRequest) and result.criteria


@FUZZ
@given(query=raw_query)
def test_any_query_string_parses_or_is_the_domain_error(query):
    try:
        parse_query(query.encode("utf-8", "surrogatepass"))
    except InvalidRequest as exc:
        assert exc.parameter and 400 <= exc.status < 500


# -- the HTTP surface --------------------------------------------------------------------------


# CDS Hooks bodies are fuzzed past authentication (development mode): what reaches the body
# checks must never be a 500. Authentication itself is tested in tests/cds/test_auth.py.
CDS_DEV = {"cds_allow_unauthenticated": True}


@pytest.fixture(name="settings")
def cds_dev_settings(settings):  # not named settings: that is hypothesis' own name here
    return settings.replace(**CDS_DEV)


@pytest.fixture(scope="module")
def public_app(tmp_path_factory):
    app = create_app(Settings(data_dir=str(tmp_path_factory.mktemp("fuzz")), version_check_interval=0.0, **CDS_DEV))
    app.config["TESTING"] = True
    yield app
    app.extensions["infobutton"].close()


@FUZZ
@given(path=st.sampled_from(["/infobutton", "/service", "/application"]), fmt=st.sampled_from(FORMATS), query=raw_query)
def test_any_query_string_on_a_public_path_is_answered_below_500(public_app, path, fmt, query):
    client = public_app.test_client()
    response = client.get(f"{path}?{query}&knowledgeResponseType={quote(fmt)}")
    assert response.status_code in (200, 304) or 400 <= response.status_code < 500, response.data[:300]
    if response.status_code >= 400:
        assert response.data  # a problem body, in the format asked for


@FUZZ
@given(path=st.sampled_from(["/infobutton", "/service", "/application"]), items=pairs, accept=st.sampled_from(FORMATS))
def test_any_form_body_on_a_public_path_is_answered_below_500(public_app, path, items, accept):
    client = public_app.test_client()
    response = client.post(
        path,
        data=query_string(items),
        content_type="application/x-www-form-urlencoded",
        headers={"Accept": accept},
    )
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.data[:300]


def test_every_format_answers_a_good_request(public_app):
    """The fuzz above would pass on a service that refuses everything: the same surface answers."""
    client = public_app.test_client()
    # its own client address: the fuzz before it may have spent 127.0.0.1's per-minute budget
    environ = {"REMOTE_ADDR": "192.0.2.77"}
    for fmt in FORMATS[:6]:
        extra = {"callback": "cb"} if fmt == "text/javascript" else {}
        query = icd("C91.00", knowledgeResponseType=fmt, **extra)
        r = client.get("/infobutton", query_string=query, environ_base=environ)
        assert r.status_code == 200, (fmt, r.data[:200])


# -- schemathesis on the documented public surface ----------------------------------------------

SCHEMA = schemathesis.openapi.from_dict(document())
PUBLIC_OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations() if result.ok().path in PUBLIC_PATHS]
# (operation, mode): negative cases only where there is something to get wrong
CASES = [
    (operation, mode)
    for operation in PUBLIC_OPERATIONS
    for mode in ("positive", "negative")
    if mode == "positive" or operation.definition.raw.get("parameters") or operation.definition.raw.get("requestBody")
]


@pytest.mark.parametrize(("operation", "mode"), CASES, ids=[f"{mode}-{op.label}" for op, mode in CASES])
def test_schemathesis_finds_no_server_error_on_the_public_operations(public_app, operation, mode):
    strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))

    @settings(FUZZ, max_examples=60)
    @given(case=strategy)
    def run(case):
        response = case.call(app=public_app)
        case.validate_response(response, checks=[not_a_server_error])

    run()


# -- the hostile inputs of the adversarial run (#12 item 7), each a 4xx naming what was wrong ---

PATIENT_VIEW = "/cds-services/infobutton-patient-view"


def _hook_call(condition_text: str = "leukemia", display: str = "Acute lymphoblastic leukemia") -> dict:
    condition = {
        "resourceType": "Condition",
        "code": {
            "text": condition_text,
            "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C91.00", "display": display}],
        },
    }
    return {
        "hook": "patient-view",
        "hookInstance": "d1b6b2a5-9d1b-4b3e-8f9c-1a2b3c4d5e6f",
        "context": {"userId": "Practitioner/1", "patientId": "1"},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "1", "gender": "female", "birthDate": "1980-01-01"},
            "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": condition}]},
        },
    }


def _problem(response, status: int = 400) -> dict:
    assert response.status_code == status, response.data[:300]
    return response.get_json()


@pytest.mark.parametrize("path", [PATIENT_VIEW, PATIENT_VIEW + "/feedback"])
def test_json_nested_past_the_parser_is_400_naming_the_body(client, path):
    # 20,000 levels: far past the parser's recursion limit, and under the 64 KiB feedback cap
    deep = b'{"hook":"patient-view","context":' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    body = _problem(client.post(path, data=deep, content_type="application/json"))
    assert body["parameter"] == "body" and "nested" in body["detail"]


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (_hook_call(condition_text="\ud800 leukemia"), "prefetch.conditions.entry[0].resource.code.text"),
        (_hook_call(display="x\udfff"), "prefetch.conditions.entry[0].resource.code.coding[0].display"),
        (_hook_call(condition_text="leu\x00kemia"), "prefetch.conditions.entry[0].resource.code.text"),
    ],
)
def test_a_lone_surrogate_or_nul_in_a_hook_call_is_400_naming_the_field(client, call, where):
    # json.dumps writes the surrogate as the escape \ud800: valid JSON text, not valid Unicode
    body = _problem(client.post(PATIENT_VIEW, data=json.dumps(call), content_type="application/json"))
    assert body["parameter"] == where and "Unicode" in body["detail"]


def test_the_same_hook_call_without_them_is_answered(client):
    r = client.post(PATIENT_VIEW, data=json.dumps(_hook_call()), content_type="application/json")
    assert r.status_code in (200, 401), r.data[:300]  # 401 once callers must sign their calls


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("mainSearchCriteria.v.ot=a%00b", "mainSearchCriteria.v.ot"),
        ("mainSearchCriteria.v.dn=%00", "mainSearchCriteria.v.dn"),
        (f"mainSearchCriteria.v.c=C91.00%00&mainSearchCriteria.v.cs={ICD10CM}", "mainSearchCriteria.v.c"),
        ("=%01&mainSearchCriteria.v.ot=asthma", "(a parameter with no name)"),
    ],
)
def test_control_characters_in_a_query_value_are_400_naming_the_parameter(client, query, parameter):
    body = _problem(client.get(f"/infobutton?{query}&knowledgeResponseType=application/json"))
    assert body["parameter"] == parameter and "control characters" in body["detail"]


@pytest.mark.parametrize("path", ["/infobutton", "/service", "/application"])
def test_a_lone_surrogate_in_a_query_value_is_answered_not_a_500(client, path):
    """Percent-encoded surrogate halves are not UTF-8: decoded with replacement, then answered."""
    r = client.get(f"{path}?mainSearchCriteria.v.dn=%ED%A0%80&mainSearchCriteria.v.ot=%ED%BF%BFasthma")
    assert r.status_code == 200


def test_feedback_with_nul_is_400_naming_the_field(client):
    feedback = {
        "feedback": [
            {
                "card": "3f1c2b4a-0000-4000-8000-000000000000",
                "outcome": "overridden",
                "outcomeTimestamp": "2024-05-09T10:00:00Z",
                "overrideReason": {"reason": {"system": "http://example.org", "code": "a\x00b"}},
            }
        ]
    }
    r = client.post(PATIENT_VIEW + "/feedback", data=json.dumps(feedback), content_type="application/json")
    assert _problem(r)["parameter"] == "feedback[0].overrideReason.reason.code"


@pytest.mark.postgres
def test_nul_and_surrogates_on_postgresql_are_4xx(tmp_path, postgres_url):
    app = create_app(Settings(data_dir=str(tmp_path), database_url=postgres_url, version_check_interval=0.0, **CDS_DEV))
    try:
        client = app.test_client()
        test_feedback_with_nul_is_400_naming_the_field(client)
        test_control_characters_in_a_query_value_are_400_naming_the_parameter(
            client, "mainSearchCriteria.v.ot=a%00b", "mainSearchCriteria.v.ot"
        )
        r = client.post(PATIENT_VIEW, data=json.dumps(_hook_call("\x00")), content_type="application/json")
        assert r.status_code == 400
    finally:
        app.extensions["infobutton"].close()


def _csrf(client, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_crlf_in_the_sign_in_next_never_reaches_a_header(client, services):
    token = services.tokens.create("crlf", "viewer")
    r = client.post(
        "/admin/signin",
        data={"token": token, "next": "/admin/\r\nSet-Cookie: stolen=1", "csrf": _csrf(client, "/admin/signin")},
    )
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/admin/") and "stolen" not in str(r.headers)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/api/mappings/99999999999999999999999",
        "/admin/api/versions/18446744073709551616",
        "/admin/api/versions/99999999999999999999/restore",
        "/cds-services/" + "x" * 5000,
    ],
)
def test_huge_ids_are_404(client, services, path):
    headers = {"Authorization": f"Bearer {services.tokens.create('huge', 'admin')}"}
    assert client.get(path, headers=headers).status_code in (404, 405)
    assert client.post(path, headers=headers, json={}).status_code in (400, 401, 403, 404, 405, 428)


@pytest.mark.parametrize(
    "csv_text",
    [
        "code_system,code,topic_id\rICD-10-CM,C91,leukemia\r",
        "code_system,code,topic_id\r\nICD-10-CM,C91,leukemia\rICD-10-CM,C92,leukemia\r\n",
    ],
)
def test_a_csv_with_bare_cr_line_endings_is_read_as_lines(client, services, csv_text):
    headers = {"Authorization": f"Bearer {services.tokens.create('csv', 'editor')}"}
    r = client.post("/admin/api/mappings/import?dry_run=true", data=csv_text, content_type="text/csv", headers=headers)
    assert r.status_code == 200, r.data[:300]
    body = r.get_json()
    codes = {m["after"]["code"] for m in body["changed"]} | {m["code"] for m in body["added"]}
    assert "C91" in codes


# -- a malformed chunked body, sent raw to a real `infobutton serve` -----------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {**os.environ, "INFOBUTTON_DATA_DIR": str(data), "INFOBUTTON_CDS_ALLOW_UNAUTHENTICATED": "true"}
    env.pop("INFOBUTTON_DATABASE_URL", None)
    log = open(data / "server.log", "w+")  # noqa: SIM115 - the server writes to it for the module
    proc = subprocess.Popen(
        serve_command(port, 1),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
        yield port, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.gunicorn
@pytest.mark.parametrize(
    "body",
    [b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabcdef\r\n0\r\n\r\n", b"-1\r\n\r\n"],
    ids=["size-not-hex", "chunk-longer-than-said", "negative-size"],
)
@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/infobutton", "application/x-www-form-urlencoded"),
        (PATIENT_VIEW, "application/json"),
        (PATIENT_VIEW + "/feedback", "application/json"),
    ],
)
def test_a_malformed_chunked_body_is_400_naming_the_body(served, path, content_type, body):
    port, log = served
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        "Accept: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    response = _raw(port, head.encode() + body)
    status_line, _, rest = response.partition(b"\r\n")
    assert status_line.split()[1] == b"400", response[:500]
    assert b"body" in rest.partition(b"\r\n\r\n")[2]
    log.seek(0)
    assert "Traceback" not in log.read()
