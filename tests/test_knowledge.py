"""Caches: bounded, TTL with an injected timer (no sleeping), invalidated by version counters."""

import threading
from dataclasses import replace

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


def test_reads_check_the_versions_themselves_at_most_once_per_interval(parts):
    """No caller refreshes: resolve and cached_response notice a committed change once the
    interval has passed, and not before."""
    db, topics, mappings = parts
    clock = Clock()
    svc = service(parts, clock, check_interval=0.2)
    assert [m.topic.id for m in svc.resolve(request("J45.909"))] == []
    svc.cached_response("k", lambda: ("old",))
    mappings.insert(MappingRule(CodeSystem.ICD10CM, "J45", "leukemia"))
    clock.now += 0.1  # within the interval: not checked yet
    assert svc.cached_response("k", lambda: ("new",)) == ("old",)
    assert [m.topic.id for m in svc.resolve(request("J45.909"))] == []
    clock.now += 0.2
    assert svc.cached_response("k", lambda: ("new",)) == ("new",)
    assert [m.topic.id for m in svc.resolve(request("J45.909"))] == ["leukemia"]


class CountingDb:
    """The real database, counting version reads."""

    def __init__(self, db):
        self.db, self.version_reads = db, 0

    def query(self, sql, *args):
        self.version_reads += "FROM meta" in sql
        return self.db.query(sql, *args)


def test_many_reads_within_an_interval_cost_one_version_check(parts):
    db, topics, mappings = parts
    counting = CountingDb(db)
    clock = Clock()
    svc = KnowledgeService(counting, topics, mappings, timer=clock, check_interval=0.2)
    counting.version_reads = 0
    for _ in range(5):
        svc.resolve(request("C91.00"))
        svc.cached_response("k", lambda: ("body",))
    assert counting.version_reads == 0
    clock.now += 0.2
    for _ in range(5):
        svc.resolve(request("C91.00"))
        svc.cached_response("k", lambda: ("body",))
    assert counting.version_reads == 1


def test_topic_change_invalidates_topic_cache(parts):
    db, topics, mappings = parts
    clock = Clock()
    svc = service(parts, clock, check_interval=0.2)
    assert svc.topic("leukemia").title == "Leukemia"
    topics.upsert([replace(topics.get("leukemia"), title="Leukaemia")])
    assert svc.topic("leukemia").title == "Leukemia"  # cached until the next check
    clock.now += 1
    assert svc.topic("leukemia").title == "Leukaemia"


def test_max_topics_is_configurable(parts):
    svc = service(parts, Clock(), max_topics=1)
    assert len(svc.resolve(request("C91.00"))) == 1


def test_change_before_the_first_check_is_noticed(parts):
    """Caches filled before the first check must still be dropped on a later change."""
    db, topics, mappings = parts
    clock = Clock()
    svc = service(parts, clock, check_interval=0.2)
    assert svc.resolve(request("J45.909")) == []  # fills the rule index before any check
    mappings.insert(MappingRule(CodeSystem.ICD10CM, "J45", "leukemia"))
    clock.now += 1
    assert [m.topic.id for m in svc.resolve(request("J45.909"))] == ["leukemia"]


# -- a change noticed while a read is under way ---------------------------------------------------


def noticed_by_another_thread(svc, change):
    """Commit ``change`` and have another thread notice it (refresh_now), before returning."""
    change()
    worker = threading.Thread(target=svc.refresh_now)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()


def test_a_response_built_across_a_change_is_never_served_after_it(parts):
    """The build read the old rules; the change is noticed and the cache cleared before the
    build is stored. The stored response belongs to the old versions and is not served."""
    db, topics, mappings = parts
    clock = Clock()
    svc = service(parts, clock, check_interval=3600)

    def build():
        answer = tuple(m.topic.id for m in svc.resolve(request("J45.909")))
        noticed_by_another_thread(svc, lambda: mappings.insert(MappingRule(CodeSystem.ICD10CM, "J45", "leukemia")))
        return answer

    assert svc.cached_response("k", build) == ()  # this caller gets what was built
    again = lambda: tuple(m.topic.id for m in svc.resolve(request("J45.909")))  # noqa: E731
    assert svc.cached_response("k", again) == ("leukemia",)  # every later one the change


