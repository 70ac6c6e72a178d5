"""Rejected suggestions on real SQLite and real PostgreSQL: audited, idempotent, all or nothing."""

import pytest

from infobutton.models import CodeSystem
from infobutton.store import open_stores
from infobutton.store.rejections import SqlRejectionStore

ICD = CodeSystem.ICD10CM
E11 = (ICD, "E11", "diabetestype2")
C91 = (ICD, "C91", "leukemia")


@pytest.fixture
def store(database_url):
    db, _, mappings = open_stores(database_url)
    open_stores(database_url)[0].close()  # migrating again changes nothing
    yield SqlRejectionStore(db), mappings
    db.close()


def test_reject_is_stored_with_who_when_and_why_and_audited(store):
    rejections, mappings = store
    version = mappings.version()
    assert rejections.reject([E11, C91], actor="ana", reason="E11 is covered by hand") == [E11, C91]
    assert rejections.keys() == {E11, C91}
    found = rejections.get(E11)
    assert (found.actor, found.reason) == ("ana", "E11 is covered by hand")
    assert found.at.startswith("20") and "T" in found.at
    assert [r.key for r in rejections.all()] == [C91, E11]
    assert rejections.reject([E11], actor="ben") == []  # already rejected: unchanged, not audited
    assert rejections.get(E11).actor == "ana"
    events, total = rejections.audit()
    assert total == 2 and {(e.action, e.actor, e.code, e.topic_id) for e in events} == {
        ("reject", "ana", "E11", "diabetestype2"),
        ("reject", "ana", "C91", "leukemia"),
    }
    assert mappings.version() == version  # rejecting changes no mapping and makes no version


def test_unreject_lifts_it_and_is_audited(store):
    rejections, _ = store
    rejections.reject([E11], actor="ana")
    assert rejections.unreject([E11, C91], actor="ben", reason="new topic text") == [E11]
    assert rejections.keys() == frozenset() and rejections.get(E11) is None
    events, total = rejections.audit()
    assert total == 2
    assert (events[0].action, events[0].actor, events[0].reason) == ("unreject", "ben", "new topic text")
    assert rejections.unreject([E11], actor="ben") == []


def test_a_failing_batch_writes_nothing(store):
    rejections, _ = store
    with pytest.raises(AttributeError):
        rejections.reject([E11, ("not a code system", "C91", "leukemia")], actor="ana")
    assert rejections.keys() == frozenset()
    assert rejections.audit()[1] == 0
