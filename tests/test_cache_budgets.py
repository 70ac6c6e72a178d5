"""Every per-worker cache that holds request- or response-sized values is bounded in bytes: the
answer cache (INFOBUTTON_CACHE_BYTES; an answer over 1/64 of it is not kept), the concept
matches of request texts, the usage counter's remembered requests, the parsed query strings and
the upstream answers. Counted with ``footprint``; a real worker's RSS under large POSTs is in
tests/test_worker_memory.py and bench/large_posts.py."""

from __future__ import annotations

import random

import pytest

from infobutton import knowledge as knowledge_module
from infobutton import usage as usage_module
from infobutton.answering import query as answer_query
from infobutton.config import ConfigError, Settings
from infobutton.footprint import footprint
from infobutton.knowledge import ResponseCache
from infobutton.models import RenderedResponse
from infobutton.request import parse

from .conftest import ICD10CM, Clock

MIB = 1024 * 1024


def answer(size: int, n: int) -> RenderedResponse:
    return RenderedResponse(body=b"x" * size, content_type="application/json", etag=f'"{n}"')


def test_the_answer_cache_holds_at_most_its_byte_budget():
    cache = ResponseCache(maxsize=100_000, ttl=300, timer=Clock(), max_bytes=8 * MIB)
    for n in range(500):
        assert cache.put(("key", n), answer(100_000, n))
    assert cache.bytes <= 8 * MIB and 70 <= len(cache) <= 84
    assert cache.bytes == sum(footprint(k) + footprint(cache.get(k)) for k in cache.entries)
    assert cache.get(("key", 499)) is not None and cache.get(("key", 0)) is None  # the oldest went


def test_an_answer_over_a_sixty_fourth_of_the_budget_is_not_cached():
    cache = ResponseCache(maxsize=100, ttl=300, timer=Clock(), max_bytes=8 * MIB)
    cache.put("small", answer(1000, 1))
    assert not cache.put("huge", answer(8 * MIB // 64, 2))
    assert cache.get("huge") is None and cache.get("small") is not None and len(cache) == 1


def test_the_entry_limit_and_the_ttl_still_hold():
    clock = Clock()
    cache = ResponseCache(maxsize=2, ttl=10, timer=clock, max_bytes=8 * MIB)
    for key in "abc":
        cache.put(key, answer(10, 0))
    assert len(cache) == 2
    clock.now += 11
    cache.put("d", answer(10, 0))
    assert len(cache) == 1 and cache.bytes == footprint("d") + footprint(answer(10, 0))
    cache.clear()
    assert cache.bytes == 0


def test_the_budget_is_a_setting_of_at_least_a_mebibyte():
    assert Settings().cache_bytes == 16 * MIB
    assert Settings.from_env({"INFOBUTTON_CACHE_BYTES": "4194304"}).cache_bytes == 4 * MIB
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"INFOBUTTON_CACHE_BYTES": "1000"})
    assert error.value.variable == "INFOBUTTON_CACHE_BYTES"


def large_form(rng: random.Random, criteria: int = 20) -> dict[str, str]:
    """A knowledge POST as large as the parser allows: codes with 512-character texts."""
    words = ["édème", "fièvre", "anémie", "chronic", "acute", "pain", "asthma"]

    def text() -> str:
        return " ".join(rng.choice(words) + str(rng.randrange(1000)) for _ in range(80))[:512]

    form = {"knowledgeResponseType": "application/json"}
    for i in range(criteria):
        suffix = str(i) if i else ""
        form |= {
            f"mainSearchCriteria.v.c{suffix}": rng.choice(["C91.00", "E11.9", "J45.909", "I10", "F32.9"]),
            f"mainSearchCriteria.v.cs{suffix}": ICD10CM,
            f"mainSearchCriteria.v.dn{suffix}": text(),
            f"mainSearchCriteria.v.ot{suffix}": text(),
        }
    return form


def test_large_posts_leave_the_caches_within_their_budgets(tmp_path, monkeypatch):
    """Distinct large POSTs through the app with a small answer budget (and the fixed budgets
    made small): every answer is served, no cache holds more than its budget, and an answer over
    a sixty-fourth of the budget is served without being kept."""
    from infobutton import create_app

    monkeypatch.setattr(knowledge_module, "CONCEPT_MATCH_BYTES", MIB)
    monkeypatch.setattr(usage_module, "REQUESTS_KEPT_BYTES", MIB)
    budget = 3 * MIB  # entries up to 48 KB: a 10-criterion answer and its key (~43 KB) fit
    app = create_app(Settings(data_dir=str(tmp_path), cache_bytes=budget, rate_limit="off"))
    try:
        client, services = app.test_client(), app.extensions["infobutton"]
        cache = services.knowledge._responses
        rng = random.Random(5)
        for _ in range(100):
            assert client.post("/infobutton", data=large_form(rng, criteria=10)).status_code == 200
        assert 40 <= len(cache) < 100 and cache.bytes <= budget  # kept while they fit, the oldest dropped
        assert services.knowledge._concept_matches.currsize <= MIB
        assert services.usage._counted_bytes <= MIB
        kept = len(cache)
        huge = client.post("/infobutton", data=large_form(rng, criteria=20))  # ~80 KB with its key
        assert huge.status_code == 200 and len(huge.data) > 20_000
        assert len(cache) == kept and cache.bytes <= budget
    finally:
        app.extensions["infobutton"].close()


def test_long_query_strings_are_parsed_every_time_not_kept():
    answer_query._parse_query_kept.cache_clear()
    short = f"mainSearchCriteria.v.c=C91.00&mainSearchCriteria.v.cs={ICD10CM}".encode()
    long = short + b"&mainSearchCriteria.v.dn=" + b"x" * 500 + b"&mainSearchCriteria.v.ot=" + b"y" * 500
    long += b"&mainSearchCriteria.v.dn1=" + b"z" * 500 + b"&mainSearchCriteria.v.ot1=" + b"w" * 500
    assert len(long) > answer_query.PARSED_QUERY_BYTES
    for _ in range(3):
        answer_query.parse_query(short)
        answer_query.parse_query(long)
    info = answer_query._parse_query_kept.cache_info()
    assert (info.hits, info.currsize) == (2, 1)
    assert answer_query.parse_query(long) == parse(
        [("mainSearchCriteria.v.c", "C91.00"), ("mainSearchCriteria.v.cs", ICD10CM)]
        + [("mainSearchCriteria.v.dn", "x" * 500), ("mainSearchCriteria.v.ot", "y" * 500)]
        + [("mainSearchCriteria.v.dn1", "z" * 500), ("mainSearchCriteria.v.ot1", "w" * 500)]
    )
