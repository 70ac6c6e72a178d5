"""Caches: bounded, TTL with an injected timer (no sleeping), invalidated by version counters."""

import pytest
from werkzeug.datastructures import MultiDict

from infobutton import bundled
from infobutton.knowledge import KnowledgeService
from infobutton.models import CodeSystem, MappingRule
from infobutton.request import parse
from infobutton.store import open_stores

from .conftest import Clock, icd


@pytest.fixture
def parts(tmp_path):
    db, topics, mappings = open_stores(f"sqlite:///{tmp_path}/k.sqlite3")
    bundled.seed(topics, mappings)
    yield db, topics, mappings
    db.close()


def service(parts, clock, **kw):
    db, topics, mappings = parts
    return KnowledgeService(db, topics, mappings, timer=clock, **kw)


def request(code):
    return parse(MultiDict(icd(code)).items(multi=True))


def test_response_cache_builds_once_per_ttl(parts):
    clock = Clock()
    svc = service(parts, clock, response_ttl=60)
    builds = []
    build = lambda: builds.append(1) or ("body",)  # noqa: E731
    assert svc.cached_response("k", build) == ("body",)
    svc.cached_response("k", build)
    assert len(builds) == 1
    clock.now += 61
    svc.cached_response("k", build)
    assert len(builds) == 2


def test_response_cache_is_bounded(parts):
    svc = service(parts, Clock(), response_size=2)
    for key in "abc":
        svc.cached_response(key, lambda k=key: (k,))
    assert len(svc._responses) == 2


def test_version_checks_are_rate_limited_then_invalidate(parts):
    db, topics, mappings = parts
    clock = Clock()
    svc = service(parts, clock, check_interval=0.2)
    svc.refresh_if_stale()
    assert [m.topic.id for m in svc.resolve(request("J45.909"))] == []
    svc.cached_response("k", lambda: ("old",))
    mappings.insert(MappingRule(CodeSystem.ICD10CM, "J45", "leukemia"))
    clock.now += 0.1
    svc.refresh_if_stale()  # within the interval: not checked yet
    assert svc.cached_response("k", lambda: ("new",)) == ("old",)
    clock.now += 0.2
    svc.refresh_if_stale()
    assert svc.cached_response("k", lambda: ("new",)) == ("new",)
    assert [m.topic.id for m in svc.resolve(request("J45.909"))] == ["leukemia"]


def test_topic_change_invalidates_topic_cache(parts):
    from dataclasses import replace

    db, topics, mappings = parts
    clock = Clock()
    svc = service(parts, clock, check_interval=0)
    svc.refresh_if_stale()
    assert svc.topic("leukemia").title == "Leukemia"
    topics.upsert([replace(topics.get("leukemia"), title="Leukaemia")])
    assert svc.topic("leukemia").title == "Leukemia"  # cached until the next check
    clock.now += 1
    svc.refresh_if_stale()
    assert svc.topic("leukemia").title == "Leukaemia"


def test_max_topics_is_configurable(parts):
    svc = service(parts, Clock(), max_topics=1)
    assert len(svc.resolve(request("C91.00"))) == 1


def test_change_before_the_first_check_is_noticed(parts):
    """Caches filled before the first per-request check must still be dropped on a later change."""
    db, topics, mappings = parts
    clock = Clock()
    svc = service(parts, clock, check_interval=0)
    assert svc.resolve(request("J45.909")) == []  # fills the rule index before any check
    mappings.insert(MappingRule(CodeSystem.ICD10CM, "J45", "leukemia"))
    clock.now += 1
    svc.refresh_if_stale()
    assert [m.topic.id for m in svc.resolve(request("J45.909"))] == ["leukemia"]
