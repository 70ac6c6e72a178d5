"""Faults under load, against a real `infobutton serve`:

  postgres  PostgreSQL made unreachable mid-load (a TCP forwarder in front of it, stopped, then
            started again): cached answers keep flowing (200), uncached ones get 503 with
            Retry-After (never 500, never a dropped connection), and everything is 200 again after.
  redis     Redis (the shared response cache) made unreachable mid-load the same way: no errors.
  sigterm   SIGTERM to the arbiter mid-load: every request sent before it is answered, and the
            server exits 0.

    python bench/faults.py [postgres] [redis] [sigterm] [--seconds 12] [--concurrency 16]

Needs PostgreSQL on 127.0.0.1:5432 (INFOBUTTON_TEST_POSTGRES_URL) and Redis on 6379
(INFOBUTTON_TEST_REDIS_URL) for the first two. Exits 1 if any scenario fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from _load import ICD10CM, Outcomes, Server, request_mix, run_load  # noqa: E402

from tests.faults.forwarder import Forwarder  # noqa: E402

POSTGRES_URL = os.environ.get("INFOBUTTON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("INFOBUTTON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _cached_paths(n: int) -> list[str]:
    return [
        "/infobutton?" + urlencode({"mainSearchCriteria.v.c": c, "mainSearchCriteria.v.cs": ICD10CM})
        for c in ["C91.00", "E11.9", "J45.909", "I10", "C92.10", "D47.9", "C91.10", "E11"][:n]
    ]


def _loop(base: str, paths: list[str], stop: threading.Event, concurrency: int, outcomes: Outcomes, on_response=None):
    return threading.Thread(
        target=run_load, args=(base, paths, 10**9, concurrency, outcomes, stop, on_response), daemon=True
    )


def postgres(tmp: Path, seconds: float, concurrency: int) -> bool:
    import psycopg

    name = "ib_faults_" + uuid.uuid4().hex[:10]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    server_part = POSTGRES_URL.partition("://")[2].rpartition("/")[0]
    host_port = server_part.rpartition("@")[2]
    host, _, port = host_port.partition(":")
    forwarder = Forwarder((host, int(port or 5432))).start()
    url = POSTGRES_URL.partition("://")[0] + "://" + server_part.replace(host_port, forwarder.address) + "/" + name
    env = {
        **os.environ,
        "INFOBUTTON_RATE_LIMIT": "1000000/minute",
        "INFOBUTTON_DATA_DIR": str(tmp / "pg"),
        "INFOBUTTON_DATABASE_URL": url,
    }
    server = Server(env, tmp / "pg.log", workers=1)  # one worker: "cached" means cached where it is asked
    cached = _cached_paths(8)
    uncached = request_mix(5000, seed=3)
    phases: dict[str, Outcomes] = {"before": Outcomes(), "outage": Outcomes(), "after": Outcomes()}
    phase = ["before"]
    kinds: dict[str, Counter] = {p: Counter() for p in phases}
    lock = threading.Lock()
    retry_after_missing = [0]

    def classify(path: str, response: requests.Response) -> None:
        kind = "cached" if path in cached else "uncached"
        with lock:
            kinds[phase[0]][(kind, response.status_code)] += 1
            if response.status_code == 503 and not response.headers.get("Retry-After", "").isdigit():
                retry_after_missing[0] += 1

    ok = False
    try:
        server.wait()
        run_load(server.base, cached, len(cached) * 4, 4)  # now cached in the one worker
        stop = threading.Event()
        mixed = [p for pair in zip(cached * 1000, uncached, strict=False) for p in pair]
        for name_ in phases:
            phase[0] = name_
            if name_ == "outage":
                forwarder.stop()
            if name_ == "after":
                forwarder.start()
                time.sleep(1)  # the next version check and pool checkout find it back
            stop.clear()
            thread = _loop(server.base, mixed, stop, concurrency, phases[name_], classify)
            thread.start()
            time.sleep(seconds / 3)
            stop.set()
            thread.join(timeout=120)
        out, after = kinds["outage"], kinds["after"]
        server_errors = sum(o.count(lambda s: s >= 500 and s != 503) for o in phases.values())
        transport = sum(sum(o.errors.values()) for o in phases.values())
        ok = (
            server_errors == 0
            and transport == 0
            and retry_after_missing[0] == 0
            and out[("cached", 200)] > 0
            and sum(n for (k, s), n in out.items() if k == "cached" and s != 200) == 0
            and out[("uncached", 503)] > 0
            and sum(n for (k, s), n in after.items() if s != 200) == 0
        )
        print(f"postgres: {'PASS' if ok else 'FAIL'}")
        for name_, outcome in phases.items():
            detail = ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(kinds[name_].items()))
            print(f"  {name_:7} {outcome.summary()}\n          {detail}")
        print(f"  503s without Retry-After: {retry_after_missing[0]}; forwarded connections: {forwarder.connections}")
        for sample in (s for o in phases.values() for s in o.samples if not s.startswith("503")):
            print("   ", sample)
    finally:
        server.stop()
        forwarder.stop()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return ok


def redis_fault(tmp: Path, seconds: float, concurrency: int) -> bool:
    host_port = REDIS_URL.partition("://")[2].partition("/")[0]
    host, _, port = host_port.partition(":")
    forwarder = Forwarder((host, int(port or 6379))).start()
    url = REDIS_URL.replace(host_port, forwarder.address, 1)
    env = {
        **os.environ,
        "INFOBUTTON_RATE_LIMIT": "1000000/minute",
        "INFOBUTTON_DATA_DIR": str(tmp / "redis"),
        "INFOBUTTON_REDIS_URL": url,
    }
    env.pop("INFOBUTTON_DATABASE_URL", None)
    server = Server(env, tmp / "redis.log", workers=2)
    outcomes = Outcomes()
    try:
        server.wait()
        stop = threading.Event()
        thread = _loop(server.base, request_mix(4000, seed=5), stop, concurrency, outcomes)
        thread.start()
        time.sleep(seconds / 3)
        forwarder.stop()
        time.sleep(seconds / 3)
        forwarder.start()
        time.sleep(seconds / 3)
        stop.set()
        thread.join(timeout=120)
    finally:
        server.stop()
        forwarder.stop()
    ok = outcomes.total > 0 and outcomes.statuses[200] == outcomes.total
    print(f"redis: {'PASS' if ok else 'FAIL'}  {outcomes.summary()}; forwarded connections: {forwarder.connections}")
    for sample in outcomes.samples:
        print("   ", sample)
    return ok


def sigterm(tmp: Path, seconds: float, concurrency: int) -> bool:
    env = {**os.environ, "INFOBUTTON_RATE_LIMIT": "1000000/minute", "INFOBUTTON_DATA_DIR": str(tmp / "sigterm")}
    env.pop("INFOBUTTON_DATABASE_URL", None)
    server = Server(env, tmp / "sigterm.log", workers=2)
    terminated = threading.Event()
    in_flight = Counter()  # outcomes of requests sent before SIGTERM and answered after it
    refused_after = Counter()  # requests sent after SIGTERM (refusal is expected)
    lock = threading.Lock()
    paths = request_mix(2000, seed=9)

    def client(n: int) -> None:
        with requests.Session() as session:
            i = n
            while True:
                i += 1
                sent_before = not terminated.is_set()
                try:
                    outcome = str(session.get(server.base + paths[i % len(paths)], timeout=60).status_code)
                except requests.RequestException as exc:
                    outcome = type(exc).__name__
                with lock:
                    if sent_before and terminated.is_set():
                        in_flight[outcome] += 1
                    elif not sent_before:
                        refused_after[outcome] += 1
                if not sent_before:
                    return

    try:
        server.wait()
        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(concurrency)]
        for t in threads:
            t.start()
        time.sleep(seconds / 2)
        terminated.set()
        server.signal(signal.SIGTERM)
        started = time.monotonic()
        for t in threads:
            t.join(timeout=120)
        code = server.proc.wait(timeout=120)
        stopped_in = time.monotonic() - started
    finally:
        server.stop()
    failures = sum(n for outcome, n in in_flight.items() if outcome != "200")
    ok = code == 0 and failures == 0
    print(
        f"sigterm: {'PASS' if ok else 'FAIL'}  exit code {code} after {stopped_in:.1f} s; "
        f"in flight at SIGTERM: {dict(in_flight)}; sent after it: {dict(refused_after)}"
    )
    return ok


SCENARIOS = {"postgres": postgres, "redis": redis_fault, "sigterm": sigterm}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", choices=[*SCENARIOS, []], default=list(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="infobutton-faults-"))
    try:
        results = [SCENARIOS[name](tmp, args.seconds, args.concurrency) for name in args.scenarios or SCENARIOS]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
