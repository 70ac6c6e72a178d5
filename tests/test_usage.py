"""Usage counting for the gap report: per code and day only, buffered, flushed in one UPSERT."""

from __future__ import annotations

from datetime import date

from infobutton.request import parse
from infobutton.store.usage import SqlUsageStore
from infobutton.usage import UsageRecorder

from .conftest import Clock, icd


def recorder(services, **kwargs) -> UsageRecorder:
    return UsageRecorder(SqlUsageStore(services.db), services.knowledge, **kwargs)


def rows(services):
    return services.db.query("SELECT * FROM mapping_usage ORDER BY code")


def test_counts_are_buffered_and_flushed_every_n_answers(services):
    clock = Clock(0.0)
    usage = recorder(services, flush_every=3, flush_seconds=60, timer=clock)
    request = parse(icd("E11.9").items())
    usage.record(request, frozenset())
    usage.record(request, frozenset())
    assert rows(services) == []  # nothing written on the answer path yet
    usage.record(request, frozenset())
    assert [(r[2], r[3], r[4]) for r in rows(services)] == [("E11.9", 3, 3)]


def test_counts_are_flushed_after_some_seconds(services):
    clock = Clock(0.0)
    usage = recorder(services, flush_every=1000, flush_seconds=2, timer=clock)
    usage.record(parse(icd("E11.9").items()), frozenset())
    assert rows(services) == []
    clock.now = 2.5
    usage.record(parse(icd("E11.9").items()), frozenset())
    assert [(r[3], r[4]) for r in rows(services)] == [(2, 2)]


def test_only_code_and_day_are_stored(services):
    usage = recorder(services, flush_every=1, today=lambda: date(2026, 3, 4))
    request = parse(
        icd("E11.9", **{"age.v.v": "47", "age.v.u": "a", "patientPerson.administrativeGenderCode.c": "F"}).items()
    )
    usage.record(request, frozenset())
    assert rows(services) == [("2026-03-04", "ICD10CM", "E11.9", 1, 1)]
    columns = [r[1] for r in services.db.query("PRAGMA table_info(mapping_usage)")]
    assert columns == ["day", "code_system", "code", "requests", "unmatched"]


def test_each_criterion_counts_on_its_own(client, services):
    """A request with a mapped and an unmapped code: only the unmapped one is a gap."""
    usage = services.usage
    client.get(
        "/infobutton",
        query_string={
            "mainSearchCriteria.v.c": "C91.00",
            "mainSearchCriteria.v.cs": "2.16.840.1.113883.6.90",
            "mainSearchCriteria.v.c1": "E11.9",
            "mainSearchCriteria.v.cs1": "2.16.840.1.113883.6.90",
        },
    )
    usage.flush()
    assert [(r[2], r[4]) for r in rows(services)] == [("C91.00", 0), ("E11.9", 1)]


def test_a_rule_for_other_patients_leaves_a_gap(client, services):
    from infobutton.models import CodeSystem, MappingRule

    services.mappings.create(MappingRule(CodeSystem.ICD10CM, "E11.9", "leukemia", max_age=18), actor="t")
    services.knowledge.refresh_now()
    client.get("/infobutton", query_string=icd("E11.9", **{"age.v.v": "7"}))
    client.get("/infobutton", query_string=icd("E11.9", **{"age.v.v": "70"}))  # the rule is not for adults
    services.usage.flush()
    assert [(r[2], r[3], r[4]) for r in rows(services)] == [("E11.9", 2, 1)]


def test_a_topic_found_only_by_text_search_is_still_a_gap(client, services):
    """An invalid code answered by free-text search has no mapping: the librarians should see it."""
    r = client.get("/infobutton", query_string=icd("LEUKEMIA", knowledgeResponseType="application/json"))
    assert r.get_json()["feed"]["entry"]  # the search found something
    services.usage.flush()
    assert [(r[2], r[4]) for r in rows(services)] == [("LEUKEMIA", 1)]


def test_gap_report_over_http_via_the_on_answer_hook(client, services):
    assert services.usage.record in services.on_answer
    for _ in range(2):
        client.get("/infobutton", query_string=icd("E11.9"))  # second answer comes from the cache
    client.get("/infobutton", query_string=icd("J45.909"))
    client.get("/infobutton", query_string=icd("C91.00"))
    token = services.tokens.create("v", "viewer")
    body = client.get("/admin/api/gaps?days=1", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [(g["code"], g["unmatched"]) for g in body["items"]] == [("E11.9", 2), ("J45.909", 1)]
    assert body["items"][0]["display"].startswith("Type 2 diabetes")


def test_gap_report_window_and_codes_mapped_since(services):
    today = {"value": date(2026, 1, 1)}
    usage = recorder(services, flush_every=1, today=lambda: today["value"])
    usage.record(parse(icd("E11.9").items()), frozenset())
    today["value"] = date(2026, 1, 20)
    usage.record(parse(icd("J45.909").items()), frozenset())
    assert [g["code"] for g in usage.gaps(days=7)] == ["J45.909"]
    assert [g["code"] for g in usage.gaps(days=30)] == ["E11.9", "J45.909"]
    from infobutton.models import CodeSystem, MappingRule

    services.mappings.create(MappingRule(CodeSystem.ICD10CM, "J45", "leukemia"), actor="t")
    services.knowledge.refresh_now()
    assert [g["code"] for g in usage.gaps(days=30)] == ["E11.9"]
    assert [g["code"] for g in usage.gaps(days=30, include_mapped=True)] == ["E11.9", "J45.909"]


def test_a_failing_flush_never_breaks_answering(services, caplog):
    usage = recorder(services, flush_every=1)
    services.db.execute("DROP TABLE mapping_usage")
    usage.record(parse(icd("E11.9").items()), frozenset())  # logged, not raised
    assert "usage counts" in caplog.text and "E11.9" not in caplog.text
