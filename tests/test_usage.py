"""Usage counting for the gap report: per code and day only, buffered, flushed in one UPSERT;
rows of their own only for codes the service knows (others share one row per system and day), a
bounded share per client and minute, old days deleted."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum import verhoeff

from infobutton import create_app, terminology
from infobutton.config import ConfigError, Settings
from infobutton.models import Code, CodeSystem, KnowledgeRequest
from infobutton.request import parse
from infobutton.store.usage import UNKNOWN, SqlUsageStore
from infobutton.usage import UsageRecorder

from .conftest import Clock, icd

SCT = CodeSystem.SNOMEDCT


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


def test_an_invalid_code_answered_by_text_search_is_counted_only_in_the_bucket(client, services):
    """Made-up codes would flood the gap report: one answered by free-text search is counted in
    the system's bucket, never under its own code."""
    r = client.get("/infobutton", query_string=icd("LEUKEMIA", knowledgeResponseType="application/json"))
    assert r.get_json()["feed"]["entry"]  # the search found something
    services.usage.flush()
    assert [(r[1], r[2], r[3]) for r in rows(services)] == [("ICD10CM", UNKNOWN, 1)]


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


def test_made_up_codes_share_one_row(services):
    """A flood of 20,000 made-up codes adds one row, counting them all."""
    usage = recorder(services, flush_every=1000)
    for n in range(20_000):
        usage.record(parse(icd(made_up_icd10cm(n)).items()), frozenset())
    usage.flush()
    assert [(r[1], r[2], r[3]) for r in rows(services)] == [("ICD10CM", UNKNOWN, 20_000)]


def coded(system: CodeSystem, value: str) -> KnowledgeRequest:
    return parse({"mainSearchCriteria.v.c": value, "mainSearchCriteria.v.cs": system.oid}.items())


def made_up_snomed(n: int) -> str:
    """A SNOMED CT-shaped id with a valid Verhoeff check digit that no map names."""
    stem = str(900_000_000 + n)
    return stem + verhoeff.calc_check_digit(stem)


def test_well_formed_codes_the_service_has_no_data_for_share_a_bucket_per_system(services):
    """Valid means known: made-up SNOMED CT ids with a good check digit, RxNorm codes of any
    1-9 digits, LOINC with a good check digit (no data here) and ICD-9-CM codes the GEM does not
    list are counted per system in one row; ICD-9-CM codes the GEM lists get their own."""
    usage = recorder(services, flush_every=100_000, codes_per_minute=100_000)
    for n in range(300):
        for request in (
            coded(SCT, made_up_snomed(n)),
            coded(CodeSystem.RXNORM, str(n + 1)),
            coded(CodeSystem.ICD9CM, f"V99.{n % 100:02d}"),  # V codes end at V91
        ):
            usage.record(request, frozenset())
    usage.record(coded(CodeSystem.LOINC, "2345-7"), frozenset())
    usage.record(coded(CodeSystem.ICD9CM, "250.00"), frozenset())
    usage.flush()
    assert all(verhoeff.is_valid(made_up_snomed(n)) for n in range(300))
    assert sorted((r[1], r[2], r[3]) for r in rows(services)) == [
        ("ICD9CM", "*", 300),
        ("ICD9CM", "250.00", 1),
        ("LOINC", "*", 1),
        ("RXNORM", "*", 300),
        ("SNOMEDCT", "*", 300),
    ]


def test_snomed_concepts_in_the_map_file_and_rxnorm_codes_in_the_list_are_known(tmp_path):
    from .test_crosswalk import write_map

    rxnorm = tmp_path / "RXNCONSO.RRF"
    rxnorm.write_text("161|ENG||||||1|N|1|RXNORM|IN|161|Acetaminophen||N|4096|\n860975|ENG|||||||||||\n")
    settings = Settings(
        data_dir=str(tmp_path), snomed_map=str(write_map(tmp_path / "map.tsv", "human")), rxnorm_codes=str(rxnorm)
    )
    app = create_app(settings)
    try:
        services = app.extensions["infobutton"]
        usage = services.usage
        # in the map with a target; in the map with none (only an empty target); not in it
        for value in ("91857003", "93143009", made_up_snomed(1)):
            usage.record(coded(SCT, value), frozenset())
        for value in ("161", "860975", "860976"):
            usage.record(coded(CodeSystem.RXNORM, value), frozenset())
        usage.flush()
        assert sorted((r[1], r[2]) for r in rows(services)) == [
            ("RXNORM", "*"),
            ("RXNORM", "161"),
            ("RXNORM", "860975"),
            ("SNOMEDCT", "*"),
            ("SNOMEDCT", "91857003"),
            ("SNOMEDCT", "93143009"),
        ]
    finally:
        app.extensions["infobutton"].close()


