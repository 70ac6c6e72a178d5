"""Usage counting for the gap report: per code and day only, buffered, flushed in one UPSERT;
valid codes only, a bounded share per client and minute, old days deleted."""

from __future__ import annotations

from datetime import date

from infobutton import create_app, terminology
from infobutton.config import Settings
from infobutton.models import Code, CodeSystem
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
            "mainSearchCriteria.v.c1": "R69",
            "mainSearchCriteria.v.cs1": "2.16.840.1.113883.6.90",
        },
    )
    usage.flush()
    assert [(r[2], r[4]) for r in rows(services)] == [("C91.00", 0), ("R69", 1)]


def test_a_rule_for_other_patients_leaves_a_gap(client, services):
    from infobutton.models import CodeSystem, MappingRule

    services.mappings.create(MappingRule(CodeSystem.ICD10CM, "R69", "leukemia", max_age=18), actor="t")
    services.knowledge.refresh_now()
    client.get("/infobutton", query_string=icd("R69", **{"age.v.v": "7"}))
    client.get("/infobutton", query_string=icd("R69", **{"age.v.v": "70"}))  # the rule is not for adults
    services.usage.flush()
    assert [(r[2], r[3], r[4]) for r in rows(services)] == [("R69", 2, 1)]


def test_an_invalid_code_answered_by_text_search_is_not_counted(client, services):
    """Issue 12: only valid codes are counted (made-up ones would flood the gap report), even
    when free-text search answered the request."""
    r = client.get("/infobutton", query_string=icd("LEUKEMIA", knowledgeResponseType="application/json"))
    assert r.get_json()["feed"]["entry"]  # the search found something
    services.usage.flush()
    assert rows(services) == []


