"""The transactional catalogue import on real SQLite and real PostgreSQL."""

from dataclasses import replace
from pathlib import Path

import pytest

from infobutton.content.catalogue import ImportRefused, import_catalogue
from infobutton.content.medlineplus_xml import InvalidCatalogue, write_catalogue
from infobutton.models import Topic
from infobutton.store import SqlMappingStore, meta, open_stores
from tests.content.bundled_catalogue import MEDLINEPLUS_TOTAL, NOT_MEDLINEPLUS, TOTAL, bundled_catalogue

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "catalogue"


@pytest.fixture
def starter(tmp_path) -> Path:
    path = tmp_path / "starter.xml"
    path.write_bytes(bundled_catalogue("2026-11-23"))
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path}/c.sqlite3" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    db, topics, _ = open_stores(url)
    yield topics
    db.close()


def test_import_records_date_and_counts_and_is_idempotent(store, starter):
    first = import_catalogue(store, starter)
    assert first.counts == {"added": TOTAL, "updated": 0, "unchanged": 0, "withdrawn": 0}
    assert meta.get(store.db, "catalogue_date_generated") == "2026-11-23T00:00:00"
    version = store.version()
    assert import_catalogue(store, starter).counts["unchanged"] == TOTAL
    assert store.version() == version


def test_failures_change_nothing(store, tmp_path, starter):
    import_catalogue(store, starter)
    version = store.version()
    for name in ("billion-laughs.xml", "truncated.xml", "wrong-root.xml"):
        with pytest.raises(InvalidCatalogue):
            import_catalogue(store, DATA / name)
    with pytest.raises(ImportRefused):
        import_catalogue(store, DATA / "small.xml")
    older = tmp_path / "older.xml"
    older.write_bytes(bundled_catalogue("2026-11-01"))
    with pytest.raises(ImportRefused, match="before the catalogue already imported"):
        import_catalogue(store, older)
    assert store.version() == version
    assert len(store.all()) == TOTAL
    assert meta.get(store.db, "catalogue_date_generated") == "2026-11-23T00:00:00"


def test_forced_import_withdraws_and_search_follows(store, starter):
    import_catalogue(store, starter)
    result = import_catalogue(store, DATA / "small.xml", force=True)
    # its four topics are all in the starter catalogue (Asthma among them): upgraded in place
    assert result.counts == {"added": 0, "updated": 4, "unchanged": 0, "withdrawn": MEDLINEPLUS_TOTAL - 4}
    assert [t.id for t in store.search("acute myeloid", "en", 3)] != ["acutemyeloidleukemia"]
    assert store.get("acutemyeloidleukemia").status == "withdrawn"
    assert [t.id for t in store.search("airways", "en", 3)] == ["asthma"]


def export_entry(topic, number: int, text: bool = False) -> str:
    """One <health-topic> as the MedlinePlus export writes it: numeric id, no source attribute."""
    from xml.sax.saxutils import quoteattr

    language = "Spanish" if topic.language == "es" else "English"
    body = ""
    if text:
        body = (
            "<also-called>ALL</also-called><full-summary>&lt;p&gt;Export summary of "
            f"{topic.title}.&lt;/p&gt;</full-summary>"
            '<mesh-heading><descriptor id="D054198">Precursor Cell Lymphoblastic Leukemia-Lymphoma'
            "</descriptor></mesh-heading>"
        )
    return (
        f'<health-topic title={quoteattr(topic.title)} url={quoteattr(topic.url)} id="{number}" '
        f'language="{language}" date-created="04/23/2003">{body}</health-topic>'
    )


def test_a_real_export_upgrades_the_link_only_starter_topics_in_place(store, tmp_path):
    from infobutton import bundled

    assert bundled.merge(store, SqlMappingStore(store.db))  # a fresh install: the empty database is seeded
    shipped = {t.id: t for t in store.all()}
    assert shipped["acutelymphocyticleukemia"].source == "index"
    # the export lists every starter MedlinePlus topic by its page URL, except one MedlinePlus
    # retired since, plus a topic the starter does not have (and none of the NCI pages)
    kept = [t for t in shipped.values() if t.id != "lymphoma" and t.id not in NOT_MEDLINEPLUS]
    entries = [export_entry(t, n, text=t.id == "acutelymphocyticleukemia") for n, t in enumerate(kept, 1)]
    entries.append(  # a topic MedlinePlus added after the starter's list (made up for the test)
        '<health-topic title="Newer Topic" url="https://medlineplus.gov/newertopic.html" id="9999" '
        'language="English" date-created="10/22/2025"><full-summary>&lt;p&gt;Export summary.'
        "&lt;/p&gt;</full-summary></health-topic>"
    )
    path = tmp_path / "mplus_topics_2026-11-24.xml"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<health-topics total="{len(entries)}" '
        f'date-generated="11/24/2026 00:00:00">{"".join(entries)}</health-topics>',
        encoding="utf-8",
    )
    result = import_catalogue(store, path)  # the default guard lets a real sync through
    assert result.counts == {"added": 1, "updated": len(kept), "unchanged": 0, "withdrawn": 1}
    assert {t.id for t in store.all()} == (set(shipped) - {"lymphoma"}) | {"newertopic"}  # no duplicates
    upgraded = store.get("acutelymphocyticleukemia")
    assert (upgraded.source, upgraded.title, upgraded.url) == (
        "medlineplus",
        "Acute Lymphocytic Leukemia",
        "https://medlineplus.gov/acutelymphocyticleukemia.html",
    )
    assert upgraded.summary_html == "<p>Export summary of Acute Lymphocytic Leukemia.</p>"
    assert upgraded.also_called == ("ALL",) and upgraded.date_created == "2003-04-23"
    assert store.get("lymphoma").status == "withdrawn"
    assert {t.source for t in store.all() if t.id not in NOT_MEDLINEPLUS} == {"medlineplus"}
    assert {tid: store.get(tid) for tid in NOT_MEDLINEPLUS} == {tid: shipped[tid] for tid in NOT_MEDLINEPLUS}


