"""Coverage per ICD-10-CM chapter: billable codes answered by a curated rule, by the automatic layer,
or not at all, in the pure core, the CLI, the API, the admin UI and the gap report."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from infobutton import resolver, terminology
from infobutton.cli import main
from infobutton.mappings import coverage
from infobutton.models import Code, CodeSystem, MappingRule, Scope

ICD = CodeSystem.ICD10CM


def rules(*items: MappingRule):
    return resolver.index_rules(items)


def test_a_code_is_curated_when_a_rule_reaches_it_with_a_served_topic():
    index = rules(
        MappingRule(ICD, "S72", "fractures"),  # the whole category
        MappingRule(ICD, "M25.5", "pain", Scope.EXACT),  # not billable: reaches nothing below it
        MappingRule(ICD, "T07", "injuries", Scope.EXACT),  # T07's codes differ only in their 7th character
        MappingRule(ICD, "M10", "withdrawn"),  # its topic is not served: owned, yet unanswered
        MappingRule(CodeSystem.SNOMEDCT, "9014002", "psoriasis"),  # not ICD-10-CM: no billable code
    )
    layer = coverage.layers(index, lambda topic_id: topic_id != "withdrawn", automatic={"M10.9", "E11.9"})
    assert len(layer) == len(terminology.billable())
    assert {v for v, found in layer.items() if found == coverage.CURATED} == {
        *terminology.billable_under("S72"),
        "T07.XXXA",
        "T07.XXXD",
        "T07.XXXS",
    }
    assert layer["M10.9"] == coverage.UNANSWERED  # the automatic layer never second-guesses a curated code
    assert layer["E11.9"] == coverage.AUTOMATIC
    assert layer["M25.50"] == coverage.UNANSWERED


def test_layers_agree_with_the_resolver_for_every_code_under_a_few_prefixes():
    index = rules(
        MappingRule(ICD, "S72.0", "fractures"),
        MappingRule(ICD, "S72.002", "hip", Scope.EXACT),
        MappingRule(ICD, "E11", "diabetestype2", min_age=18),  # limited to a context: still curated
    )
    layer = coverage.layers(index, lambda _: True, automatic=set())
    for value in [*terminology.billable_under("S72"), *terminology.billable_under("E11")]:
        reached = bool(resolver.matches_for_code(Code(ICD, value), index))
        assert (layer[value] == coverage.CURATED) == reached, value


def test_rows_per_chapter_and_per_category_add_up():
    layer = coverage.layers(rules(MappingRule(ICD, "C91", "leukemia")), lambda _: True, automatic={"E11.9"})
    chapters = coverage.by_chapter(layer)
    assert [r.key for r in chapters] == [str(n) for n in range(1, 23)]
    total = coverage.total(chapters)
    assert (total.billable, total.curated, total.automatic) == (len(layer), len(terminology.billable_under("C91")), 1)
    neoplasms = next(r for r in chapters if r.key == "2")
    assert neoplasms.title == "Neoplasms (C00-D49)" and neoplasms.curated == total.curated
    categories = coverage.by_category(layer, "2")
    assert coverage.total(categories).billable == neoplasms.billable
    c91 = next(r for r in categories if r.key == "C91")
    assert c91.title == "Lymphoid leukemia" and c91.curated == c91.billable and c91.unanswered == 0
    assert c91.json() == {
        "key": "C91",
        "title": "Lymphoid leukemia",
        "billable": c91.billable,
        "curated": c91.billable,
        "automatic": 0,
        "unanswered": 0,
    }
    with pytest.raises(KeyError):
        coverage.by_category(layer, "23")


def test_the_report_follows_a_mapping_change_and_is_kept_between_views(services):
    # The shipped crosswalk reaches gout (M10); take its rules away so the automatic layer answers it.
    for rule in services.mappings.rules():
        if rule.code_system is ICD and rule.code.startswith("M10"):
            services.mapping_admin.delete(rule.id, None, "test")
    services.knowledge.refresh_now()
    report = services.coverage
    layer = report.layers()
    assert report.layers() is layer  # kept: a page view is a count
    before = {r.key: r for r in report.chapters()}
    assert before["2"].curated > 0  # the shipped leukemia and myeloma rules
    # A category no rule reaches yet, some of it answered by the automatic layer (whole names):
    # mapping it moves all of it to curated, and those codes out of automatic.
    category, codes = next(
        (value[:3], terminology.billable_under(value[:3]))
        for value, found in layer.items()
        if found == coverage.AUTOMATIC
        and all(layer[c] != coverage.CURATED for c in terminology.billable_under(value[:3]))
    )
    automatic = sum(layer[c] == coverage.AUTOMATIC for c in codes)
    chapter = terminology.chapter_of(Code(ICD, category))
    services.mapping_admin.create({"code_system": "ICD-10-CM", "code": category, "topic_id": "leukemia"}, "t")
    after = {r.key: r for r in report.chapters()}
    assert after[chapter].curated == before[chapter].curated + len(codes)
    assert after[chapter].automatic == before[chapter].automatic - automatic
    assert all(after[key] == row for key, row in before.items() if key != chapter)
    assert report.seconds < 5.0  # the pass after a mapping change (the catalogue's is kept)


# -- the CLI, the API, the admin UI and the gap report --------------------------------------------


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOBUTTON_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INFOBUTTON_DATABASE_URL", raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


def test_mappings_list_chapter(run):
    lines = run("mappings", "list", "--chapter").stdout.splitlines()
    assert lines[0] == "chapter\tbillable\tcurated\tautomatic\tunanswered\ttitle"
    assert [line.split("\t")[0] for line in lines[1:]] == [*(str(n) for n in range(1, 23)), "all"]
    billable, curated, automatic, unanswered = (int(x) for x in lines[-1].split("\t")[1:5])
    assert billable == len(terminology.billable()) == curated + automatic + unanswered and curated > 0
    neoplasms = run("mappings", "list", "--chapter", "2").stdout.splitlines()
    assert neoplasms[0].startswith("category\t") and any(line.startswith("C91\t") for line in neoplasms)
    refused = run("mappings", "list", "--chapter", "23")
    assert refused.exit_code == 1 and "--chapter" in refused.stderr


def test_api_coverage_and_the_gap_report(client, services):
    headers = {"Authorization": f"Bearer {services.tokens.create('viewer', 'viewer')}"}
    body = client.get("/admin/api/coverage", headers=headers).get_json()
    assert body["chapter"] is None and len(body["rows"]) == 22
    assert body["total"]["billable"] == len(terminology.billable())
    one = client.get("/admin/api/coverage?chapter=2", headers=headers).get_json()
    assert one["chapter"] == "2" and {"C91", "C50"} <= {r["key"] for r in one["rows"]}
    bad = client.get("/admin/api/coverage?chapter=23", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "chapter"
    assert client.get("/admin/api/coverage").status_code == 401
    gaps = client.get("/admin/api/gaps", headers=headers).get_json()
    assert [r["key"] for r in gaps["coverage"]] == [*(str(n) for n in range(1, 23)), ""]


def test_admin_coverage_page_and_gap_report_section(client, services):
    from tests.web.test_admin_ui import sign_in

    assert sign_in(client, services.tokens.create("Lena", "viewer")).status_code == 303
    page = client.get("/admin/coverage")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<th scope="col" class="count">Unanswered</th>' in html and 'href="/admin/coverage"' in html  # nav
    assert re.search(r'<a href="/admin/coverage\?chapter=19" aria-label="Chapter 19: its categories">19</a>', html)
    assert "Injury, poisoning and certain other consequences of external causes (S00-T88)" in html
    injuries = client.get("/admin/coverage?chapter=19").get_data(as_text=True)
    assert "Fracture of femur" in injuries and "<small>chapter 19</small>" in injuries
    assert client.get("/admin/coverage?chapter=99").status_code == 404
    gaps = client.get("/admin/gaps").get_data(as_text=True)
    assert 'id="coverage-heading"' in gaps and "Neoplasms (C00-D49)" in gaps
