"""Shipped content on upgrade (``bundled.merge``): an installation made by the previous release
gets this release's topics and rules in place, as one audited version, and keeps what its
librarians changed or removed; conflicts are listed in the version and the admin history."""

from __future__ import annotations

import contextlib
import functools
import shutil
import sqlite3
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from infobutton import bundled, create_app
from infobutton.cli import main
from infobutton.config import Settings
from infobutton.content.medlineplus_xml import write_catalogue
from infobutton.mappings import csv_io
from infobutton.models import CodeSystem, MappingRule, Scope, Topic
from infobutton.store import meta, open_stores

from .conftest import ROOT, icd
from .web.test_admin_ui import sign_in

# `sqlite3 … .dump` of a database the release at ec8290f made (tests/data/db-ec8290f/make.py):
# its seed, a librarian's edit of a shipped rule, a shipped rule deleted and a rule of their own.
DUMP = ROOT / "tests" / "data" / "db-ec8290f" / "infobutton-ec8290f.sql"
EDITED_REASON = "Our oncology service asks for the ALL page first (ec8290f fixture: edited)"


@functools.cache
def previous_release() -> Path:
    """The ec8290f database, restored once per run from its dump. Read-only: tests copy it."""
    target = Path(tempfile.mkdtemp(prefix="infobutton-ec8290f-")) / "infobutton.sqlite3"
    with contextlib.closing(sqlite3.connect(target)) as db:
        db.executescript(DUMP.read_text(encoding="utf-8"))
    return target


@pytest.fixture
def installed(tmp_path) -> str:
    """A copy of the previous release's database, as its URL."""
    target = tmp_path / "data" / "infobutton.sqlite3"
    target.parent.mkdir()
    shutil.copy(previous_release(), target)
    return f"sqlite:///{target}"


def start(url: str, data_dir: Path):
    app = create_app(Settings(data_dir=str(data_dir), database_url=url, version_check_interval=0.0))
    return app, app.extensions["infobutton"]


def entries(client, code: str, **extra) -> list[tuple[str, str]]:
    r = client.get("/infobutton", query_string=icd(code, knowledgeResponseType="application/json", **extra))
    assert r.status_code == 200
    return [(e["title"]["_value"], e["source"]["_value"]) for e in r.get_json()["feed"]["entry"]]


def rules_on(services, code: str) -> list[MappingRule]:
    return [r for r in services.mappings.rules() if r.code_system is CodeSystem.ICD10CM and r.code == code]


def test_the_previous_releases_database_is_what_make_py_wrote(installed):
    db, topics, mappings = open_stores(installed)
    try:
        assert len(topics.all()) == 218 and topics.get("asthma") is None  # the 204-topic index era
        assert not meta.get(db, bundled.FINGERPRINT_KEY)  # that release kept no record of it
        first = mappings.history.first()
        assert (first.actor, first.action, first.reason) == ("system", "replace", "bundled mappings")
        [edited] = [r for r in mappings.rules() if (r.code, r.topic_id) == ("C91.0", "acutelymphocyticleukemia")]
        assert (edited.priority, edited.reason) == (12, EDITED_REASON)
        assert not [r for r in mappings.rules() if r.code == "K44"]
    finally:
        db.close()


def test_an_installation_of_the_previous_release_upgraded_in_place_answers_asthma_and_keeps_its_edits(
    installed, tmp_path
):
    app, services = start(installed, tmp_path)
    try:
        client = app.test_client()
        assert entries(client, "J45.909") == [("Asthma", "curated")]  # the new release's crosswalk
        # what the librarian did is as they left it
        [edited] = [r for r in rules_on(services, "C91.0") if r.topic_id == "acutelymphocyticleukemia"]
        assert (edited.priority, edited.reason) == (12, EDITED_REASON)
        assert rules_on(services, "K44") == []  # removed here: not brought back
        [own] = rules_on(services, "D70.0")
        assert (own.topic_id, own.reason) == ("leukemia", "ec8290f fixture: a rule written here")
        # the leukemia answers are those of before
        assert entries(client, "C91.00") == [("Acute Lymphocytic Leukemia", "curated"), ("Leukemia", "curated")]
        child = entries(client, "C91.00", **{"age.v.v": "6", "age.v.u": "a"})
        assert child == [
            ("Acute Lymphocytic Leukemia", "curated"),
            ("Childhood Leukemia", "curated"),
            ("Leukemia", "curated"),
        ]
        # one audited version by the system, after the librarian's three
        versions, total = services.history.versions()
        assert total == 5 and (versions[0].actor, versions[0].action) == ("system", "shipped")
        assert versions[0].reason.startswith("shipped content of infobutton")
        shipped, _ = services.history.audit(version=versions[0].n, limit=10_000)
        assert ("shipped", "J45", "asthma") in {(e.action, e.after["code"], e.after["topic_id"]) for e in shipped}
        assert {edited.id, own.id}.isdisjoint(e.mapping_id for e in shipped)  # the librarian's: untouched
        assert not any(e.after and e.after["code"] == "K44" for e in shipped)
        # the catalogue: the 1,023 listed topics and the rest of the starter, in place
        assert len(services.topics.all()) == len(bundled.load_topics())
        asthma = services.topics.get("asthma")
        assert (asthma.source, asthma.catalogue_date) == ("index", "2024-07-01")
    finally:
        services.close()
    # started again: nothing more to merge
    app, services = start(installed, tmp_path)
    try:
        assert services.history.versions()[1] == 5
    finally:
        services.close()


