"""CORS on the public knowledge surfaces, configurable, never on admin or CDS routes."""

import pytest

from infobutton import create_app

from ..conftest import icd

ORIGIN = "https://app.example.org"
PUBLIC = ["/infobutton", "/service", "/medlineplus/services/mpconnect_service.cfm", "/application"]
KINDS = ["text/xml", "application/json", "application/fhir+json", "text/html"]


@pytest.mark.parametrize("path", PUBLIC)
@pytest.mark.parametrize("kind", KINDS)
def test_any_origin_may_read_every_public_format_by_default(client, path, kind):
    r = client.get(path, query_string=icd("C91.00", knowledgeResponseType=kind), headers={"Origin": ORIGIN})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in r.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in r.headers


def test_errors_carry_cors_so_browser_apps_can_read_them(client):
    r = client.get(
        "/infobutton", query_string={"knowledgeResponseType": "application/json"}, headers={"Origin": ORIGIN}
    )
    assert r.status_code == 400 and r.headers["Access-Control-Allow-Origin"] == "*"


def test_no_origin_no_cors_headers(client):
    r = client.get("/infobutton", query_string=icd("C91.00"))
    assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize("path", PUBLIC)
def test_preflight(client, path):
    r = client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match, accept",
        },
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in r.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"if-none-match", "accept"} <= allowed
    assert int(r.headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize("path", ["/admin/api/mappings", "/admin/", "/openapi.json", "/healthz", "/"])
def test_never_on_admin_health_or_the_demo(client, path):
    r = client.get(path, headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in r.headers
    pre = client.options(path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in pre.headers


def test_cds_routes_keep_their_own_policy(settings):
    """This module adds nothing to /cds-services: whatever it sends is cds_hooks' own policy."""
    client = create_app(settings.replace(cors_origins="https://only.example.org")).test_client()
    r = client.options("/cds-services", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert r.headers.get("Access-Control-Allow-Origin") != ORIGIN


def test_a_list_of_origins(settings):
    client = create_app(settings.replace(cors_origins="https://ehr.example.org, http://localhost:3000")).test_client()
    ok = client.get("/infobutton", query_string=icd("C91.00"), headers={"Origin": "https://ehr.example.org"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    assert "Origin" in ok.headers["Vary"] and "Accept" in ok.headers["Vary"]
    other = client.get("/infobutton", query_string=icd("C91.00"), headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in other.headers and "Origin" in other.headers["Vary"]
    plain = client.get("/infobutton", query_string=icd("C91.00"))
    assert "Origin" in plain.headers["Vary"]  # a shared cache must not serve it to another origin


def test_off(settings):
    client = create_app(settings.replace(cors_origins="")).test_client()
    r = client.get("/infobutton", query_string=icd("C91.00"), headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in r.headers