def test_gap_report_over_http_via_the_on_answer_hook(client, services):
    assert services.usage.record in services.on_answer
    for _ in range(2):
        client.get("/infobutton", query_string=icd("R69"))  # second answer comes from the cache
    client.get("/infobutton", query_string=icd("R99"))
    client.get("/infobutton", query_string=icd("C91.00"))
    token = services.tokens.create("v", "viewer")
    body = client.get("/admin/api/gaps?days=1", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [(g["code"], g["unmatched"]) for g in body["items"]] == [("R69", 2), ("R99", 1)]
    assert body["items"][0]["display"].startswith("Illness, unspecified")


def test_gap_report_window_and_codes_mapped_since(services):
    today = {"value": date(2026, 1, 1)}
    usage = recorder(services, flush_every=1, today=lambda: today["value"])
    usage.record(parse(icd("R69").items()), frozenset())
    today["value"] = date(2026, 1, 20)
    usage.record(parse(icd("R99").items()), frozenset())
    assert [g["code"] for g in usage.gaps(days=7)] == ["R99"]
    assert [g["code"] for g in usage.gaps(days=30)] == ["R69", "R99"]
    from infobutton.models import CodeSystem, MappingRule

    services.mappings.create(MappingRule(CodeSystem.ICD10CM, "R99", "leukemia"), actor="t")
    services.knowledge.refresh_now()
    assert [g["code"] for g in usage.gaps(days=30)] == ["R69"]
    assert [g["code"] for g in usage.gaps(days=30, include_mapped=True)] == ["R69", "R99"]


def test_a_failing_flush_never_breaks_answering(services, caplog):
    usage = recorder(services, flush_every=1)
    services.db.execute("DROP TABLE mapping_usage")
    usage.record(parse(icd("E11.9").items()), frozenset())  # logged, not raised
    assert "usage counts" in caplog.text and "E11.9" not in caplog.text


def made_up_icd10cm(n: int) -> str:
    """An ICD-10-CM-shaped code that does not exist (Z99.Q… has no such codes)."""
    return f"Z99.{n:04d}"


def test_made_up_codes_are_never_stored(services):
    """The flood of #12: 20,000 made-up codes leave no row at all."""
    usage = recorder(services, flush_every=1000)
    for n in range(20_000):
        usage.record(parse(icd(made_up_icd10cm(n)).items()), frozenset())
    usage.flush()
    assert rows(services) == []


def test_one_client_adds_a_bounded_number_of_codes_a_minute(services):
    """Valid codes from one client: at most ``codes_per_minute`` distinct codes a minute; other
    clients keep their own share, and a counted code keeps counting."""
    clock = Clock(0.0)
    who = {"client": "203.0.113.7"}
    usage = recorder(services, flush_every=10_000, timer=clock, codes_per_minute=25, client=lambda: who["client"])
    candidates = [f"{letter}{n:02d}" for letter in "ABCDE" for n in range(10)]
    valid = [c for c in candidates if terminology.is_valid(Code(CodeSystem.ICD10CM, c))]
    assert len(valid) >= 27
    for code in valid:
        usage.record(parse(icd(code).items()), frozenset())
    usage.record(parse(icd(valid[0]).items()), frozenset())  # counted again: already among the 25
    usage.flush()
    assert len(rows(services)) == 25
    assert sum(r[3] for r in rows(services)) == 26
    who["client"] = "198.51.100.2"  # another client has its own share
    usage.record(parse(icd(valid[25]).items()), frozenset())
    clock.now = 61.0  # and a minute later the first client has a new one
    who["client"] = "203.0.113.7"
    usage.record(parse(icd(valid[26]).items()), frozenset())
    usage.flush()
    assert len(rows(services)) == 27


def test_old_days_are_deleted_on_flush(services):
    day = {"today": date(2026, 3, 4)}
    usage = recorder(services, flush_every=1, keep_days=30, today=lambda: day["today"])
    usage.record(parse(icd("E11.9").items()), frozenset())
    day["today"] = date(2026, 4, 2)  # 30 days later: 2026-03-04 is still the first day kept
    usage.record(parse(icd("I10").items()), frozenset())
    assert [r[0] for r in rows(services)] == ["2026-03-04", "2026-04-02"]
    day["today"] = date(2026, 4, 3)
    usage.record(parse(icd("I10").items()), frozenset())
    assert [(r[0], r[2]) for r in rows(services)] == [("2026-04-02", "I10"), ("2026-04-03", "I10")]


def test_over_http_each_client_address_has_its_own_share(tmp_path):
    app = create_app(Settings(data_dir=str(tmp_path), usage_codes_per_minute=2, trusted_proxies=1))
    try:
        client, services = app.test_client(), app.extensions["infobutton"]
        for code in ("E11.9", "I10", "F32.9"):
            client.get("/infobutton", query_string=icd(code), headers={"X-Forwarded-For": "203.0.113.7"})
        client.get("/infobutton", query_string=icd("J45.909"), headers={"X-Forwarded-For": "198.51.100.2"})
        services.usage.flush()
        assert sorted(r[2] for r in rows(services)) == ["E11.9", "I10", "J45.909"]
    finally:
        app.extensions["infobutton"].close()


def test_the_clients_remembered_for_the_minute_are_bounded(services, monkeypatch):
    """Past MAX_CLIENTS the client whose minute started first is forgotten (it gets a new share);
    clients whose minute has ended are dropped as new ones come."""
    from infobutton import usage as usage_module

    monkeypatch.setattr(usage_module, "MAX_CLIENTS", 2)
    clock = Clock(0.0)
    who = {"client": "a"}
    usage = recorder(services, flush_every=10_000, timer=clock, codes_per_minute=1, client=lambda: who["client"])
    for client in ("a", "b", "c"):
        who["client"] = client
        usage.record(parse(icd("E11.9").items()), frozenset())
    assert list(usage._recent) == ["b", "c"]
    who["client"] = "a"
    usage.record(parse(icd("I10").items()), frozenset())  # a new minute for "a": I10 is counted
    clock.now = 61.0
    who["client"] = "d"
    usage.record(parse(icd("I10").items()), frozenset())
    assert list(usage._recent) == ["d"]
    usage.flush()
    assert sorted((r[2], r[3]) for r in rows(services)) == [("E11.9", 3), ("I10", 2)]
