"""Prometheus metrics (metrics.py) through a real app: what is counted, with which labels, and
that no code, path or patient context ever becomes a label."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import redis
from prometheus_client import values
from prometheus_client.parser import text_string_to_metric_families

from infobutton import create_app, metrics
from infobutton.config import Settings
from infobutton.metrics import Metrics, answer_layers, format_label
from infobutton.models import Code, CodeSystem, Criterion, Provenance, Topic, TopicMatch

from .conftest import icd, unmap_diabetes
from .content.http_fixture import Reply, Upstream


def samples(client) -> dict[tuple[str, tuple], float]:
    """/metrics as {(sample name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_answer_layers_names_the_layer_of_each_criterion_and_none_for_the_unanswered():
    one = Criterion(Code(CodeSystem.ICD10CM, "C91.00"))
    two = Criterion(Code(CodeSystem.ICD10CM, "Z99.89"))
    three = Criterion(None, original_text="leukemia")
    topic = Topic(id="t", title="T", url="https://medlineplus.gov/t.html", language="en")
    matches = [
        TopicMatch(topic, one, None, 0, Provenance.CURATED),
        TopicMatch(topic, three, None, 100, Provenance.FREE_TEXT),
        TopicMatch(topic, one, None, 1, Provenance.CURATED),
    ]
    assert answer_layers((one, two, three), matches) == ("curated", "none", "free-text")


def test_format_labels_are_a_small_fixed_set():
    assert format_label("text/xml; charset=utf-8") == "atom"
    assert format_label("application/fhir+json; charset=utf-8") == "fhir"
    assert format_label("application/problem+json") == "json"
    assert format_label("image/svg+xml") == "other"
    assert format_label(None) == "none"


def test_requests_are_counted_by_url_rule_format_and_status_never_by_path_or_query(client):
    patient = icd("C91.00", **{"age.v.v": "77", "age.v.u": "a", "patientPerson.administrativeGenderCode.c": "F"})
    as_json = {**patient, "knowledgeResponseType": "application/json"}
    assert client.get("/infobutton", query_string=as_json).status_code == 200
    assert client.get("/infobutton", query_string=patient).status_code == 200
    assert client.get("/infobutton", query_string={"age.v.v": "77"}).status_code == 400
    assert client.get("/admin/api/mappings/123456").status_code in (401, 403, 404)
    assert client.get("/no/such/F32.9").status_code == 404
    found = samples(client)
    total = "infobutton_http_requests_total"
    assert value(found, total, route="/infobutton", method="GET", format="json", status="200") == 1
    assert value(found, total, route="/infobutton", method="GET", format="atom", status="200") == 1
    assert value(found, total, route="/infobutton", method="GET", format="xml", status="400") == 1
    assert any(labels and dict(labels).get("route") == "/admin/api/mappings/<int:rule_id>" for _, labels in found)
    assert value(found, total, route="(no route)", method="GET", format="xml", status="404") == 1
    count = "infobutton_http_request_duration_seconds_count"
    assert value(found, count, route="/infobutton") == 3
    label_values = {v for _, labels in found for _, v in labels}
    for private in ("C91.00", "F32.9", "77", "age.v", "123456", "/no/such"):
        assert not any(private in v for v in label_values)


def test_the_response_cache_counts_hits_and_misses(client):
    q = icd("C91.00", knowledgeResponseType="application/json")
    for _ in range(3):
        assert client.get("/infobutton", query_string=q).status_code == 200
    found = samples(client)
    name = "infobutton_response_cache_lookups_total"
    assert value(found, name, result="miss") == 1
    assert value(found, name, result="hit") == 2
    assert value(found, name, result="shared_hit") == 0


def test_criteria_are_counted_by_resolution_layer_cached_or_not(client, services, synced_catalogue):
    unmap_diabetes(services)  # E11.9 answered by the automatic layer
    for _ in range(2):  # the second answer is cached: counted all the same
        assert client.get("/infobutton", query_string=icd("C91.00")).status_code == 200
    assert client.get("/infobutton", query_string=icd("E11.9")).status_code == 200
    assert client.get("/infobutton", query_string=icd("Z99.89")).status_code == 200
    assert client.get("/infobutton", query_string={"mainSearchCriteria.v.ot": "leukemia"}).status_code == 200
    found = samples(client)
    name = "infobutton_criteria_total"
    assert value(found, name, layer="curated") == 2
    assert value(found, name, layer="automatic") == 1
    assert value(found, name, layer="none") == 1
    assert value(found, name, layer="free-text") == 1
    assert value(found, name, layer="upstream") == 0


def test_upstream_errors_are_counted(tmp_path):
    with Upstream() as upstream:
        url = upstream.route("/connect", Reply(500, b"down"))
        app = create_app(Settings(data_dir=str(tmp_path), version_check_interval=0.0, upstream_url=url))
        try:
            client = app.test_client()
            # no local answer: the upstream is asked
            assert client.get("/infobutton", query_string=icd("Z99.89")).status_code == 200
            assert upstream.hits("/connect")
            assert value(samples(client), "infobutton_upstream_errors_total") == 1
        finally:
            app.extensions["infobutton"].close()


def test_database_errors_are_counted_by_kind(client):
    services = client.application.extensions["infobutton"]
    with pytest.raises(Exception, match="no_such_table"):
        services.db.query("SELECT * FROM no_such_table")
    assert value(samples(client), "infobutton_database_errors_total", kind="OperationalError") == 1


def test_metrics_can_be_switched_off(tmp_path):
    app = create_app(Settings(data_dir=str(tmp_path), metrics=False))
    try:
        assert app.test_client().get("/metrics").status_code == 404
    finally:
        app.extensions["infobutton"].close()
    assert Settings.from_env({"INFOBUTTON_METRICS": "off"}).metrics is False


def test_each_app_has_its_own_registry(tmp_path, client):
    assert client.get("/healthz").status_code == 200
    other = create_app(Settings(data_dir=str(tmp_path / "other")))
    try:
        found = samples(other.test_client())
        healthz = {"route": "/healthz", "method": "GET", "format": "json", "status": "200"}
        assert value(found, "infobutton_http_requests_total", **healthz) == 0
    finally:
        other.extensions["infobutton"].close()


def test_multiprocess_dir_is_made_for_serve_and_removed_after(monkeypatch):
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    plain = values.ValueClass
    with metrics.multiprocess_dir() as path:
        assert os.environ[metrics.MULTIPROC_ENV] == path and Path(path).is_dir()
        one = Metrics.for_process()
        one.cache_lookup("hit")
        assert list(Path(path).glob("*.db"))  # values are written to files the workers share
        text = one.exposition().decode()
        assert 'infobutton_response_cache_lookups_total{result="hit"} 1.0' in text
    assert not Path(path).exists()
    assert metrics.MULTIPROC_ENV not in os.environ and values.ValueClass is plain


def test_an_operators_multiprocess_dir_is_emptied_not_removed(tmp_path, monkeypatch):
    given = tmp_path / "prom"
    given.mkdir()
    (given / "counter_999.db").write_bytes(b"old run")
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(given))
    plain = values.ValueClass
    with metrics.multiprocess_dir() as path:
        assert path == str(given) and not (given / "counter_999.db").exists()
        Metrics.for_process().upstream_error()
    assert given.is_dir() and not list(given.glob("*.db"))
    assert values.ValueClass is plain


@pytest.mark.redis
def test_a_shared_cache_hit_is_counted_with_the_layers_it_carries(tmp_path, redis_url):
    settings = Settings(data_dir=str(tmp_path), version_check_interval=0.0, redis_url=redis_url)
    prefix = f"infobutton-test-{uuid.uuid4().hex[:8]}:"
    one, two = create_app(settings), create_app(settings)
    try:
        for app in (one, two):
            app.extensions["infobutton"].knowledge.shared.prefix = prefix
        q = icd("C91.00", knowledgeResponseType="application/json")
        assert one.test_client().get("/infobutton", query_string=q).status_code == 200
        client = two.test_client()
        assert client.get("/infobutton", query_string=q).status_code == 200
        found = samples(client)
        assert value(found, "infobutton_response_cache_lookups_total", result="shared_hit") == 1
        assert value(found, "infobutton_response_cache_lookups_total", result="miss") == 0
        assert value(found, "infobutton_criteria_total", layer="curated") == 1
    finally:
        keys = redis.Redis.from_url(redis_url)
        for key in keys.scan_iter(prefix + "*"):
            keys.delete(key)
        keys.close()
        for app in (one, two):
            app.extensions["infobutton"].close()
