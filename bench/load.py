"""Load: 20,000 requests at concurrency 64 against a real `infobutton serve`, over thousands of
ICD-10-CM billable codes, SNOMED CT codes and free text, in every format (Atom, JSON, JSONP,
FHIR, HTML); the bare Flask app under the same gunicorn options is loaded the same way in the
same run, as the baseline for p50/p99.

    python bench/load.py [--requests 20000] [--concurrency 64] [--workers 2] [--codes 3000]

Prints total, errors (anything but 200, or a transport error: must be 0) and p50/p99 of both.
The client is Python (threads, one keep-alive requests session each), so its own cost is in
both latencies alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import Server, request_mix, run_load  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--codes", type=int, default=3000, help="distinct ICD-10-CM billable codes in the mix")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="infobutton-load-")
    env = {**os.environ, "INFOBUTTON_RATE_LIMIT": "1000000/minute", "INFOBUTTON_DATA_DIR": tmp}
    env.pop("INFOBUTTON_DATABASE_URL", None)
    paths = request_mix(args.codes)
    servers = []
    try:
        bare = Server(env, Path(tmp) / "bare.log", args.workers, bare=True)
        servers.append(bare)
        ib = Server(env, Path(tmp) / "serve.log", args.workers)
        servers.append(ib)
        bare.wait()
        ib.wait()
        run_load(bare.base, ["/bare"], 500, 8)  # warm-up: every worker booted
        run_load(ib.base, paths[:50], 500, 8)

        started = time.monotonic()
        subject = run_load(ib.base, paths, args.requests, args.concurrency)
        seconds = time.monotonic() - started
        baseline = run_load(bare.base, ["/bare"], args.requests, args.concurrency)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    errors = subject.total - subject.statuses[200]
    distinct = len(set(paths[: args.requests]))
    print(
        f"load: {args.requests} requests, concurrency {args.concurrency}, {args.workers} workers, "
        f"{distinct} distinct requests (ICD-10-CM, SNOMED CT, free text x Atom/JSON/JSONP/FHIR/HTML)"
    )
    print(
        f"infobutton  total {subject.total}  errors {errors}  {subject.total / seconds:7.0f} req/s  "
        f"p50 {subject.percentile(0.5) * 1000:6.1f} ms  p99 {subject.percentile(0.99) * 1000:6.1f} ms"
    )
    print(
        f"bare Flask  total {baseline.total}  errors {baseline.total - baseline.statuses[200]}  "
        f"p50 {baseline.percentile(0.5) * 1000:6.1f} ms  p99 {baseline.percentile(0.99) * 1000:6.1f} ms  (baseline)"
    )
    for sample in subject.samples:
        print("  ", sample)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
