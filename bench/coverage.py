"""How much of ICD-10-CM the responder answers, from which layer, and how right it is on a
reviewed gold set.

    python bench/coverage.py [--quick | --every N] [--gold bench/gold.csv]

Builds the app on a temporary SQLite database filled from the bundled catalogue and mappings and
asks ``services.knowledge.resolve`` exactly what the view asks (``request.parse`` over a MultiDict):

- every billable ICD-10-CM code (the leaf codes of simple-icd-10-cm), once with the code alone and
  once with its official title as ``mainSearchCriteria.v.dn``: codes answered, by the layer of the
  first match and by any layer (curated, automatic, upstream, free text);
- valid codes answered by free text, which must be 0: the exit status is 1 otherwise (a match
  labelled curated that carries no rule counts too, since its layer cannot be proven);
- the gold set (``bench/gold.csv``: code, expected topic, why; an empty expected topic means no
  topic in the catalogue is right): right first, right anywhere, wrong (a positive whose first
  topic is another, a negative answered at all) and empty, listing every wrong and empty row;
- wall time and codes per second.

``--quick`` takes every 20th code for a fast run (``--every N``: every Nth); the gold set is always
judged in full.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.datastructures import MultiDict

from infobutton import create_app, terminology
from infobutton.config import Settings
from infobutton.models import Code, CodeSystem
from infobutton.request import parse

HERE = Path(__file__).resolve().parent
ICD10CM = "2.16.840.1.113883.6.90"
LAYERS = ("curated", "automatic", "upstream", "free-text")
MISLABELLED = "curated without a rule"


# -- requests ----------------------------------------------------------------------------------


def billable_codes() -> list[str]:
    """Every billable ICD-10-CM code: the leaves of the tabular list, dotted."""
    return list(terminology.billable())


def title(code: str) -> str:
    return terminology.describe(Code(CodeSystem.ICD10CM, code))


def request_for(code: str, display_name: str | None = None):
    """The KnowledgeRequest the view builds for this code (and display name)."""
    params = MultiDict([("mainSearchCriteria.v.c", code), ("mainSearchCriteria.v.cs", ICD10CM)])
    if display_name:
        params.add("mainSearchCriteria.v.dn", display_name)
    return parse(params.items(multi=True))


def layer(match) -> str:
    """The resolution layer a match says it came from; a curated match needs a rule."""
    name = match.provenance.value
    if name == "curated" and match.rule is None:
        return MISLABELLED
    return name


# -- the sweep over every billable code ----------------------------------------------------------


@dataclass
class Sweep:
    """What the resolver answered for a list of codes, in one mode (with or without dn)."""

    display_names: bool
    codes: int = 0
    answered: int = 0
    first: Counter = field(default_factory=Counter)  # layer of the first match → codes
    anywhere: Counter = field(default_factory=Counter)  # layer → codes with any match from it
    not_from_code: list[tuple[str, str, str]] = field(default_factory=list)  # (code, layer, topic)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.codes / self.seconds if self.seconds else 0.0


def sweep(resolve, codes: Iterable[str], *, display_names: bool) -> Sweep:
    """Resolve each code (with its official title as dn when asked) and count by layer."""
    result = Sweep(display_names)
    started = time.perf_counter()
    for code in codes:
        matches = resolve(request_for(code, title(code) if display_names else None))
        result.codes += 1
        if not matches:
            continue
        result.answered += 1
        layers = [layer(m) for m in matches]
        result.first[layers[0]] += 1
        for name in set(layers):
            result.anywhere[name] += 1
        for match, name in zip(matches, layers, strict=True):
            if name in ("free-text", MISLABELLED):
                result.not_from_code.append((code, name, match.topic.id))
    result.seconds = time.perf_counter() - started
    return result


# -- the gold set --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldRow:
    code: str
    expected: str  # "" for a negative: no topic in the catalogue is right
    why: str


def load_gold(path: Path) -> list[GoldRow]:
    with open(path, newline="", encoding="utf-8") as f:
        return [GoldRow(r["code"].strip(), r["expected_topic_id"].strip(), r["why"]) for r in csv.DictReader(f)]


@dataclass(frozen=True)
class Verdict:
    row: GoldRow
    got: tuple[tuple[str, str], ...]  # (topic id, layer), best first
    outcome: str  # right | wrong | empty (positives); right | wrong (negatives)
    anywhere: bool  # a positive whose expected topic is among the answers

    @property
    def first(self) -> str:
        return self.got[0][0] if self.got else ""


def judge(row: GoldRow, got: tuple[tuple[str, str], ...]) -> Verdict:
    """Right: the expected topic first (positive) or no answer (negative). Wrong: another topic
    first (positive) or any answer (negative). Empty: a positive with no answer."""
    ids = [topic for topic, _ in got]
    if not row.expected:
        return Verdict(row, got, "wrong" if ids else "right", False)
    if not ids:
        return Verdict(row, got, "empty", False)
    return Verdict(row, got, "right" if ids[0] == row.expected else "wrong", row.expected in ids)


def evaluate(resolve, rows: list[GoldRow], *, display_names: bool) -> list[Verdict]:
    verdicts = []
    for row in rows:
        matches = resolve(request_for(row.code, title(row.code) if display_names else None))
        verdicts.append(judge(row, tuple((m.topic.id, layer(m)) for m in matches)))
    return verdicts


@dataclass(frozen=True)
class Score:
    positives: int
    right_first: int
    right_anywhere: int
    wrong_positive: int
    empty: int
    negatives: int
    right_empty: int
    wrong_negative: int

    @property
    def wrong(self) -> int:
        return self.wrong_positive + self.wrong_negative


def score(verdicts: list[Verdict]) -> Score:
    pos = [v for v in verdicts if v.row.expected]
    neg = [v for v in verdicts if not v.row.expected]
    return Score(
        positives=len(pos),
        right_first=sum(v.outcome == "right" for v in pos),
        right_anywhere=sum(v.anywhere for v in pos),
        wrong_positive=sum(v.outcome == "wrong" for v in pos),
        empty=sum(v.outcome == "empty" for v in pos),
        negatives=len(neg),
        right_empty=sum(v.outcome == "right" for v in neg),
        wrong_negative=sum(v.outcome == "wrong" for v in neg),
    )


def exit_status(sweeps: list[Sweep]) -> int:
    """1 when any valid code was answered from text (or by a curated match without a rule)."""
    return 1 if any(s.not_from_code for s in sweeps) else 0


# -- the report ----------------------------------------------------------------------------------


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def _mode(display_names: bool) -> str:
    return "with dn (official title)" if display_names else "code only"


def print_sweep(s: Sweep) -> None:
    print(
        f"\n  {_mode(s.display_names)}: {s.answered:,} of {s.codes:,} codes answered "
        f"({_pct(s.answered, s.codes).strip()}), {s.codes - s.answered:,} empty; "
        f"{s.seconds:.1f} s, {s.per_second:,.0f} codes/s"
    )
    print(f"    {'layer':<24}{'first match':>14}{'any match':>14}")
    extra = [name for name in s.anywhere if name not in LAYERS]
    for name in (*LAYERS, *extra):
        print(
            f"    {name:<24}{s.first[name]:>8,} {_pct(s.first[name], s.codes)}"
            f"{s.anywhere[name]:>8,} {_pct(s.anywhere[name], s.codes)}"
        )


def print_gate(sweeps: list[Sweep]) -> None:
    for s in sweeps:
        free = sorted({code for code, name, _ in s.not_from_code if name == "free-text"})
        mislabelled = sorted({code for code, name, _ in s.not_from_code if name == MISLABELLED})
        mark = "OK" if not (free or mislabelled) else "FAIL"
        print(
            f"  [{mark}] {_mode(s.display_names)}: valid codes answered by free text: {len(free)}"
            + (f"; answered by a curated match without a rule: {len(mislabelled)}" if mislabelled else "")
        )
        for code, name, topic in s.not_from_code[:20]:
            print(f"         {code:<9} {name}: {topic}   {title(code)}")
        if len(s.not_from_code) > 20:
            print(f"         … {len(s.not_from_code) - 20} more")


def print_score(sc: Score, display_names: bool) -> None:
    print(f"\n  {_mode(display_names)}:")
    print(
        f"    positives {sc.positives}: right first {sc.right_first} ({_pct(sc.right_first, sc.positives).strip()}), "
        f"right anywhere {sc.right_anywhere} ({_pct(sc.right_anywhere, sc.positives).strip()}), "
        f"wrong {sc.wrong_positive}, empty {sc.empty}"
    )
    print(f"    negatives {sc.negatives}: rightly empty {sc.right_empty}, wrong (answered) {sc.wrong_negative}")
    print(f"    wrong in all: {sc.wrong} of {sc.positives + sc.negatives}")


def print_rows(without: list[Verdict], with_dn: list[Verdict], in_catalogue) -> None:
    """Every row that is wrong or empty in either mode, one line each, both modes side by side;
    empty rows whose expected topic is not in the catalogue are listed apart (a catalogue gap,
    not a resolver miss)."""

    def shown(v: Verdict) -> str:
        return ", ".join(f"{topic} ({name})" for topic, name in v.got) or "nothing"

    def line(a: Verdict, b: Verdict) -> str:
        got = shown(a) if shown(a) == shown(b) else f"code only: {shown(a)} | with dn: {shown(b)}"
        return f"    {a.row.code:<9} {a.row.expected or '(none)':<28} got {got}   [{title(a.row.code)}]"

    pairs = list(zip(without, with_dn, strict=True))
    wrong = [(a, b) for a, b in pairs if "wrong" in (a.outcome, b.outcome)]
    empty = [(a, b) for a, b in pairs if "empty" in (a.outcome, b.outcome)]
    missed = [(a, b) for a, b in empty if in_catalogue(a.row.expected)]
    gaps = [(a, b) for a, b in empty if not in_catalogue(a.row.expected)]
    for label, rows in (
        ("wrong", wrong),
        ("empty, the expected topic is in the catalogue", missed),
        ("empty, the expected topic is not in the catalogue", gaps),
    ):
        print(f"\n  {label}: {len(rows)}")
        for a, b in rows:
            print(line(a, b))


# -- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sampling = parser.add_mutually_exclusive_group()
    sampling.add_argument("--quick", action="store_const", const=20, dest="every", help="every 20th billable code only")
    sampling.add_argument("--every", type=int, metavar="N", help="every Nth billable code")
    parser.add_argument("--gold", type=Path, default=HERE / "gold.csv")
    parser.set_defaults(every=1)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="infobutton-coverage-") as tmp:
        # Defaults, not the environment: no upstream responder, no Redis, the bundled data.
        app = create_app(Settings(data_dir=tmp, version_check_interval=3600.0))
        services = app.extensions["infobutton"]
        try:
            knowledge = services.knowledge
            codes = billable_codes()
            every = max(1, args.every)
            sample = codes[::every]
            topics = services.topics.count()
            print(
                f"Coverage of {len(sample):,} billable ICD-10-CM codes"
                f"{f' (1 in {every} of {len(codes):,})' if every > 1 else ''}, "
                f"bundled catalogue ({topics} topics) and mappings ({services.mappings.count()} rules)"
            )

            knowledge.resolve(request_for("C91.00"))  # build the rule and concept indexes first
            sweeps = [sweep(knowledge.resolve, sample, display_names=dn) for dn in (False, True)]
            print(
                "\nCodes answered, by layer of the first match and of any match"
                " (the second pass reuses the service's concept-match cache)"
            )
            for s in sweeps:
                print_sweep(s)
            print("\nValid codes answered by free text (must be 0)")
            print_gate(sweeps)

            rows = load_gold(args.gold)
            verdicts = [evaluate(knowledge.resolve, rows, display_names=dn) for dn in (False, True)]
            print(f"\nGold set {args.gold.name}: {len(rows)} codes")
            for dn, vs in zip((False, True), verdicts, strict=True):
                print_score(score(vs), dn)
            print_rows(*verdicts, in_catalogue=lambda topic_id: knowledge.topic(topic_id) is not None)
        finally:
            services.close()

    elapsed = time.perf_counter() - started
    resolved = sum(s.codes for s in sweeps) + 2 * len(rows)
    print(f"\nWall time {elapsed:.1f} s for {resolved:,} resolutions ({resolved / elapsed:,.0f} codes/s overall)")
    status = exit_status(sweeps)
    if status:
        print("FAIL: valid codes were answered from text; see above.")
    return status


if __name__ == "__main__":
    sys.exit(main())
