"""Free-text search and withdrawal in the topic store, on real SQLite (FTS5) and real PostgreSQL
(tsvector): ranked, per language, kept in step with the rows in the same transaction."""

from dataclasses import replace

import pytest

from infobutton import bundled
from infobutton.store import open_stores
from infobutton.store.search import terms
from infobutton.store.topics import ImportRefused
from tests.synced_topics import synced


def catalogue_topics():
    """The shipped catalogue with the leukemia family as a sync would leave it (Spanish twins)."""
    return synced(bundled.load_topics())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def stores(request, tmp_path):
    url = f"sqlite:///{tmp_path}/s.sqlite3" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    db, topics, mappings = open_stores(url)
    topics.upsert(catalogue_topics())
    yield db, topics
    db.close()


def ids(topics):
    return [t.id for t in topics]


def test_cml_ranks_first_for_its_name(stores):
    _, topics = stores
    found = ids(topics.search("chronic myeloid leukemia", "en", 3))
    assert found[0] == "chronicmyeloidleukemia"
    assert "leukemia" in found


def test_search_is_in_the_requested_language_with_accents_folded(stores):
    _, topics = stores
    assert ids(topics.search("leucemia mieloide cronica", "es", 1)) == ["chronicmyeloidleukemia-es"]
    assert ids(topics.search("Leucemia mieloide crónica", "es", 1)) == ["chronicmyeloidleukemia-es"]
    assert all(t.language == "en" for t in topics.search("leukemia", "en", 10))


def test_also_called_terms_are_searched(stores):
    _, topics = stores
    cml = topics.get("chronicmyeloidleukemia")
    topics.upsert([replace(cml, also_called=("Zymurgic syndrome",))])
    assert ids(topics.search("zymurgic", "en", 3)) == ["chronicmyeloidleukemia"]


def test_one_shared_word_is_not_a_match(stores):
    """Every word must match: "acute bronchitis" sharing "acute" with a leukemia title is no answer."""
    _, topics = stores
    assert ids(topics.search("myeloid xyzzyplugh", "en", 5)) == []
    assert ids(topics.search("acute frobnitis", "en", 5)) == []
    assert ids(topics.search("acute bronchitis", "en", 5)) == ["acutebronchitis"]  # its own page, no leukemia
    assert "chronicmyeloidleukemia" in ids(topics.search("myeloid chronic", "en", 5))


def test_query_syntax_is_never_interpreted(stores):
    _, topics = stores
    for text in ('leukemia" OR "', "NEAR(a b)", "a & | ! ( :*", "*", "'; DROP TABLE topics; --"):
        topics.search(text, "en", 3)  # no error
    assert terms("chronic & myeloid | (leukemia)") == ["chronic", "myeloid", "leukemia"]
    assert topics.search("   ", "en", 3) == []


def test_index_follows_updates_in_the_same_transaction(stores):
    _, topics = stores
    asthma_like = replace(
        topics.get("childhoodleukemia"),
        title="Quixotic Wheeze",
        summary_html="<p>Nothing about blood.</p>",
        also_called=(),
    )
    topics.upsert([asthma_like])
    assert ids(topics.search("quixotic wheeze", "en", 3)) == ["childhoodleukemia"]
    assert "childhoodleukemia" not in ids(topics.search("childhood", "en", 5))


def test_withdrawn_topics_are_not_found(stores):
    _, topics = stores
    keep = [t for t in catalogue_topics() if t.id != "chronicmyeloidleukemia"]
    counts = topics.upsert(keep, withdraw_missing=True)
    assert counts == {"added": 0, "updated": 0, "unchanged": len(keep), "withdrawn": 1}
    assert "chronicmyeloidleukemia" not in ids(topics.search("chronic myeloid", "en", 5))


def test_withdrawal_keeps_the_row_and_reappearance_restores_it(stores):
    db, topics = stores
    catalogue = catalogue_topics()
    before = topics.version()
    topics.upsert(catalogue[1:], withdraw_missing=True)
    gone = topics.get(catalogue[0].id)
    assert gone is not None and gone.status == "withdrawn"
    assert catalogue[0].id not in ids(topics.all())
    assert catalogue[0].id in ids(topics.all(include_withdrawn=True))
    assert topics.version() == before + 1
    counts = topics.upsert(catalogue, withdraw_missing=True)
    assert counts == {"added": 0, "updated": 1, "unchanged": len(catalogue) - 1, "withdrawn": 0}
    assert topics.get(catalogue[0].id).status == "active"
    # the same catalogue again changes nothing and does not move the version
    version = topics.version()
    assert topics.upsert(catalogue, withdraw_missing=True)["unchanged"] == len(catalogue)
    assert topics.version() == version


def test_too_many_withdrawals_are_refused_and_nothing_changes(stores):
    db, topics = stores
    catalogue = catalogue_topics()
    version = topics.version()
    changed = replace(catalogue[0], title="Changed")
    with pytest.raises(ImportRefused, match=f"withdraw {len(catalogue) - 1} of {len(catalogue)}"):
        topics.upsert([changed], withdraw_missing=True, max_withdraw=0.5)
    assert topics.version() == version
    assert topics.get(catalogue[0].id).title == catalogue[0].title
    assert len(topics.all()) == len(catalogue)


def test_index_is_built_for_a_database_that_predates_it(tmp_path):
    url = f"sqlite:///{tmp_path}/old.sqlite3"
    db, topics, _ = open_stores(url)
    topics.upsert(bundled.load_topics())
    db.execute("DROP TABLE topics_fts")
    db.execute("DROP TABLE alembic_version")  # made before revisions were recorded, too
    db.close()
    db, topics, _ = open_stores(url)
    assert ids(topics.search("chronic myeloid leukemia", "en", 1)) == ["chronicmyeloidleukemia"]
    db.close()


def test_english_hits_stand_in_for_a_language_without_matches(stores):
    _, topics = stores
    cml = topics.get("chronicmyeloidleukemia")
    topics.upsert([replace(cml, also_called=("Glorpwort",))])
    assert ids(topics.search("glorpwort", "es", 3)) == ["chronicmyeloidleukemia-es"]


def test_a_lone_summary_word_is_no_match(stores):
    """Only the any-word fallback is loose; it must not match on words buried in a summary."""
    _, topics = stores
    assert "relapse" in topics.get("leukemia").summary_html  # stems like "relapses" do match it
    assert ids(topics.search("Relapses of enabling machines", "en", 3)) == []


def test_topics_for_health_professionals_take_only_the_places_no_other_match_fills(stores):
    _, topics = stores
    # by words alone the NCI CML summaries may rank above the MedlinePlus pages; they come after them
    found = topics.search("chronic myeloid leukemia", "en", 3)
    assert ids(found)[:2] == ["chronicmyeloidleukemia", "leukemia"]
    assert [t.audience for t in found] == ["", "", "professional"]  # two match; the third place is free
    assert ids(topics.search("chronic myeloid leukemia", "en", 2)) == ["chronicmyeloidleukemia", "leukemia"]
    audiences = [t.audience for t in topics.search("leukemia", "en", 20)]
    assert "professional" in audiences and audiences == sorted(audiences)  # "" before "professional"
    only = ids(topics.search("hairy cell", "en", 3))
    assert only == ["nci-pdq-hairy-cell-hp"]  # nothing else fits: the professional topic answers
