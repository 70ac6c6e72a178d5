"""The database handle and stores on real SQLite and real PostgreSQL: transactions are all or nothing."""

import contextlib
from dataclasses import replace

import pytest

from infobutton import bundled
from infobutton.models import CodeSystem, MappingRule, Scope, Site, Topic, TopicRef
from infobutton.store import open_stores


@pytest.fixture
def stores(database_url):
    db, topics, mappings = open_stores(database_url)
    yield db, topics, mappings
    db.close()


def test_seed_round_trips_topics_and_rules(stores):
    db, topics, mappings = stores
    assert bundled.merge(topics, mappings)
    assert bundled.merge(topics, mappings) is None  # the same shipped content: nothing to merge
    original = {t.id: t for t in bundled.load_topics()}
    assert {t.id: t for t in topics.all()} == original
    assert topics.get("leukemia") == original["leukemia"]
    assert [replace(r, id=None) for r in mappings.rules()] == bundled.load_rules()


def test_upsert_counts_and_is_idempotent(stores):
    db, topics, mappings = stores
    catalogue = bundled.load_topics()
    total = len(catalogue)
    assert topics.upsert(catalogue) == {"added": total, "updated": 0, "unchanged": 0}
    version = topics.version()
    assert topics.upsert(catalogue) == {"added": 0, "updated": 0, "unchanged": total}
    assert topics.version() == version
    changed = [replace(catalogue[0], title="Changed")] + catalogue[1:]
    assert topics.upsert(changed) == {"added": 0, "updated": 1, "unchanged": total - 1}
    assert topics.version() == version + 1


def test_failed_transaction_changes_nothing(stores):
    db, topics, mappings = stores
    bundled.merge(topics, mappings)
    rules, version = mappings.rules(), mappings.version()
    bad = [MappingRule(CodeSystem.ICD10CM, "C91", "leukemia")] * 2  # violates the unique index
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        mappings.replace_all(bad)
    assert mappings.rules() == rules and mappings.version() == version


def test_insert_returns_id_and_bumps_version(stores):
    db, topics, mappings = stores
    version = mappings.version()
    rule = mappings.insert(
        MappingRule(CodeSystem.SNOMEDCT, "93143009", "leukemia", Scope.EXACT, min_age=0, max_age=18.5)
    )
    assert rule.id is not None and mappings.version() == version + 1
    assert mappings.rules()[-1] == rule


def test_topic_rows_from_a_newer_version_still_load():
    """A field added by a later release (rolling upgrade, shared database) must not break reads."""
    import json

    from infobutton.store.codec import from_json, to_json

    topic = replace(
        bundled.load_topics()[0],
        sites=(Site("Leukemia", "https://example.org/", "Start Here"),),
        twin=TopicRef("leukemia-es", "Leucemia", "https://medlineplus.gov/spanish/leukemia.html"),
    )
    data = json.loads(to_json(topic))
    data["field_from_the_future"] = 1
    data["sites"][0]["rating"] = 5
    data["twin"]["extra"] = "x"
    assert from_json(json.dumps(data)) == topic


def test_source_survives_the_store_and_rows_written_before_it_load_as_unknown(stores):
    import json

    db, topics, _ = stores
    sources = ("medlineplus", "index", "upstream:connect.example.org", "local", "")
    written = [
        Topic(id=f"t{i}", title=f"Topic {i}", url=f"https://medlineplus.gov/t{i}.html", language="en", source=source)
        for i, source in enumerate(sources)
    ]
    topics.upsert(written)
    assert [topics.get(t.id).source for t in written] == list(sources)
    assert {t.id: t.source for t in topics.all()} == {t.id: t.source for t in written}
    # a row written by a release without Topic.source
    data = json.loads(db.scalar("SELECT data FROM topics WHERE id = ?", ("t0",)))
    del data["source"]
    with db.transaction():
        db.execute("UPDATE topics SET data = ? WHERE id = ?", (json.dumps(data), "t0"))
    assert topics.get("t0").source == ""


def test_a_new_source_is_a_change_and_the_same_source_is_not(stores):
    _, topics, _ = stores
    link_only = Topic(
        id="asthma", title="Asthma", url="https://medlineplus.gov/asthma.html", language="en", source="index"
    )
    assert topics.upsert([link_only])["added"] == 1
    version = topics.version()
    assert topics.upsert([link_only])["unchanged"] == 1 and topics.version() == version
    assert topics.upsert([replace(link_only, source="medlineplus")])["updated"] == 1
    assert topics.get("asthma").source == "medlineplus" and topics.version() == version + 1


def test_topics_stored_before_a_field_was_added_keep_their_content_hash():
    """Topic.audience came after 0.1.0: a topic that leaves it at its default must hash as 0.1.0
    hashed it, or the first import after an upgrade would report every topic as changed (and
    re-index them all) when nothing changed."""
    import sqlite3

    from infobutton.store.codec import content_hash, from_json

    from .test_migrations import sqlite_010

    with contextlib.closing(sqlite3.connect(sqlite_010())) as db:
        rows = db.execute("SELECT id, data, content_hash FROM topics").fetchall()
    assert len(rows) > 200
    assert [tid for tid, data, digest in rows if content_hash(from_json(data)) != digest] == []
    stored = from_json(rows[0][1])
    assert stored.audience == ""
    assert content_hash(replace(stored, audience="professional")) != rows[0][2]  # a real value is a change


def test_audience_survives_the_store_and_rows_written_before_it_load_as_everyones(stores):
    import json

    db, topics, _ = stores
    professional = Topic(
        id="nci-pdq-cll-hp",
        title="Chronic Lymphocytic Leukemia Treatment (PDQ\u00ae)\u2013Health Professional Version",
        url="https://www.cancer.gov/types/leukemia/hp/cll-treatment-pdq",
        language="en",
        source="index",
        audience="professional",
    )
    everyone = Topic(id="asthma", title="Asthma", url="https://medlineplus.gov/asthma.html", language="en")
    topics.upsert([professional, everyone])
    assert topics.get("nci-pdq-cll-hp") == professional and topics.get("asthma").audience == ""
    assert "audience" not in json.loads(db.scalar("SELECT data FROM topics WHERE id = ?", ("asthma",)))
    version = topics.version()
    assert topics.upsert([replace(professional, audience="")])["updated"] == 1  # a change of audience is a change
    assert topics.get("nci-pdq-cll-hp").audience == "" and topics.version() == version + 1
