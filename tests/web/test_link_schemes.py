"""Behind a TLS proxy (``INFOBUTTON_TRUSTED_PROXIES=1``, werkzeug's ProxyFix) http and https
callers of the same query each get links in their own scheme, in every format, whether the answer
was built for them, cached in the worker, or read from the cache instances share in Redis."""

from __future__ import annotations

import re
import uuid

import pytest

from infobutton import create_app
from infobutton.config import Settings

from ..conftest import icd

KINDS = ["text/xml", "application/json", "text/javascript", "application/fhir+json", "text/html"]
HOST = "infobutton.example.org"


def get(client, proto: str, kind: str, host: str = HOST, path: str = "/infobutton"):
    query = icd("C91.00", knowledgeResponseType=kind)
    headers = {"X-Forwarded-Proto": proto, "X-Forwarded-Host": host, "X-Forwarded-For": "192.0.2.10"}
    r = client.get(path, query_string=query, headers=headers)
    assert r.status_code == 200
    return r


def schemes(response, host: str = HOST) -> set[str]:
    """The schemes of every link to this service in the body (none would prove nothing)."""
    found = set(re.findall(rf"(https?)://{re.escape(host)}[/\"'<]", response.get_data(as_text=True)))
    assert found, "the answer has no link to the service"
    return found


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=str(tmp_path), version_check_interval=0.0, trusted_proxies=1)


@pytest.mark.parametrize("path", ["/infobutton", "/service"])
@pytest.mark.parametrize("kind", KINDS)
def test_http_and_https_callers_alternating_each_get_their_own_scheme(client, kind, path):
    etags: dict[str, set[str]] = {"http": set(), "https": set()}
    for proto in ("http", "https", "http", "https", "https", "http"):
        r = get(client, proto, kind, path=path)
        assert schemes(r) == {proto}
        etags[proto].add(r.headers["ETag"])
    # the same bytes, hence the same ETag, for each scheme's callers; never one for both
    assert len(etags["http"]) == len(etags["https"]) == 1 and etags["http"] != etags["https"]


def test_a_conditional_request_from_the_other_scheme_is_not_304(client):
    """An https client holding the http answer's ETag has stale links: it gets the new body."""
    http = get(client, "http", "application/fhir+json")
    query = icd("C91.00", knowledgeResponseType="application/fhir+json")
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": HOST, "If-None-Match": http.headers["ETag"]}
    r = client.get("/infobutton", query_string=query, headers=headers)
    assert r.status_code == 200 and r.get_json()["link"][0]["url"].startswith("https://")


@pytest.fixture
def redis_prefix(redis_url):
    import redis

    name = f"infobutton-test-{uuid.uuid4().hex[:8]}:"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(name + "*"):
        client.delete(key)


@pytest.mark.redis
@pytest.mark.parametrize("kind", ["application/fhir+json", "text/xml"])
def test_two_instances_sharing_redis_give_each_caller_its_own_scheme(settings, redis_prefix, redis_url, kind):
    shared = settings.replace(redis_url=redis_url)
    one, two = create_app(shared), create_app(shared)
    try:
        for app in (one, two):
            app.extensions["infobutton"].knowledge.shared.prefix = redis_prefix
        host = f"ib-{uuid.uuid4().hex[:8]}.example.org"  # no other run's answers
        assert schemes(get(one.test_client(), "http", kind, host), host) == {"http"}
        assert schemes(get(two.test_client(), "https", kind, host), host) == {"https"}
        # now neither can build: what each serves for the scheme it has not seen comes from Redis
        for app in (one, two):
            app.extensions["infobutton"].knowledge.resolve = None
        assert schemes(get(one.test_client(), "https", kind, host), host) == {"https"}
        assert schemes(get(two.test_client(), "http", kind, host), host) == {"http"}
    finally:
        for app in (one, two):
            app.extensions["infobutton"].close()