def test_db_upgrade_merges_the_shipped_content_too(installed, monkeypatch):
    monkeypatch.setenv("INFOBUTTON_DATABASE_URL", installed)
    runner = CliRunner()
    first = runner.invoke(main, ["db", "upgrade"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0] == "0005: already at head"
    assert lines[1].startswith("shipped content: version 5: rules ") and "topics " in lines[1]
    again = runner.invoke(main, ["db", "upgrade"], catch_exceptions=False)
    assert again.stdout.splitlines() == ["0005: already at head", "shipped content: already merged"]
    monkeypatch.setenv("INFOBUTTON_SEED", "false")
    off = runner.invoke(main, ["db", "upgrade"], catch_exceptions=False)
    assert off.stdout.splitlines()[1] == "shipped content: not merged (INFOBUTTON_SEED is off)"


# -- the three-way merge, on shipped folders made here ---------------------------------------------

HEADER = "code_system,code,topic_id,scope,priority,min_age,max_age,gender,reason"


def rule_row(code: str, topic: str, reason: str, priority: int = 0) -> str:
    return f'ICD-10-CM,{code},{topic},descendants,{priority},,,,"{reason}"'


def topic(tid: str, title: str, **extra) -> Topic:
    return Topic(id=tid, title=title, url=f"https://medlineplus.gov/{tid}.html", language="en", source="index", **extra)


class Release:
    """A release's shipped folders (mappings/, topics/) in a temporary directory, served to
    ``bundled`` in place of the project's own."""

    def __init__(self, root: Path, monkeypatch):
        self.root = root
        monkeypatch.setattr(bundled, "_folder", lambda name: root / name)

    def ship(self, rules: list[str], topics: list[Topic], date: str = "2024-07-01") -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        (self.root / "mappings").mkdir(parents=True)
        (self.root / "topics").mkdir()
        (self.root / "mappings" / "shipped.csv").write_text("\n".join([HEADER, *rules]) + "\n", encoding="utf-8")
        (self.root / "topics" / "list.xml").write_text(write_catalogue(topics, date_generated=date), encoding="utf-8")


@pytest.fixture
def release(tmp_path, monkeypatch):
    return Release(tmp_path / "release", monkeypatch)


@pytest.fixture
def stores(tmp_path):
    db, topics, mappings = open_stores(f"sqlite:///{tmp_path}/db.sqlite3")
    yield topics, mappings
    db.close()


ASTHMA, ACNE, GOUT = topic("asthma", "Asthma"), topic("acne", "Acne"), topic("gout", "Gout")


def by_code(mappings) -> dict[str, MappingRule]:
    return {r.code: r for r in mappings.rules()}


def test_a_fresh_database_gets_everything_as_one_version(release, stores):
    topics, mappings = stores
    release.ship([rule_row("J45", "asthma", "first"), rule_row("L70", "acne", "acne")], [ASTHMA, ACNE])
    result = bundled.merge(topics, mappings)
    assert (result.rules["added"], result.topics["added"], result.conflicts) == (2, 2, [])
    assert mappings.history.versions()[1] == 1 and result.version == 1
    assert {t.id for t in topics.all()} == {"asthma", "acne"}
    assert bundled.merge(topics, mappings) is None  # the same files: nothing to do


def test_a_new_release_changes_what_is_still_as_shipped_and_keeps_every_change_made_here(release, stores):
    topics, mappings = stores
    release.ship(
        [
            rule_row("J45", "asthma", "first"),
            rule_row("L70", "acne", "acne"),
            rule_row("M10", "gout", "gout"),
            rule_row("E66", "gout", "a rule the project takes back"),
        ],
        [ASTHMA, ACNE, GOUT],
    )
    bundled.merge(topics, mappings)
    rules = by_code(mappings)
    # here: L70 edited, M10 removed, a rule of our own
    mappings.update(rules["L70"].id, replace(rules["L70"], priority=7), expected=None, actor="ana")
    mappings.delete(rules["M10"].id, expected=None, actor="ana")
    mappings.insert(MappingRule(CodeSystem.ICD10CM, "R51", "asthma", Scope.EXACT, reason="ours"), actor="ana")
    before = mappings.version()
    # the next release: J45 reworded, L70 and M10 reworded too, E66 taken back, N39 new
    release.ship(
        [
            rule_row("J45", "asthma", "second"),
            rule_row("L70", "acne", "acne, reworded"),
            rule_row("M10", "gout", "gout, reworded"),
            rule_row("N39", "gout", "new"),
        ],
        [ASTHMA, ACNE, GOUT],
    )
    result = bundled.merge(topics, mappings)
    assert result.version == before + 1
    rules = by_code(mappings)
    assert rules["J45"].reason == "second"  # still as shipped: the release's version
    assert (rules["L70"].priority, rules["L70"].reason) == (7, "acne")  # edited here: kept
    assert "M10" not in rules and "E66" not in rules  # removed here stays removed; taken back is gone
    assert rules["N39"].reason == "new" and rules["R51"].reason == "ours"
    assert result.rules == {"added": 1, "changed": 1, "removed": 1}
    assert result.conflicts == [
        "ICD-10-CM L70 \u2192 acne (descendants): edited here; this release changes it",
        "ICD-10-CM M10 \u2192 gout (descendants): removed here; this release changes it",
    ]
    version = mappings.history.version(result.version)
    assert (version.actor, version.action) == ("system", "shipped")
    assert version.reason.splitlines()[1:] == [f"conflict: {c}" for c in result.conflicts]
    audit, _ = mappings.history.audit(version=result.version)
    assert sorted(e.after["code"] if e.after else "-" + e.before["code"] for e in audit) == ["-E66", "J45", "N39"]


def test_topics_as_shipped_are_upgraded_changed_ones_kept_and_dropped_ones_withdrawn(release, stores):
    topics, mappings = stores
    release.ship([], [ASTHMA, ACNE, GOUT])
    bundled.merge(topics, mappings)
    imported = replace(ACNE, summary_html="<p>From a page import.</p>", source="medlineplus")
    topics.upsert([imported])
    release.ship([], [replace(ASTHMA, also_called=("Reactive airway disease",)), replace(ACNE, also_called=("Zits",))])
    result = bundled.merge(topics, mappings)
    assert topics.get("asthma").also_called == ("Reactive airway disease",)
    assert topics.get("acne") == imported  # changed here: kept
    assert topics.get("gout").status == "withdrawn"  # shipped before, unchanged, not shipped now
    assert result.topics == {"added": 0, "updated": 1, "withdrawn": 1, "left": 0}
    assert result.conflicts == ["topic acne: changed here (source medlineplus); this release ships it changed"]


def test_a_newer_catalogue_imported_here_speaks_for_its_sites(release, stores):
    topics, mappings = stores
    release.ship([], [ASTHMA])
    bundled.merge(topics, mappings)
    synced = replace(ASTHMA, summary_html="<p>From the export.</p>", source="medlineplus")
    topics.upsert([synced], meta_values={"catalogue_date_generated": "2026-11-23T00:00:00"})
    release.ship([], [replace(ASTHMA, also_called=("Wheeze",)), ACNE], date="2025-01-01")
    result = bundled.merge(topics, mappings)
    assert topics.get("asthma").summary_html == "<p>From the export.</p>" and topics.get("acne") is None
    assert result.topics["left"] == 2 and result.conflicts == []


def test_a_database_from_before_shipped_merges_has_its_seed_as_the_base(release, stores):
    """What a release before this one left: its first version, the shipped rules it was seeded
    with, and no record of them. A rule it shipped and the new release rewords is updated; one the
    librarian edited is kept."""
    topics, mappings = stores
    old, _ = csv_io.parse("\n".join([HEADER, rule_row("J45", "asthma", "first"), rule_row("L70", "acne", "acne")]))
    topics.upsert([replace(ASTHMA, catalogue_date=""), replace(ACNE, catalogue_date="")])
    mappings.replace_all(old, reason="bundled mappings")  # as that release seeded
    rules = by_code(mappings)
    mappings.update(rules["L70"].id, replace(rules["L70"], priority=3), expected=None, actor="ana")
    release.ship([rule_row("J45", "asthma", "second"), rule_row("L70", "acne", "acne 2")], [ASTHMA, ACNE])
    result = bundled.merge(topics, mappings)
    rules = by_code(mappings)
    assert rules["J45"].reason == "second" and (rules["L70"].priority, rules["L70"].reason) == (3, "acne")
    assert result.topics["updated"] == 2  # link-only topics as shipped: they gain their catalogue date
    assert [t.catalogue_date for t in topics.all()] == ["2024-07-01", "2024-07-01"]


def test_the_admin_history_lists_the_conflicts(release, tmp_path):
    release.ship([rule_row("L70", "acne", "acne")], [ACNE])
    app = create_app(Settings(data_dir=str(tmp_path / "d"), version_check_interval=0.0))
    services = app.extensions["infobutton"]
    try:
        rule = by_code(services.mappings)["L70"]
        services.mappings.update(rule.id, replace(rule, priority=2), expected=None, actor="ana")
        release.ship([rule_row("L70", "acne", "acne, reworded")], [ACNE])
        result = bundled.merge(services.topics, services.mappings)
        client = app.test_client()
        assert sign_in(client, services.tokens.create("viewer person", "viewer")).status_code == 303
        page = client.get("/admin/history")
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and f'id="version-{result.version}"' in text
        assert "ICD-10-CM L70 \u2192 acne (descendants): edited here; this release changes it" in text
    finally:
        services.close()
