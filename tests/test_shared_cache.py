"""The optional Redis response cache, against the real Redis on 127.0.0.1:6379."""

import uuid

import pytest

from infobutton import create_app
from infobutton.config import Settings
from infobutton.models import Code, CodeSystem, MappingRule, RenderedResponse
from infobutton.shared_cache import RedisResponseCache, decode, encode

from .conftest import Clock, icd


@pytest.fixture
def prefix(redis_url):
    import redis

    name = f"infobutton-test-{uuid.uuid4().hex[:8]}:"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(name + "*"):
        client.delete(key)


def test_encoding_round_trips():
    value = RenderedResponse(
        b"<feed/>\xff",
        "text/xml",
        '"abc"',
        frozenset({Code(CodeSystem.ICD10CM, "C91.00"), Code(CodeSystem.SNOMEDCT, "1")}),
        ("curated", "none"),
    )
    assert decode({k.encode(): v for k, v in encode(value).items()}) == value


@pytest.mark.redis
def test_put_get_keyed_by_versions(redis_url, prefix):
    cache = RedisResponseCache(redis_url, 60, prefix=prefix)
    value = RenderedResponse(b"body", "application/json", '"e"', frozenset())
    cache.put((1, 1), ("json", "k"), value)
    assert cache.get((1, 1), ("json", "k")) == value
    assert cache.get((2, 1), ("json", "k")) is None  # a mapping change means another key
    assert cache.get((1, 1), ("json", "other")) is None


@pytest.mark.redis
def test_a_second_instance_serves_what_the_first_built(redis_url, prefix, tmp_path):
    settings = Settings(data_dir=str(tmp_path), version_check_interval=0.0, redis_url=redis_url)
    one, two = create_app(settings), create_app(settings)
    for app in (one, two):
        app.extensions["infobutton"].knowledge.shared.prefix = prefix
    q = icd("C91.00", knowledgeResponseType="application/json")
    first = one.test_client().get("/infobutton", query_string=q)
    # the second instance would have to build it too; make building impossible to prove it did not
    two.extensions["infobutton"].knowledge.resolve = None
    second = two.test_client().get("/infobutton", query_string=q)
    assert second.status_code == 200 and second.data == first.data
    assert second.headers["ETag"] == first.headers["ETag"]
    for app in (one, two):
        app.extensions["infobutton"].close()


@pytest.mark.redis
def test_a_committed_change_is_not_hidden_by_the_shared_cache(redis_url, prefix, tmp_path):
    settings = Settings(data_dir=str(tmp_path), version_check_interval=0.0, redis_url=redis_url)
    app = create_app(settings)
    services = app.extensions["infobutton"]
    services.knowledge.shared.prefix = prefix
    client = app.test_client()
    q = icd("R69", knowledgeResponseType="application/json")  # Illness, unspecified: no topic answers it
    assert client.get("/infobutton", query_string=q).get_json()["feed"]["entry"] == []
    services.mappings.insert(MappingRule(CodeSystem.ICD10CM, "R69", "leukemia"))
    assert len(client.get("/infobutton", query_string=q).get_json()["feed"]["entry"]) == 1
    services.close()


def test_redis_down_never_breaks_an_answer(tmp_path, caplog):
    clock = Clock()
    cache = RedisResponseCache("redis://127.0.0.1:1/0", 60, timeout=0.05, retry_after=5, timer=clock)
    value = RenderedResponse(b"b", "text/xml", '"e"')
    assert cache.get((1, 1), "k") is None
    cache.put((1, 1), "k", value)  # skipped: marked down
    assert caplog.text.count("redis read failed") == 1
    clock.now += 6
    assert cache.get((1, 1), "k") is None  # tried again after retry_after
    assert caplog.text.count("redis read failed") == 2

    settings = Settings(data_dir=str(tmp_path), redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings)
    r = app.test_client().get("/infobutton", query_string=icd("C91.00"))
    assert r.status_code == 200 and b"Acute Lymphocytic Leukemia" in r.data
    app.extensions["infobutton"].close()
