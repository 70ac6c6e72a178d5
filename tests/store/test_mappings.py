"""The mapping store on real SQLite and PostgreSQL: reads, writes, optimistic checks, and every
write one transaction with its version."""

import hashlib
import json
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from infobutton.models import CodeSystem, Gender, InvalidRequest, MappingRule, Recipient, Scope
from infobutton.store import open_stores
from infobutton.store.codec import CONSTRAINTS, rule_to_dict
from infobutton.store.mappings import Change, MappingConflict, revision
from infobutton.store.schema import mapping_rules

C91 = MappingRule(CodeSystem.ICD10CM, "C91", "leukemia", Scope.DESCENDANTS, priority=5, reason="family")
E11 = MappingRule(CodeSystem.ICD10CM, "E11", "diabetestype2", Scope.EXACT, min_age=18.0, gender=Gender.FEMALE)
SNOMED = MappingRule(CodeSystem.SNOMEDCT, "44054006", "diabetestype2")


@pytest.fixture
def store(database_url):
    db, _, mappings = open_stores(database_url)
    yield mappings
    db.close()


def test_insert_get_find_and_count(store):
    c91, e11, snomed = (store.insert(r, actor="ana") for r in (C91, E11, SNOMED))
    assert [c91.id, e11.id, snomed.id] == sorted({c91.id, e11.id, snomed.id})
    assert store.get(e11.id) == e11 and store.get(10_000) is None
    assert store.rules() == [c91, e11, snomed] and store.count() == 3
    assert store.find(code_system=CodeSystem.ICD10CM) == ([c91, e11], 2)
    assert store.find(topic_id="diabetestype2", limit=1) == ([e11], 2)
    assert store.find(topic_id="diabetestype2", limit=1, offset=1) == ([snomed], 2)
    assert store.find(text="FAMIL") == ([c91], 1)  # reason, case-insensitive
    assert store.find(text="%_") == ([c91, e11, snomed], 3)  # LIKE wildcards are not interpreted
    assert store.find(code="E11", code_system=CodeSystem.SNOMEDCT) == ([], 0)


def test_update_checks_the_revision_it_was_given(store):
    rule = store.insert(C91)
    version = store.version()
    changed = store.update(rule.id, replace(rule, priority=9), expected=revision(rule), actor="ana")
    assert store.get(rule.id) == changed and changed.priority == 9 and store.version() == version + 1
    with pytest.raises(MappingConflict) as stale:
        store.update(rule.id, replace(rule, priority=1), expected=revision(rule), actor="ben")
    assert stale.value.status == 409 and stale.value.current == changed
    assert store.get(rule.id) == changed and store.version() == version + 1
    with pytest.raises(InvalidRequest) as missing:
        store.update(999, rule, expected=None, actor="ana")
    assert missing.value.status == 404


def test_delete_and_apply(store):
    c91, e11 = store.insert(C91), store.insert(E11)
    n = store.delete(c91.id, expected=revision(c91), actor="ana")
    assert store.rules() == [e11] and store.version() == n
    with pytest.raises(MappingConflict):
        store.delete(c91.id, expected=revision(c91), actor="ana")
    n = store.apply(
        [Change(None, SNOMED), Change(e11, replace(e11, priority=3))], actor="ana", action="import", reason="csv"
    )
    rules = store.rules()
    assert [(r.code, r.priority) for r in rules] == [("E11", 3), ("44054006", 0)] and store.version() == n
    with pytest.raises(InvalidRequest) as moved:
        store.apply([Change(None, C91)], actor="ana", action="import", expected_version=n - 1)
    assert moved.value.status == 409 and store.rules() == rules


def test_a_duplicate_rule_raises_integrity_error_and_nothing_is_written(store):
    store.insert(C91)
    rules, version = store.rules(), store.version()
    with pytest.raises(IntegrityError):
        store.insert(replace(C91, priority=1, reason="the same rule again"))
    with pytest.raises(IntegrityError):  # the same context twice: NULL ages and gender count as equal
        store.apply([Change(None, SNOMED), Change(None, SNOMED)], actor="ana", action="import")
    assert store.rules() == rules and store.version() == version
    # a different context is a different rule
    assert store.insert(replace(C91, min_age=0, max_age=18)).id is not None


def test_replace_all_keeps_order_and_ids_only_grow(store):
    old = store.insert(C91)
    store.replace_all([SNOMED, E11, C91], reason="reload")
    rules = store.rules()
    assert [r.code for r in rules] == ["44054006", "E11", "C91"]
    assert all(r.id > old.id for r in rules)
    store.replace_all([])
    assert store.rules() == [] and store.count() == 0


# -- context limits ----------------------------------------------------------------------------

LIMITED = replace(
    C91,
    audiences=(Recipient.PATIENT, Recipient.PROVIDER),
    tasks=("MLREV", "OE"),
    settings=("AMB", "EMER"),
    languages=("en",),
    age_groups=("D000293", "D002648"),
)


def test_context_limits_are_stored_as_canonical_text_and_read_back(store):
    rule = store.insert(LIMITED, actor="ana")
    assert store.get(rule.id) == rule and store.rules() == [rule]
    assert store.find(code="C91") == ([rule], 1)
    row = store.db.one(select(*(mapping_rules.c[n] for n in CONSTRAINTS)).where(mapping_rules.c.id == rule.id))
    assert tuple(row) == ("PAT PROV", "MLREV OE", "AMB EMER", "en", "D000293 D002648")
    changed = store.update(rule.id, replace(rule, tasks=(), languages=("es",)), expected=revision(rule), actor="ana")
    assert store.get(rule.id) == changed and changed.tasks == () and changed.languages == ("es",)


def test_two_rules_that_differ_only_by_a_context_limit_are_two_rules(store):
    plain = store.insert(C91)
    kept = [plain]
    for name, value in (
        ("audiences", (Recipient.PROVIDER,)),
        ("tasks", ("OE",)),
        ("settings", ("EMER",)),
        ("languages", ("es",)),
        ("age_groups", ("D000368",)),
    ):
        kept.append(store.insert(replace(C91, **{name: value})))
    assert store.rules() == kept
    with pytest.raises(IntegrityError):  # the same limits again are the same rule
        store.insert(replace(C91, audiences=(Recipient.PROVIDER,), reason="again"))
    assert store.rules() == kept


def test_a_rule_without_limits_keeps_its_revision_from_before_the_limits():
    """An If-Match read before revision 0005 still matches after it: the hash of the ten fields."""
    before = {k: v for k, v in rule_to_dict(replace(C91, id=7)).items() if k not in CONSTRAINTS}
    assert len(before) == 10
    old = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:16]
    assert revision(replace(C91, id=7)) == old
    assert revision(replace(LIMITED, id=7)) != old
    assert revision(replace(C91, id=7, tasks=("OE",))) != revision(replace(C91, id=7, settings=("OE",)))
