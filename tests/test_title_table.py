"""The precomputed table of ICD-10-CM titles' whole-name matches answers exactly as the live matcher does."""

from dataclasses import replace

import pytest
from werkzeug.datastructures import MultiDict

from infobutton import bundled, knowledge, resolver, terminology
from infobutton.knowledge import KnowledgeService, TitleTable
from infobutton.models import Code, CodeSystem
from infobutton.request import parse
from infobutton.store import open_stores

from .conftest import icd, wait_until


@pytest.fixture
def svc(tmp_path):
    db, topics, mappings = open_stores(f"sqlite:///{tmp_path}/t.sqlite3")
    topics.upsert(bundled.load_topics())  # the catalogue only: no rule hides the automatic layer
    service = KnowledgeService(db, topics, mappings, check_interval=0)
    service.precompute_titles()
    yield service
    db.close()


@pytest.mark.slow
def test_the_table_answers_as_the_live_matcher_for_every_title_of_5000_codes(svc):
    assert svc._title_matches is not None  # the table is in use
    index = svc.concept_index()
    live = index.named
    codes = terminology.billable()[::13]
    assert len(codes) >= 5000
    answered = 0
    for value in codes:
        for _, title in resolver.title_chain(Code(CodeSystem.ICD10CM, value)):
            assert svc.title_names(title) == live(title), title
        request = parse(MultiDict(icd(value)).items(multi=True))
        found = svc.resolve(request)
        assert found == resolver.resolve(
            request, svc.rules(), svc.topic, svc.max_topics, concepts=index.match, named=live
        ), value
        answered += bool(found)
    assert answered > 50  # the sample holds answered codes, not only empty ones


def test_a_catalogue_changed_since_is_matched_live(svc):
    leukemia = svc.topics.get("leukemia")
    title = terminology.describe(Code(CodeSystem.ICD10CM, "C95.9"))  # "Leukemia, unspecified"
    assert [m.topic_id for m in svc.title_names(title)] == ["leukemia"]
    svc.topics.upsert([replace(leukemia, title="Blood disorders", also_called=(), mesh_headings=())])
    svc.refresh_now()
    assert svc.titles.for_catalogue(svc.concept_index()) is None
    assert svc._title_matches is None
    assert svc.title_names(title) == svc.concept_index().named(title)
    assert "leukemia" not in [m.topic_id for m in svc.title_names(title)]


def test_a_service_handed_a_built_table_uses_it_without_matching_titles(svc, monkeypatch):
    """As each worker ``serve`` forks: the table the arbiter built is used as it is."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("titles matched again")

    monkeypatch.setattr(knowledge, "match_titles", refuse)
    worker = KnowledgeService(svc.db, svc.topics, svc.mappings, check_interval=0, titles=svc.titles)
    worker.precompute_titles()
    assert worker._title_matches is svc._title_matches is not None


def test_each_service_has_its_own_table_unless_handed_one(svc):
    other = KnowledgeService(svc.db, svc.topics, svc.mappings, check_interval=0)
    assert other.titles is not svc.titles
    other.concept_index()
    assert other._title_matches is None  # nothing built for it: matched live


@pytest.fixture
def fresh(tmp_path):
    """A service whose table is kept fresh, as under ``serve``."""
    db, topics, mappings = open_stores(f"sqlite:///{tmp_path}/t.sqlite3")
    topics.upsert(bundled.load_topics())  # the catalogue only: no rule hides the automatic layer
    service = KnowledgeService(db, topics, mappings, check_interval=0, titles=TitleTable(keep_fresh=True))
    service.precompute_titles()
    yield service
    builder = service._title_builder
    if builder is not None:
        builder.join(timeout=300)
    db.close()


@pytest.mark.slow
def test_after_a_catalogue_change_the_table_is_rebuilt_without_a_restart(fresh):
    """A topic added by a sync is matched by the automatic layer at once (live), and the title
    table for the new catalogue is built in the background, so the live matching ends."""
    alkalosis = Code(CodeSystem.ICD10CM, "E87.3")
    request = parse(MultiDict(icd("E87.3")).items(multi=True))
    assert fresh.resolve(request) == []  # no alkalosis topic in the bundled catalogue, and no rule
    acne = fresh.topics.get("acne")
    added = replace(acne, id="alkalosis", title="Alkalosis", url="https://medlineplus.gov/alkalosis.html")
    fresh.topics.upsert([added])
    fresh.refresh_now()
    found = fresh.resolve(request)  # matched live while the table is being built
    assert [(m.topic.id, m.provenance.value) for m in found] == [("alkalosis", "automatic")]
    wait_until(lambda: fresh._title_matches is not None, timeout=300, what="the title table to be rebuilt")
    assert fresh.titles.for_catalogue(fresh.concept_index()) is fresh._title_matches
    for _, title in resolver.title_chain(alkalosis):
        assert fresh.title_names(title) == fresh.concept_index().named(title)
    assert "alkalosis" in [m.topic_id for m in fresh._title_matches["Alkalosis"]]
    assert fresh.resolve(request) == found


def test_without_keep_fresh_no_table_is_built_after_a_change(svc):
    leukemia = svc.topics.get("leukemia")
    svc.topics.upsert([replace(leukemia, title="Blood disorders", also_called=(), mesh_headings=())])
    svc.refresh_now()
    svc.concept_index()
    assert svc._title_builder is None and svc._title_matches is None
