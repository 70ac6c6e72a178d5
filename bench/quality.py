"""How right the shipped service's answers are, judged blind, and how much of ICD-10-CM it answers.

    python bench/quality.py [--sweep-out DIR]
    python bench/quality.py --draw N --seed S    # print a uniform sample of billable codes

Builds the app on a temporary SQLite database filled from the shipped catalogue and mappings (no
import, no sync, no upstream) and asks ``services.knowledge.resolve`` exactly what the view asks
for each code alone (``bench/coverage.py`` does the asking). Then:

- **every billable ICD-10-CM code**: the share answered, per chapter and by the layer of the first
  topic; every topic that answers more than 100 codes, with sample titles, for a person to read;
  ``--sweep-out`` writes the reviewable artefact (every answered code, by 7th-character
  family, with its topics, and every topic with its code count; ``bench/sweep/`` holds the
  shipped one);
- **two judged samples** in ``bench/judged/`` (see its README: who judged them and how; the
  reviewers saw neither the rules nor any answer): ``uniform-500.tsv``, billable codes drawn
  uniformly at random with a stored seed (``--draw`` draws it again, and a test checks that it
  does), and ``common.tsv``, the codes clinicians record most. Each judged row lists the topics
  that are right for the code and those acceptable as broader, or says that nothing fits.

A code's answer is **wrong** when its first topic is neither right nor broad for it (or anything is
answered when nothing fits), and **served** when its first topic is right or broad. Targets: wrong
≤ 1% of answered codes in both samples; served ≥ 85% (uniform) and ≥ 95% (common) of the codes
that have a fitting topic; ≥ 80% of all billable codes answered. The last line says which are met;
the exit status is 1 when one is not.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import simple_icd_10_cm as cm
from werkzeug.datastructures import MultiDict

from infobutton import create_app, terminology
from infobutton.config import Settings
from infobutton.models import Code, CodeSystem
from infobutton.request import parse

HERE = Path(__file__).resolve().parent
JUDGED = HERE / "judged"
SAMPLES = (("uniform-500.tsv", 0.85), ("common.tsv", 0.95))  # file, served target
WRONG_TARGET = 0.01
ANSWERED_TARGET = 0.80
MANY = 100
ICD10CM = "2.16.840.1.113883.6.90"  # topics answering more than this many codes are listed for reading by hand


def billable_codes() -> tuple[str, ...]:
    return terminology.billable()


def title(code: str) -> str:
    return terminology.describe(Code(CodeSystem.ICD10CM, code))


def request_for(code: str):
    """The KnowledgeRequest the view builds for this code alone."""
    return parse(MultiDict([("mainSearchCriteria.v.c", code), ("mainSearchCriteria.v.cs", ICD10CM)]).items(multi=True))


def draw(n: int, seed: int) -> list[str]:
    """``n`` codes drawn uniformly at random (without replacement) with ``seed``, sorted.

    The population is every leaf item simple-icd-10-cm lists, as the stored sample was drawn:
    74,736 items, the 74,719 billable codes plus 17 leaf block names ("C00-C75") and repeated
    names (B20 is a block and a category), none of which is in the sample."""
    population = sorted(c for c in cm.get_all_codes(with_dots=True) if cm.is_leaf(c))
    return sorted(random.Random(seed).sample(population, n))


def chapter(code: str) -> str:
    """The ICD-10-CM chapter a code is in, as its code range ("J00-J99")."""
    heading = cm.get_description(cm.get_ancestors(code)[-1])
    return heading.rsplit("(", 1)[-1].rstrip(")")


# -- the judged samples --------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    code: str
    right: frozenset[str]  # topic ids
    broad: frozenset[str]

    @property
    def fits(self) -> bool:
        return bool(self.right or self.broad)


def load_judged(path: Path, id_of_title: dict[str, str]) -> list[Judged]:
    """Judged rows (topic titles as the reviewer wrote them → ids); a title the catalogue does
    not have is an error, so a judgment is never silently lost."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        lines = (line for line in f if not line.startswith("#"))
        for r in csv.DictReader(lines, delimiter="\t"):
            code = r["code"].strip()
            rows.append(Judged(code, _ids(r["right"], id_of_title, code), _ids(r["broad"], id_of_title, code)))
    return rows


