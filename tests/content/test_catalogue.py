"""The transactional catalogue import on real SQLite and real PostgreSQL."""

from pathlib import Path

import pytest

from infobutton.content.catalogue import ImportRefused, import_catalogue
from infobutton.content.medlineplus_xml import InvalidCatalogue
from infobutton.store import meta, open_stores

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "catalogue"
STARTER = ROOT / "topics" / "starter-topics.xml"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path}/c.sqlite3" if request.param == "sqlite" \
        else request.getfixturevalue("postgres_url")
    db, topics, _ = open_stores(url)
    yield topics
    db.close()


def test_import_records_date_and_counts_and_is_idempotent(store):
    first = import_catalogue(store, STARTER)
    assert first.counts == {"added": 12, "updated": 0, "unchanged": 0, "withdrawn": 0}
    assert meta.get(store.db, "catalogue_date_generated") == "2026-11-23T00:00:00"
    version = store.version()
    assert import_catalogue(store, STARTER).counts["unchanged"] == 12
    assert store.version() == version


def test_failures_change_nothing(store, tmp_path):
    import_catalogue(store, STARTER)
    version = store.version()
    for name in ("billion-laughs.xml", "truncated.xml", "wrong-root.xml"):
        with pytest.raises(InvalidCatalogue):
            import_catalogue(store, DATA / name)
    with pytest.raises(ImportRefused):
        import_catalogue(store, DATA / "small.xml")
    older = tmp_path / "older.xml"
    older.write_bytes(STARTER.read_bytes().replace(b"11/23/2026", b"11/01/2026"))
    with pytest.raises(ImportRefused, match="before the catalogue already imported"):
        import_catalogue(store, older)
    assert store.version() == version
    assert len(store.all()) == 12
    assert meta.get(store.db, "catalogue_date_generated") == "2026-11-23T00:00:00"


def test_forced_import_withdraws_and_search_follows(store):
    import_catalogue(store, STARTER)
    result = import_catalogue(store, DATA / "small.xml", force=True)
    assert result.counts == {"added": 1, "updated": 3, "unchanged": 0, "withdrawn": 9}
    assert [t.id for t in store.search("acute myeloid", "en", 3)] != ["acutemyeloidleukemia"]
    assert store.get("acutemyeloidleukemia").status == "withdrawn"
    assert [t.id for t in store.search("airways", "en", 3)] == ["asthma"]
