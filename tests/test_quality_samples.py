"""The judged samples of bench/quality.py are what their README says: the uniform one is exactly
the seeded random draw, the common one exactly its stated selection from the candidate list, every
judged topic is a real MedlinePlus topic, and the scoring counts wrong and served as defined.

Nothing here asserts what the service answers for a judged code: the samples judge the service."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from tests.conftest import SHARED, bench_script

ROOT = Path(__file__).resolve().parents[1]
JUDGED = ROOT / "bench" / "judged"
CATALOGUE = SHARED / "medlineplus" / "topics-2024.tsv"


quality = bench_script("quality")


def rows(name: str) -> list[dict]:
    with open(JUDGED / name, encoding="utf-8") as f:
        return list(csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t"))


def titles() -> dict[str, str]:
    with open(CATALOGUE, encoding="utf-8") as f:
        return {r["title"]: r["url"] for r in csv.DictReader(f, delimiter="\t")}


def test_the_uniform_sample_is_the_seeded_draw_unedited():
    codes = [r["code"] for r in rows("uniform-500.tsv")]
    assert codes == quality.draw(500, 20261207)


def test_the_common_sample_is_the_stated_share_of_each_candidate_group():
    groups = [line.split() for line in (JUDGED / "common-candidates.txt").read_text().splitlines() if line.strip()]
    expected = [code for group in groups for code in group[: math.ceil(len(group) * 0.52)]]
    assert [r["code"] for r in rows("common.tsv")] == expected and len(expected) == 259


def test_every_judged_row_is_complete_and_names_real_topics():
    known = titles()
    for name in ("uniform-500.tsv", "common.tsv"):
        for r in rows(name):
            judged = [t for cell in (r["right"], r["broad"]) for t in cell.split("|") if t]
            assert all(t in known for t in judged), (name, r["code"])
            assert (r["nothing_fits"] == "yes") == (not judged), (name, r["code"])


def test_scoring_counts_wrong_and_served_as_defined():
    judged = quality.Judged("X", right=frozenset({"a"}), broad=frozenset({"b"}))
    nothing = quality.Judged("Y", right=frozenset(), broad=frozenset())
    score = quality.Score()
    outcomes = [
        score.add(judged, ["a", "c"]),  # right first
        score.add(judged, ["b"]),  # broad first
        score.add(judged, ["c", "a"]),  # another topic first: wrong, even with a right one after
        score.add(judged, []),  # a fitting code left empty
        score.add(nothing, ["a"]),  # nothing fits, yet answered: wrong
        score.add(nothing, []),
    ]
    assert outcomes == ["right", "broad", "wrong", "empty", "wrong", "none"]
    assert (score.codes, score.answered, score.wrong, score.fitting, score.served) == (6, 4, 2, 4, 2)


@pytest.mark.parametrize("name, served_target", quality.SAMPLES)
def test_the_shipped_service_meets_the_blind_judged_targets(services, name, served_target):
    """The bench's gate, on the service as shipped (bundled catalogue and crosswalk): a wrong first
    topic for at most 1% of the answered judged codes, and the fitting ones served as targeted."""
    id_of_title = {t.title: t.id for t in services.topics.all() if t.language == "en"}
    score = quality.Score()
    for row in quality.load_judged(JUDGED / name, id_of_title):
        score.add(row, [m.topic.id for m in services.knowledge.resolve(quality.request_for(row.code))])
    assert score.wrong <= quality.WRONG_TARGET * score.answered, (score.wrong, score.answered)
    assert score.served >= served_target * score.fitting, (score.served, score.fitting)