class TopicsWithAHook:
    """The real topic store; ``during_get`` runs once inside the next get, after its read."""

    def __init__(self, topics):
        self.real, self.during_get = topics, None

    def get(self, topic_id):
        topic = self.real.get(topic_id)
        hook, self.during_get = self.during_get, None
        if hook is not None:
            hook()
        return topic

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_a_topic_read_across_a_change_is_not_cached(parts):
    db, topics, mappings = parts
    hooked = TopicsWithAHook(topics)
    svc = KnowledgeService(db, hooked, mappings, timer=Clock(), check_interval=3600)
    changed = replace(topics.get("leukemia"), title="Leukaemia")
    hooked.during_get = lambda: noticed_by_another_thread(svc, lambda: topics.upsert([changed]))
    assert svc.topic("leukemia").title == "Leukemia"  # read before the change
    assert svc.topic("leukemia").title == "Leukaemia"


def test_concept_matches_read_across_a_change_are_not_cached(parts):
    db, topics, mappings = parts
    svc = service(parts, Clock(), check_interval=3600)
    renamed = replace(topics.get("leukemia"), title="Blood cancer")
    index = svc.concept_index()
    match = index.match

    def match_then_change(text):
        found = match(text)
        noticed_by_another_thread(svc, lambda: topics.upsert([renamed]))
        return found

    index.match = match_then_change  # this index object only; a change builds a new one
    assert [m.topic_id for m in svc.concepts("chronic leukemia")] == ["leukemia"]  # matched before
    assert [m.topic_id for m in svc.concepts("chronic leukemia")] == []


def test_response_cache_drops_the_oldest_when_full_and_the_expired_when_writing(parts):
    clock = Clock()
    svc = service(parts, clock, response_size=2, response_ttl=60)
    svc.cached_response("a", lambda: ("a",))
    clock.now += 30
    svc.cached_response("b", lambda: ("b",))
    svc.cached_response("c", lambda: ("c",))  # full: "a", the oldest, goes
    assert svc.cached_response("a", lambda: ("a again",)) == ("a again",)
    assert svc.cached_response("c", lambda: ("c again",)) == ("c",)
    clock.now += 61  # everything expired: a write drops it all
    svc.cached_response("d", lambda: ("d",))
    assert len(svc._responses) == 1


class _SlowReads:
    """A store whose reads wait until the test lets them go (a slow query)."""

    def __init__(self, store, method: str):
        self._store, self._method = store, method
        self.reading, self.release = threading.Event(), threading.Event()

    def __getattr__(self, name):
        found = getattr(self._store, name)
        if name != self._method:
            return found

        def slow(*args, **kwargs):
            self.reading.set()
            assert self.release.wait(60)
            return found(*args, **kwargs)

        return slow


@pytest.mark.parametrize("index", ["rules", "concept_index"])
def test_a_slow_index_read_holds_up_no_other_read(parts, index):
    """While one thread reads the rules (or the topics for the concept index) from a slow
    database, the worker's other reads and cache writes go on: no I/O under the knowledge lock."""
    db, topics, mappings = parts
    if index == "rules":
        mappings = slow = _SlowReads(mappings, "rules")
    else:
        topics = slow = _SlowReads(topics, "all")
    svc = KnowledgeService(db, topics, mappings, timer=Clock())
    reader = threading.Thread(target=getattr(svc, index))
    reader.start()
    try:
        assert slow.reading.wait(60)
        done = threading.Event()

        def others():
            svc.cached_response("other", lambda: ("body",))  # a cache miss: built and stored
            svc.topic("leukemia")
            if index == "rules":
                svc.concept_index()
            else:
                svc.rules()
            done.set()

        threading.Thread(target=others, daemon=True).start()
        assert done.wait(30), f"other reads waited for the slow {index} read"
    finally:
        slow.release.set()
        reader.join(60)
    assert getattr(svc, index)() is getattr(svc, index)()  # built once, then kept
