"""The precomputed table of ICD-10-CM title matches answers exactly as the live matcher does."""

from dataclasses import replace

import pytest
from werkzeug.datastructures import MultiDict

from infobutton import bundled, knowledge, resolver, terminology
from infobutton.knowledge import KnowledgeService
from infobutton.models import Code, CodeSystem
from infobutton.request import parse
from infobutton.store import open_stores

from .conftest import icd


@pytest.fixture
def svc(tmp_path):
    db, topics, mappings = open_stores(f"sqlite:///{tmp_path}/t.sqlite3")
    bundled.seed(topics, mappings)
    service = KnowledgeService(db, topics, mappings, check_interval=0)
    service.precompute_titles()
    yield service
    db.close()


def test_the_table_answers_as_the_live_matcher_for_every_title_of_5000_codes(svc):
    assert svc._title_matches is not None  # the table is in use
    live = svc.concept_index().match
    codes = terminology.billable()[::13]
    assert len(codes) >= 5000
    answered = 0
    for value in codes:
        for _, title in resolver.title_chain(Code(CodeSystem.ICD10CM, value)):
            assert svc.title_concepts(title) == live(title), title
        request = parse(MultiDict(icd(value)).items(multi=True))
        found = svc.resolve(request)
        assert found == resolver.resolve(request, svc.rules(), svc.topic, svc.max_topics, concepts=live), value
        answered += bool(found)
    assert answered > 200  # the sample holds answered codes, not only empty ones


def test_a_catalogue_changed_since_is_matched_live(svc):
    leukemia = svc.topics.get("leukemia")
    title = terminology.describe(Code(CodeSystem.ICD10CM, "C95.90"))
    assert [m.topic_id for m in svc.title_concepts(title)] == ["leukemia"]
    svc.topics.upsert([replace(leukemia, title="Blood disorders", also_called=(), mesh_headings=())])
    svc.refresh_now()
    assert svc.concept_index().signature != knowledge._title_table[0]
    assert svc._title_matches is None
    assert svc.title_concepts(title) == svc.concept_index().match(title)
    assert "leukemia" not in [m.topic_id for m in svc.title_concepts(title)]