def _ids(cell: str | None, id_of_title: dict[str, str], code: str) -> frozenset[str]:
    titles = [t.strip() for t in (cell or "").split("|") if t.strip()]
    missing = [t for t in titles if t not in id_of_title]
    if missing:
        raise SystemExit(f"{code}: judged topics not in the catalogue: {missing}")
    return frozenset(id_of_title[t] for t in titles)


@dataclass
class Score:
    codes: int = 0
    answered: int = 0
    wrong: int = 0
    fitting: int = 0
    served: int = 0
    served_right: int = 0

    def add(self, judged: Judged, topics: list[str]) -> str:
        """Count one code; its outcome: right, broad, wrong, empty or none (nothing fits, none given)."""
        self.codes += 1
        self.fitting += judged.fits
        if not topics:
            return "empty" if judged.fits else "none"
        self.answered += 1
        first = topics[0]
        if first in judged.right:
            self.served += 1
            self.served_right += 1
            return "right"
        if first in judged.broad:
            self.served += 1
            return "broad"
        self.wrong += 1
        return "wrong"


def pct(part: int, whole: int) -> float:
    return 100 * part / whole if whole else 0.0


# -- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep-out", type=Path, help="write answers.tsv and topics.tsv here")
    parser.add_argument("--draw", type=int, metavar="N", help="print N codes drawn uniformly at random")
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args(argv)
    if args.draw:
        print("\n".join(draw(args.draw, args.seed)))
        return 0

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="infobutton-quality-") as tmp:
        # Defaults, not the environment: no upstream responder, no Redis, the shipped data only.
        app = create_app(Settings(data_dir=tmp, version_check_interval=3600.0))
        services = app.extensions["infobutton"]
        try:
            catalogue = services.topics.all()
            id_of_title = {t.title: t.id for t in catalogue if t.language == "en"}
            resolve = services.knowledge.resolve
            print(
                f"Shipped catalogue: {len(catalogue):,} topics; shipped mappings: {services.mappings.count():,} rules"
            )
            answers: dict[str, tuple[list[str], str]] = {}
            for code in billable_codes():
                matches = resolve(request_for(code))
                if matches:
                    answers[code] = ([m.topic.id for m in matches], matches[0].provenance.value)
            met = report_sweep(answers, args.sweep_out)
            for name, served_target in SAMPLES:
                path = JUDGED / name
                if not path.exists():
                    print(f"\n{name}: not judged yet")
                    met.append((f"{name} judged", False))
                    continue
                judged = load_judged(path, id_of_title)
                met += report_sample(name, judged, answers, served_target)
        finally:
            services.close()

    print(f"\nWall time {time.perf_counter() - started:.0f} s")
    print("Targets: " + "; ".join(f"{what} {'met' if ok else 'NOT met'}" for what, ok in met))
    return 0 if all(ok for _, ok in met) else 1


