"""Mapping history on real SQLite and PostgreSQL: a numbered snapshot per change, an audit row
per changed rule, restore as a new version, and nothing recorded for a change that failed."""

import json
from dataclasses import replace

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from infobutton.models import CodeSystem, InvalidRequest, MappingRule, Recipient, Scope
from infobutton.store import open_stores
from infobutton.store.codec import CONSTRAINTS, rule_from_dict, rule_to_dict
from infobutton.store.history import SqlHistoryStore
from infobutton.store.mappings import revision
from infobutton.store.schema import mapping_versions

C91 = MappingRule(CodeSystem.ICD10CM, "C91", "leukemia", Scope.DESCENDANTS)
E11 = MappingRule(CodeSystem.ICD10CM, "E11", "diabetestype2", Scope.EXACT, min_age=18.5)


@pytest.fixture
def stores(database_url):
    db, _, mappings = open_stores(database_url)
    yield mappings, SqlHistoryStore(db)
    db.close()


def test_every_change_is_a_version_with_a_snapshot_and_audit_rows(stores):
    mappings, history = stores
    c91 = mappings.insert(C91, actor="ana", reason="first")
    e11 = mappings.insert(E11, actor="ana")
    changed = mappings.update(e11.id, replace(e11, priority=2), expected=revision(e11), actor="ben", reason="up")
    n = mappings.delete(c91.id, expected=revision(c91), actor="ben", reason="gone")
    versions, total = history.versions()
    assert total == 4 and [v.n for v in versions] == [n, n - 1, n - 2, n - 3]
    assert [(v.actor, v.action, v.reason, v.rule_count) for v in versions] == [
        ("ben", "delete", "gone", 1),
        ("ben", "update", "up", 2),
        ("ana", "create", E11.reason, 2),
        ("ana", "create", "first", 1),
    ]
    assert history.version(n) == versions[0] and history.version(n + 1) is None
    assert history.previous(n) == n - 1 and history.previous(n - 3) is None
    assert history.snapshot(n - 1) == [c91, changed] and history.snapshot(n) == [changed]
    assert history.snapshot(n + 1) is None
    entries, total = history.audit(mapping_id=e11.id)
    assert total == 2 and [e.action for e in entries] == ["update", "create"]
    assert entries[0].before["priority"] == 0 and entries[0].after["priority"] == 2
    assert entries[1].before is None and entries[1].after["min_age"] == 18.5
    deleted, _ = history.audit(version=n)
    assert [(e.mapping_id, e.after) for e in deleted] == [(c91.id, None)]
    page, total = history.audit(limit=1, offset=1)
    assert total == 4 and page[0].action == "update"


def test_restore_brings_back_a_version_as_a_new_one_with_its_ids(stores):
    mappings, history = stores
    c91 = mappings.insert(C91)
    first = mappings.version()
    mappings.replace_all([E11], reason="swap")
    n = mappings.restore(first, actor="ana")
    assert n == first + 2 and mappings.rules() == [c91]
    assert history.version(n).action == "restore" and history.version(n).reason == f"restore version {first}"
    assert mappings.restore(n, actor="ana") is None  # already there: no new version
    assert mappings.version() == n
    new = mappings.insert(E11)
    assert new.id > max(r.id for r in history.snapshot(first + 1))  # ids never reused
    with pytest.raises(InvalidRequest) as missing:
        mappings.restore(999, actor="ana")
    assert missing.value.status == 404


def test_a_failed_change_records_no_version_and_no_audit(stores):
    mappings, history = stores
    mappings.insert(C91)
    before = (history.versions(), history.audit(), mappings.version())
    with pytest.raises(IntegrityError):
        mappings.replace_all([E11, E11])
    # a caller's transaction that fails after the write
    with pytest.raises(RuntimeError), mappings.db.transaction():
        mappings.insert(E11)
        raise RuntimeError("later step failed")
    assert (history.versions(), history.audit(), mappings.version()) == before
    assert mappings.rules() == [replace(C91, id=mappings.rules()[0].id)]


# -- context limits ----------------------------------------------------------------------------

LIMITED = replace(C91, audiences=(Recipient.PROVIDER,), tasks=("OE",), languages=("es",), age_groups=("D000368",))


def test_snapshots_audit_and_restore_keep_context_limits(stores):
    mappings, history = stores
    rule = mappings.insert(LIMITED, actor="ana")
    first = mappings.version()
    plain = mappings.update(rule.id, replace(rule, tasks=(), age_groups=()), expected=revision(rule), actor="ben")
    assert history.snapshot(first) == [rule] and history.snapshot(first + 1) == [plain]
    (entry, created), _ = history.audit(mapping_id=rule.id)
    assert created.after["audiences"] == ["PROV"] and created.after["age_groups"] == ["D000368"]
    assert entry.before["tasks"] == ["OE"] and entry.after["tasks"] == [] and entry.after["languages"] == ["es"]
    n = mappings.restore(first, actor="ana")
    assert n is not None and mappings.rules() == [rule]
    restored, _ = history.audit(version=n)
    assert restored[0].after["tasks"] == ["OE"]


def test_a_snapshot_written_before_context_limits_still_loads_and_restores(stores):
    """Versions written before revision 0005 have no limit keys: their rules had no limits."""
    mappings, history = stores
    rule = mappings.insert(LIMITED)
    old = {k: v for k, v in rule_to_dict(replace(C91, id=rule.id)).items() if k not in CONSTRAINTS}
    with mappings.db.transaction():
        mappings.db.execute(
            insert(mapping_versions).values(
                n=100,
                at="2026-01-01T00:00:00+00:00",
                actor="0.1.0",
                action="create",
                rule_count=1,
                rules=json.dumps([old]),
            )
        )
    assert history.snapshot(100) == [replace(C91, id=rule.id)]
    assert mappings.restore(100, actor="ana") is not None
    assert mappings.rules() == [replace(C91, id=rule.id)]
    assert rule_from_dict({**old, "tasks": None, "settings": "AMB EMER"}).settings == ("AMB", "EMER")
