"""Longer fuzz runs than the CI-sized tests (tests/test_fuzz_public.py), printing how many
requests each made and how many got a 5xx (must be 0):

  - hypothesis: random query strings and form bodies on /infobutton, /service, /application in
    every format, through the Flask test client;
  - schemathesis: every operation of /openapi.json (public and admin, with an admin token),
    positive and negative cases, through the WSGI app.

    python bench/fuzz.py [--examples 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import schemathesis  # noqa: E402
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from infobutton import create_app  # noqa: E402
from infobutton.config import Settings  # noqa: E402
from infobutton.mappings.openapi import document  # noqa: E402
from tests.test_fuzz_public import FORMATS, pairs, query_string, raw_query  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="per hypothesis test / per operation and mode")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    app = create_app(Settings(data_dir=tempfile.mkdtemp(prefix="infobutton-fuzz-"), version_check_interval=0.0))
    app.config["TESTING"] = True
    services = app.extensions["infobutton"]
    token = services.tokens.create("fuzz", "admin")
    client = app.test_client()
    statuses: dict[str, Counter] = {}
    bad: list[str] = []

    def record(kind: str, label: str, status: int, body: bytes) -> None:
        statuses.setdefault(kind, Counter())[status] += 1
        if status >= 500 and len(bad) < 20:
            bad.append(f"{kind} {label} -> {status}: {body[:200]!r}")

    options = settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    paths = st.sampled_from(["/infobutton", "/service", "/application"])

    @seed(args.seed)
    @options
    @given(path=paths, fmt=st.sampled_from(FORMATS), query=raw_query)
    def queries(path, fmt, query):
        r = client.get(f"{path}?{query}&knowledgeResponseType={quote(fmt)}")
        record("hypothesis GET", path, r.status_code, r.data)

    @seed(args.seed)
    @options
    @given(path=paths, items=pairs, accept=st.sampled_from(FORMATS))
    def forms(path, items, accept):
        r = client.post(
            path, data=query_string(items), content_type="application/x-www-form-urlencoded", headers={"Accept": accept}
        )
        record("hypothesis POST", path, r.status_code, r.data)

    queries()
    forms()

    def fuzz_operation(strategy, operation_label: str, kind: str) -> None:
        @seed(args.seed)
        @options
        @given(case=strategy)
        def run(case):
            response = case.call(app=app, headers={"Authorization": f"Bearer {token}"})
            record(kind, operation_label, response.status_code, response.content)

        run()

    schema = schemathesis.openapi.from_dict(document())
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in ("positive", "negative"):
            try:
                strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))
            except Exception:  # noqa: BLE001 - nothing to make negative
                continue

            label = f"schemathesis {mode}"
            try:
                fuzz_operation(strategy, operation.label, label)
            except Exception as exc:  # noqa: BLE001 - e.g. no negative case exists for this operation
                if "Unsatisfiable" not in type(exc).__name__:
                    raise
    services.close()

    total = 0
    for kind, counts in statuses.items():
        n, errors = sum(counts.values()), sum(v for k, v in counts.items() if k >= 500)
        total += n
        print(f"{kind:24} {n:7} requests  5xx {errors}  statuses {dict(sorted(counts.items()))}")
    server_errors = sum(v for counts in statuses.values() for k, v in counts.items() if k >= 500)
    print(f"total {total} requests, {server_errors} 5xx")
    for line in bad:
        print("  ", line)
    return 1 if server_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