def report_sweep(answers: dict[str, tuple[list[str], str]], out: Path | None) -> list[tuple[str, bool]]:
    codes = billable_codes()
    per_chapter: dict[str, Counter] = defaultdict(Counter)
    for code in codes:
        got = answers.get(code)
        per_chapter[chapter(code)]["codes"] += 1
        per_chapter[chapter(code)][got[1] if got else "unanswered"] += 1
    total = Counter()
    print(f"\nEvery billable ICD-10-CM code ({len(codes):,}), answered by the layer of the first topic")
    print(f"  {'chapter':<10}{'codes':>8}{'answered':>10}{'':>8}{'curated':>9}{'automatic':>10}")
    for name, c in per_chapter.items():
        total += c
        done = c["codes"] - c["unanswered"]
        print(
            f"  {name:<10}{c['codes']:>8,}{done:>10,}{pct(done, c['codes']):>7.1f}%"
            f"{c['curated']:>9,}{c['automatic']:>10,}"
        )
    answered = total["codes"] - total["unanswered"]
    share = answered / total["codes"]
    print(
        f"  {'all':<10}{total['codes']:>8,}{answered:>10,}{100 * share:>7.1f}%"
        f"{total['curated']:>9,}{total['automatic']:>10,}"
    )

    first: Counter = Counter()
    anywhere: Counter = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    for code, (topics, _) in answers.items():
        first[topics[0]] += 1
        for topic in topics:
            anywhere[topic] += 1
            examples[topic].append(code)
    many = [t for t, n in anywhere.most_common() if n > MANY]
    print(f"\nTopics answering more than {MANY} codes ({len(many)}), with codes spread across them")
    for topic in many:
        spread = examples[topic][:: max(1, len(examples[topic]) // 4)][:4]
        seen = "; ".join(f"{c} {title(c)[:60]}" for c in spread)
        print(f"  {topic:<36}{anywhere[topic]:>7,} ({first[topic]:,} first)   e.g. {seen}")

    if out:
        write_sweep(out, codes, answers, anywhere, first)
    return [(f"answered {100 * share:.1f}% (≥ {100 * ANSWERED_TARGET:.0f}%)", share >= ANSWERED_TARGET)]


def write_sweep(out: Path, codes, answers, anywhere: Counter, first: Counter) -> None:
    """The reviewable artefact: ``answers.tsv``, one line per answered family (codes that differ
    only in the 7th character answer alike, so the family stands for all of them, with their
    count), and ``topics.tsv``, every topic with the codes it answers."""
    families: dict[str, list[str]] = defaultdict(list)
    for code in codes:
        if code in answers:
            families[terminology.family(Code(CodeSystem.ICD10CM, code)).value].append(code)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "answers.tsv", "w", encoding="utf-8", newline="") as f:
        f.write("code\tcodes\tlayer\ttopics\ttitle\n")
        for family, members in families.items():
            topics, how = answers[members[0]]
            f.write(f"{family}\t{len(members)}\t{how}\t{'|'.join(topics)}\t{title(family)}\n")
    with open(out / "topics.tsv", "w", encoding="utf-8", newline="") as f:
        f.write("topic\tcodes\tfirst\n")
        for topic, n in anywhere.most_common():
            f.write(f"{topic}\t{n}\t{first[topic]}\n")
    print(f"\nWrote {out / 'answers.tsv'} ({len(families):,} families) and {out / 'topics.tsv'}")


def report_sample(
    name: str, judged: list[Judged], answers: dict[str, tuple[list[str], str]], served_target: float
) -> list[tuple[str, bool]]:
    score = Score()
    listed: dict[str, list[str]] = defaultdict(list)
    for row in judged:
        topics = answers.get(row.code, ([], ""))[0]
        outcome = score.add(row, topics)
        if outcome in ("wrong", "empty"):
            right = ",".join(sorted(row.right)) or "-"
            broad = ",".join(sorted(row.broad)) or "-"
            got = ",".join(topics) or "nothing"
            line = f"    {row.code:<9} got {got}; right {right}; broad {broad}"
            listed[outcome].append(f"{line}  [{title(row.code)[:60]}]")
    wrong = score.wrong / score.answered if score.answered else 0.0
    served = score.served / score.fitting if score.fitting else 0.0
    print(f"\n{name}: {score.codes} judged codes, {score.fitting} with a fitting topic")
    print(f"  answered {score.answered} ({pct(score.answered, score.codes):.1f}%)")
    print(
        f"  wrong first topic: {score.wrong} = {100 * wrong:.1f}% of answered codes "
        f"(target ≤ {100 * WRONG_TARGET:.0f}%)"
    )
    print(
        f"  served right or broad: {score.served} = {100 * served:.1f}% of codes with a fitting topic "
        f"(right first {score.served_right}; target ≥ {100 * served_target:.0f}%)"
    )
    for outcome in ("wrong", "empty"):
        print(f"  {outcome}: {len(listed[outcome])}")
        print("\n".join(listed[outcome]))
    return [
        (f"{name} wrong {100 * wrong:.1f}%", wrong <= WRONG_TARGET),
        (f"{name} served {100 * served:.1f}%", served >= served_target),
    ]


if __name__ == "__main__":
    sys.exit(main())