def test_a_page_from_elsewhere_does_not_inherit_the_stored_source(store):
    from infobutton.content.catalogue import import_page
    from infobutton.content.page import parse_page

    store.upsert(
        [
            Topic(
                id="asthma",
                title="Asthma",
                url="https://medlineplus.gov/asthma.html",
                language="en",
                meta_desc="From the export.",
                source="medlineplus",
            )
        ]
    )
    page = parse_page("URL of this page: https://example.org/asthma.html\n\n#  Asthma\n\n## Summary\n\nText.\n")
    page = replace(page, id="asthma")
    topic, _ = import_page(store, page)
    assert topic.source == "" and store.get("asthma").source == ""
    assert topic.meta_desc == "From the export."  # other fields are still completed from the store


# Test topics on cancer.gov (not the shipped ones: those come with the starter catalogue).
PDQ = Topic(
    id="test-pdq-one-hp",
    title="One Treatment (PDQ\u00ae)\u2013Health Professional Version",
    url="https://www.cancer.gov/types/test/hp/one-treatment-pdq",
    language="en",
    source="index",
    audience="professional",
)
PDQ_TWO = replace(PDQ, id="test-pdq-two-hp", url="https://www.cancer.gov/types/test/hp/two-treatment-pdq")


def nci_file(folder: Path, date: str, *topics: Topic) -> Path:
    path = folder / f"nci-{date}.xml"
    path.write_text(write_catalogue(list(topics), date_generated=date), encoding="utf-8")
    return path


def on_site(store, name: str) -> set[str]:
    return {t.id for t in store.all() if f"{name}/" in t.url}


def test_a_medlineplus_import_withdraws_only_medlineplus_pages(store, starter):
    import_catalogue(store, starter)
    store.upsert([PDQ])
    nci = on_site(store, "cancer.gov")
    medlineplus = on_site(store, "medlineplus.gov")
    result = import_catalogue(store, DATA / "small.xml", force=True)
    assert result.counts["withdrawn"] == len(medlineplus) - 4 == MEDLINEPLUS_TOTAL - 4
    assert on_site(store, "cancer.gov") == nci  # the export says nothing about cancer.gov pages


def test_an_nci_file_withdraws_only_nci_pages_and_keeps_its_own_date(store, starter, tmp_path):
    import_catalogue(store, starter)
    medlineplus = on_site(store, "medlineplus.gov")
    store.upsert([PDQ, PDQ_TWO])
    result = import_catalogue(store, nci_file(tmp_path, "2025-12-30", PDQ), force=True)
    assert on_site(store, "cancer.gov") == {"test-pdq-one-hp"}
    assert (result.counts["updated"], result.counts["unchanged"]) == (1, 0)  # PDQ gains the file's date
    assert store.get("test-pdq-one-hp").catalogue_date == "2025-12-30"
    assert on_site(store, "medlineplus.gov") == medlineplus
    # dated before the MedlinePlus file, and neither refused for it nor re-dating it
    assert meta.get(store.db, "catalogue_date_generated") == "2026-11-23T00:00:00"
    assert meta.get(store.db, "catalogue_date_generated:cancer.gov") == "2025-12-30T00:00:00"
    assert import_catalogue(store, nci_file(tmp_path, "2025-12-31", PDQ, PDQ_TWO)).counts["updated"] == 1
    with pytest.raises(ImportRefused, match="before the catalogue already imported"):
        import_catalogue(store, nci_file(tmp_path, "2025-12-01", PDQ, PDQ_TWO))  # its own date guards it
    older = tmp_path / "older.xml"
    older.write_bytes(bundled_catalogue("2026-11-01"))
    with pytest.raises(ImportRefused, match="before the catalogue already imported"):
        import_catalogue(store, older)  # and the MedlinePlus date still guards MedlinePlus files


def test_the_withdraw_guard_counts_the_active_topics_on_the_files_sites(store, tmp_path):
    asthma = Topic(id="asthma", title="Asthma", url="https://medlineplus.gov/asthma.html", language="en")
    store.upsert([asthma, replace(asthma, id="acne", url="https://medlineplus.gov/acne.html"), PDQ, PDQ_TWO])
    with pytest.raises(ImportRefused, match="withdraw 1 of 2 active topics"):
        import_catalogue(store, nci_file(tmp_path, "2026-01-01", PDQ), max_withdraw=0.4)
    assert on_site(store, "cancer.gov") == {"test-pdq-one-hp", "test-pdq-two-hp"}
