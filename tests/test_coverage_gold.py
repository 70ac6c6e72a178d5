"""The reviewed gold set (bench/gold.csv) is sound, and bench/coverage.py judges answers against it
the way docs/answers.md defines: right first, right anywhere, wrong, empty; free text for a valid code fails.

The gold set judges the service, so nothing here asserts what the service answers for a gold code:
only that each row is a valid billable code with its official title as evidence, points at a real
MedlinePlus topic (or at none), and that the set is big and broad enough."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import simple_icd_10_cm as cm

from infobutton import bundled, terminology
from infobutton.models import CodeSystem, Provenance, Topic, TopicMatch
from tests.conftest import SHARED, bench_script, require

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "bench" / "gold.csv"
INDEX = SHARED / "medlineplus" / "topic-index-2026-10.tsv"
# Shipped beside the 204 index topics; not in the index itself.
EXTRA_TOPICS = {
    "leukemia": "Leukemia",
    "childhoodleukemia": "Childhood Leukemia",
    "myeloproliferativedisorders": "Myeloproliferative Disorders",
    "lymphoma": "Lymphoma",
}


coverage = bench_script("coverage")

ROWS = coverage.load_gold(GOLD)


def chapter(code: str) -> str:
    return cm.get_ancestors(code)[-1]


def index_titles() -> dict[str, str]:
    """MedlinePlus topic id (the page's URL stem) → title, from the shared topic index."""
    require(INDEX.exists(), f"{INDEX} not found")
    with open(INDEX, newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t")
        return {r["url"].rsplit("/", 1)[1].removesuffix(".html"): r["title"] for r in rows}


# -- the gold set --------------------------------------------------------------------------------


def test_gold_columns_are_code_expected_topic_why():
    with open(GOLD, newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == ["code", "expected_topic_id", "why"]


def test_gold_is_big_and_broad_enough():
    negatives = [r for r in ROWS if not r.expected]
    chapters = {chapter(r.code) for r in ROWS if cm.is_valid_item(r.code)}
    assert len(ROWS) >= 120
    assert len(negatives) >= 40
    assert len(ROWS) - len(negatives) >= 80
    assert len(chapters) >= 15, sorted(chapters, key=int)


def test_every_gold_code_is_a_valid_billable_icd10cm_code_once():
    codes = [r.code for r in ROWS]
    assert len(codes) == len(set(codes)), "a code appears twice"
    bad = [
        c for c in codes if not terminology.is_valid(terminology.make_code(CodeSystem.ICD10CM, c)) or not cm.is_leaf(c)
    ]
    assert bad == []


def test_every_why_names_the_official_title():
    """The evidence quotes the code's title as simple-icd-10-cm has it: a row written from memory,
    or left behind when a new ICD-10-CM release renames the code, fails here."""
    stale = [
        (r.code, cm.get_description(r.code)) for r in ROWS if f"ICD-10-CM '{cm.get_description(r.code)}'" not in r.why
    ]
    assert stale == []


def test_expected_topics_are_medlineplus_topics_named_in_the_why():
    titles = {**index_titles(), **EXTRA_TOPICS}
    unknown = sorted({r.expected for r in ROWS if r.expected and r.expected not in titles})
    assert unknown == []
    uncited = [(r.code, r.expected) for r in ROWS if r.expected and f"topic '{titles[r.expected]}'" not in r.why]
    assert uncited == []


def test_expected_topics_are_in_the_shipped_catalogue():
    expected = {r.expected for r in ROWS if r.expected}
    shipped = {t.id for t in bundled.load_topics()}
    if len(expected & shipped) < len(expected) // 2:
        pytest.skip(
            f"the starter catalogue of MedlinePlus topics is not on this branch yet: "
            f"{len(expected & shipped)} of the {len(expected)} expected topics are shipped"
        )
    assert sorted(expected - shipped) == []


# -- judging (bench/coverage.py) -------------------------------------------------------------------

POSITIVE = coverage.GoldRow("C91.00", "acutelymphocyticleukemia", "")
NEGATIVE = coverage.GoldRow("Z37.51", "", "")


@pytest.mark.parametrize(
    "row, got, outcome, anywhere",
    [
        (POSITIVE, (("acutelymphocyticleukemia", "curated"), ("leukemia", "curated")), "right", True),
        (POSITIVE, (("leukemia", "automatic"), ("acutelymphocyticleukemia", "automatic")), "wrong", True),
        (POSITIVE, (("lymphoma", "automatic"),), "wrong", False),
        (POSITIVE, (), "empty", False),
        (NEGATIVE, (), "right", False),
        (NEGATIVE, (("acutelymphocyticleukemia", "automatic"),), "wrong", False),
    ],
)
def test_judge(row, got, outcome, anywhere):
    verdict = coverage.judge(row, got)
    assert (verdict.outcome, verdict.anywhere) == (outcome, anywhere)


def test_score_counts_each_outcome():
    verdicts = [
        coverage.judge(POSITIVE, (("acutelymphocyticleukemia", "curated"),)),
        coverage.judge(POSITIVE, (("leukemia", "curated"), ("acutelymphocyticleukemia", "curated"))),
        coverage.judge(POSITIVE, ()),
        coverage.judge(NEGATIVE, ()),
        coverage.judge(NEGATIVE, (("lymphoma", "automatic"),)),
    ]
    assert coverage.score(verdicts) == coverage.Score(
        positives=3,
        right_first=1,
        right_anywhere=2,
        wrong_positive=1,
        empty=1,
        negatives=2,
        right_empty=1,
        wrong_negative=1,
    )


def test_a_curated_label_without_a_rule_is_not_taken_on_trust():
    topic = Topic("leukemia", "Leukemia", "https://medlineplus.gov/leukemia.html", "en")
    criterion = coverage.request_for("C95.90").criteria[0]
    assert coverage.layer(TopicMatch(topic, criterion, None, 0, Provenance.AUTOMATIC)) == "automatic"
    assert coverage.layer(TopicMatch(topic, criterion, None, 100, Provenance.FREE_TEXT)) == "free-text"
    assert coverage.layer(TopicMatch(topic, criterion, None, 0, Provenance.CURATED)) == coverage.MISLABELLED


def test_free_text_for_a_valid_code_fails_the_run():
    clean = coverage.Sweep(display_names=False, codes=1)
    assert coverage.exit_status([clean]) == 0
    texty = coverage.Sweep(display_names=True, codes=1, not_from_code=[("J06.9", "free-text", "croup")])
    assert coverage.exit_status([clean, texty]) == 1


def test_sweep_counts_answers_by_layer_on_the_real_app(services):
    """Requests built as the view builds them, resolved by the running service."""
    result = coverage.sweep(services.knowledge.resolve, ["C91.00", "C95.90", "R69"], display_names=True)
    assert (result.codes, result.answered) == (3, 2)
    assert result.first["curated"] == 2 and result.anywhere["curated"] == 2
    assert result.not_from_code == []
    verdicts = coverage.evaluate(
        services.knowledge.resolve,
        [POSITIVE, coverage.GoldRow("C91.00", "leukemia", ""), coverage.GoldRow("C91.00", "", "")],
        display_names=False,
    )
    assert [(v.outcome, v.anywhere) for v in verdicts] == [("right", True), ("wrong", True), ("wrong", False)]


@pytest.mark.parametrize("argv, every", [([], 1), (["--quick"], 20), (["--every", "7"], 7)])
def test_sampling_options(argv, every):
    assert coverage.parse_args(argv).every == every


def test_the_script_reports_and_exits_zero(tmp_path, capsys):
    gold = tmp_path / "gold.csv"
    gold.write_text("code,expected_topic_id,why\nC91.00,acutelymphocyticleukemia,x\nR69,,y\n", encoding="utf-8")
    assert coverage.main(["--every", "5000", "--gold", str(gold)]) == 0
    out = capsys.readouterr().out
    assert "Coverage of 15 billable ICD-10-CM codes (1 in 5000 of" in out
    assert "[OK] code only: valid codes answered by free text: 0" in out
    assert "[OK] with dn (official title): valid codes answered by free text: 0" in out
    assert "positives 1: right first 1" in out and "negatives 1: rightly empty 1" in out
    assert "codes/s" in out


# -- the "Done when", asserted on the service with the shipped catalogue -----------------


@pytest.mark.parametrize("display_names", [False, True], ids=["code only", "with display names"])
def test_gold_set_positives_are_answered_and_right_first_for_95_percent(services, display_names):
    """On the shipped catalogue every positive's expected topic is answered, and ≥ 95% first (the
    rest have a more specific page first that the 204-topic index lacked: Nasal Cancer for a
    sinus cancer, Diabetic Kidney Problems for E11.22). The negatives said "no topic of the
    204-topic index fits"; the shipped catalogue has 1,023 topics, so they judge nothing now:
    precision is judged blind on that catalogue by bench/judged (tests/test_quality_samples.py)."""
    verdicts = coverage.evaluate(services.knowledge.resolve, ROWS, display_names=display_names)
    result = coverage.score(verdicts)
    assert result.right_anywhere == result.positives
    assert result.right_first >= 0.95 * result.positives, (result.right_first, result.positives)


def test_no_valid_code_is_answered_by_free_text_even_with_its_display_name(services):
    """Every 25th billable code, sent with its official title as the display name: nothing from text."""
    codes = coverage.billable_codes()[::25]
    swept = coverage.sweep(services.knowledge.resolve, codes, display_names=True)
    assert swept.not_from_code == []
    assert swept.codes == len(codes)