@pytest.mark.parametrize(
    "text,says",
    [("161\nabc\n", "line 2"), ("1234567890\n", "1 to 9 digits"), ("", "no RxCUI"), (None, "cannot be used")],
)
def test_an_unusable_rxnorm_list_stops_the_start_naming_the_variable(tmp_path, text, says):
    path = tmp_path / "rxcuis.txt"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError) as error:
        create_app(Settings(data_dir=str(tmp_path), rxnorm_codes=str(path)))
    assert error.value.variable == "INFOBUTTON_RXNORM_CODES" and says in error.value.message


def test_forty_addresses_sending_ten_thousand_made_up_codes_add_a_row_a_system(tmp_path):
    """The flood as measured: 10,000 requests from 40 addresses with made-up SNOMED CT and
    RxNorm codes added ~10,300 rows, kept 400 days; now one row per system, and the gap report
    lists none of them, only their count."""
    app = create_app(Settings(data_dir=str(tmp_path), trusted_proxies=1, rate_limit="off"))
    try:
        client, services = app.test_client(), app.extensions["infobutton"]
        for n in range(10_000):
            system, value = (SCT, made_up_snomed(n)) if n % 2 else (CodeSystem.RXNORM, str(n + 1))
            query = {"mainSearchCriteria.v.c": value, "mainSearchCriteria.v.cs": system.oid}
            client.get("/infobutton", query_string=query, headers={"X-Forwarded-For": f"203.0.113.{n % 40}"})
        services.usage.flush()
        assert sorted((r[1], r[2], r[3]) for r in rows(services)) == [("RXNORM", "*", 5000), ("SNOMEDCT", "*", 5000)]
        token = services.tokens.create("v", "viewer")
        body = client.get("/admin/api/gaps?days=1", headers={"Authorization": f"Bearer {token}"}).get_json()
        assert body["items"] == []
        assert [(u["code_system"], u["requests"]) for u in body["unknown"]] == [("RxNorm", 5000), ("SNOMED CT", 5000)]
    finally:
        app.extensions["infobutton"].close()


def test_one_client_adds_a_bounded_number_of_codes_a_minute(services):
    """Valid codes from one client: at most ``codes_per_minute`` distinct codes a minute; other
    clients keep their own share, and a counted code keeps counting."""
    clock = Clock(0.0)
    who = {"client": "203.0.113.7"}
    usage = recorder(services, flush_every=10_000, timer=clock, codes_per_minute=25)
    candidates = [f"{letter}{n:02d}" for letter in "ABCDE" for n in range(10)]
    valid = [c for c in candidates if terminology.is_valid(Code(CodeSystem.ICD10CM, c))]
    assert len(valid) >= 27
    for code in valid:
        usage.record(parse(icd(code).items()), frozenset(), who["client"])
    usage.record(parse(icd(valid[0]).items()), frozenset(), who["client"])  # counted again: already among the 25
    usage.flush()
    assert len(rows(services)) == 25
    assert sum(r[3] for r in rows(services)) == 26
    who["client"] = "198.51.100.2"  # another client has its own share
    usage.record(parse(icd(valid[25]).items()), frozenset(), who["client"])
    clock.now = 61.0  # and a minute later the first client has a new one
    who["client"] = "203.0.113.7"
    usage.record(parse(icd(valid[26]).items()), frozenset(), who["client"])
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
    usage = recorder(services, flush_every=10_000, timer=clock, codes_per_minute=1)
    for client in ("a", "b", "c"):
        who["client"] = client
        usage.record(parse(icd("E11.9").items()), frozenset(), who["client"])
    assert list(usage._recent) == ["b", "c"]
    who["client"] = "a"
    usage.record(parse(icd("I10").items()), frozenset(), who["client"])  # a new minute for "a": I10 is counted
    clock.now = 61.0
    who["client"] = "d"
    usage.record(parse(icd("I10").items()), frozenset(), who["client"])
    assert list(usage._recent) == ["d"]
    usage.flush()
    assert sorted((r[2], r[3]) for r in rows(services)) == [("E11.9", 3), ("I10", 2)]
