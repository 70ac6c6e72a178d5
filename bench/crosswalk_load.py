"""Benchmark: loading the crosswalks — the CMS GEM and a 100,000-row SNOMED CT map.

Writes a synthetic NLM SNOMED CT to ICD-10-CM map of N rows in both published forms (human-
readable TSV and RF2 Full), shaped like the real one: most concepts one ``TRUE`` row, some with
``IFA`` age/gender rules and an ``OTHERWISE TRUE`` default, some in two map groups, some with an
empty target, and older inactive versions of rows. Targets are real ICD-10-CM codes; concept ids
are made up (with valid check digits). Prints seconds with the ratio to a baseline measured in
the same run (reading the same file with ``csv`` alone), and memory from tracemalloc: what the
loaded map keeps, and the peak while loading.

    .venv/bin/python bench/crosswalk_load.py [N] [--keep DIR]
"""

from __future__ import annotations

import csv
import gc
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from stdnum import verhoeff

from infobutton import crosswalk, terminology

HUMAN = (
    "id",
    "effectiveTime",
    "active",
    "moduleId",
    "refsetId",
    "referencedComponentId",
    "referencedComponentName",
    "mapGroup",
    "mapPriority",
    "mapRule",
    "mapAdvice",
    "mapTarget",
    "mapTargetName",
    "correlationId",
    "mapCategoryId",
    "mapCategoryName",
)
RF2 = (
    "id",
    "effectiveTime",
    "active",
    "moduleId",
    "refsetId",
    "referencedComponentId",
    "mapGroup",
    "mapPriority",
    "mapRule",
    "mapAdvice",
    "mapTarget",
    "correlationId",
    "mapCategoryId",
)
AGE = "IFA 445518008 | Age at onset of clinical finding (observable entity) | < 18.0 years"
FEMALE = "IFA 248152002 | Female (finding) |"


def _concept(i: int) -> str:
    stem = f"{1000000 + i}1000124"  # US extension-style ids: item, namespace, partition "10"
    return stem + verhoeff.calc_check_digit(stem)


def map_rows(n: int, seed: int = 8):
    """About n rows as dicts: (concept, group, priority, rule, target, active, effectiveTime)."""
    import simple_icd_10_cm as cm

    rng = random.Random(seed)
    leaves = [c for c in cm.get_all_codes(True) if cm.is_leaf(c)]
    row, i = 0, 0
    while row < n:
        concept = _concept(i)
        i += 1
        kind = rng.random()
        if kind < 0.75:
            entries = [(1, 1, "TRUE", rng.choice(leaves))]
        elif kind < 0.83:  # age or gender rules, then the default
            entries = [
                (1, 1, rng.choice((AGE, FEMALE)), rng.choice(leaves)),
                (1, 2, "OTHERWISE TRUE", rng.choice(leaves)),
            ]
        elif kind < 0.90:  # a second map group
            entries = [(1, 1, "TRUE", rng.choice(leaves)), (2, 1, "TRUE", rng.choice(leaves))]
        elif kind < 0.95:  # cannot be classified with available data
            entries = [(1, 1, "OTHERWISE TRUE", "")]
        else:  # a row that was changed: old active version, new inactive version
            entries = [(1, 1, "TRUE", rng.choice(leaves))]
            row_id = f"{concept}-1-1"
            yield row_id, "20200301", "1", concept, 1, 1, "TRUE", rng.choice(leaves)
            row += 1
        for group, priority, rule, target in entries:
            effective, active = "20230901", "1"
            if kind >= 0.95:
                active = "0"
            yield f"{concept}-{group}-{priority}", effective, active, concept, group, priority, rule, target
            row += 1


def write_map(path: Path, form: str, n: int) -> None:
    header = HUMAN if form == "human" else RF2
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("\t".join(header) + "\r\n")
        for row_id, effective, active, concept, group, priority, rule, target in map_rows(n):
            values = {
                "id": row_id,
                "effectiveTime": effective,
                "active": active,
                "moduleId": "5991000124107",
                "refsetId": crosswalk.ICD10CM_MAP_REFSET,
                "referencedComponentId": concept,
                "referencedComponentName": f"Synthetic concept {concept}",
                "mapGroup": str(group),
                "mapPriority": str(priority),
                "mapRule": rule,
                "mapAdvice": f"ALWAYS {target} | MAP OF SOURCE CONCEPT IS CONTEXT INDEPENDENT"
                if target
                else "MAP SOURCE CONCEPT CANNOT BE CLASSIFIED WITH AVAILABLE DATA",
                "mapTarget": target,
                "mapTargetName": f"Target {target}" if target else "",
                "correlationId": "447561005",
                "mapCategoryId": "447637006",
                "mapCategoryName": "Properly classified",
            }
            out.write("\t".join(values[name] for name in header) + "\r\n")


def timed(fn, repeat: int = 3):
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def traced(fn) -> tuple[float, float]:
    """MB the result keeps, and the peak while building it (the result is dropped after)."""
    gc.collect()
    tracemalloc.start()
    result = fn()  # noqa: F841 (alive until measured)
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return kept / 1e6, peak / 1e6


def baseline(path: Path) -> int:
    with open(path, encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def main(n: int = 100_000, keep: str | None = None) -> None:
    terminology.warm_up()  # simple-icd-10-cm's tabular list is loaded at start anyway
    seconds, gem = timed(crosswalk._load_gem)
    codes, targets = len(gem), sum(len(v) for v in gem.values())
    del gem
    kept, peak = traced(crosswalk._load_gem)
    print(
        f"CMS GEM: {codes:,} ICD-9-CM codes, {targets:,} targets: {seconds:.2f} s, "
        f"keeps {kept:.1f} MB (peak {peak:.1f} MB)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(keep or tmp)
        for form, name in (
            ("human", "tls_Icd10cmHumanReadableMap_US1000124_bench.tsv"),
            ("rf2", "der2_iisssccRefset_ExtendedMapFull_US1000124_bench.txt"),
        ):
            path = folder / name
            write_map(path, form, n)
            base, rows = timed(lambda p=path: baseline(p))
            seconds, loaded = timed(lambda p=path: crosswalk.load_snomed_map(str(p)))
            concepts = len(loaded.targets)
            del loaded  # nothing of it alive while the next load is traced
            kept, peak = traced(lambda p=path: crosswalk.load_snomed_map(str(p)))
            print(
                f"SNOMED CT map, {form:5s}: {rows - 1:,} rows, {path.stat().st_size / 1e6:.1f} MB → "
                f"{concepts:,} concepts: {seconds:.2f} s = {seconds / base:.1f}x csv read alone "
                f"({base:.2f} s); keeps {kept:.1f} MB (peak {peak:.1f} MB)"
            )


if __name__ == "__main__":
    args = sys.argv[1:]
    keep_dir = None
    if "--keep" in args:
        keep_dir = args[args.index("--keep") + 1]
        args = args[: args.index("--keep")]
    main(int(args[0]) if args else 100_000, keep_dir)
