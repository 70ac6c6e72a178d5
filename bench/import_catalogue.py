"""Benchmark: importing a 2,000-topic health-topics file (target: under 15 s).

Prints absolute seconds and ratios against a baseline measured in the same run: parsing alone
(read_catalogue), so the ratio shows what the transactional store write (rows, FTS index,
withdrawal check) adds on this machine. Runs: first import into an empty SQLite database, the
same file again (all unchanged), and a revised file (every tenth topic updated).

    .venv/bin/python bench/import_catalogue.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_catalogue import catalogue_xml  # noqa: E402

from infobutton.content.catalogue import import_catalogue  # noqa: E402
from infobutton.content.medlineplus_xml import read_catalogue  # noqa: E402
from infobutton.store import open_stores  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(n: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        first, second = Path(tmp) / "v1.xml", Path(tmp) / "v2.xml"
        first.write_bytes(catalogue_xml(n))
        second.write_bytes(catalogue_xml(n, version=2, date_generated="11/25/2026 00:00:00"))
        baseline, catalogue = timed(lambda: read_catalogue(first))
        db, store, _ = open_stores(f"sqlite:///{tmp}/bench.sqlite3")
        runs = [
            ("first import", first),
            ("same file again", first),
            ("revised file", second),
        ]
        print(
            f"{len(catalogue.topics)} topics, {first.stat().st_size / 1e6:.1f} MB; "
            f"baseline (parse only): {baseline:.2f} s"
        )
        for label, path in runs:
            seconds, result = timed(lambda p=path: import_catalogue(store, p))
            print(f"{label:16s} {seconds:6.2f} s  = {seconds / baseline:5.2f}x parse   {result.counts}")
        db.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
