"""Worker memory under large knowledge POSTs: 20 criteria each, every one distinct, from many
connections against a real `infobutton serve`; prints each worker's RSS as the load runs.

Every request misses the response cache (no two are alike) and fills it with the largest answer
the service gives; the display names and original texts fill the concept-match cache too. The
per-worker caches are bounded in bytes (INFOBUTTON_CACHE_BYTES and fixed budgets), so the RSS
must level off, not grow with the load.

  PYTHONPATH=. python bench/large_posts.py [--seconds 60] [--connections 16] [--workers 2]
      [--limit-mb 200] [--cache-bytes N]

Exit status 1 when a worker's RSS went over --limit-mb. Run from the repository root.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import requests
from _load import ICD10CM, Server, icd10cm_billable

# Accented words: each é is six bytes percent-encoded, so a request is as large as a body allows.
WORDS = [
    "édème",
    "réaction",
    "fièvre",
    "hépatite",
    "ulcère",
    "anémie",
    "diabète",
    "sévère",
    "chronic",
    "acute",
    "pain",
    "asthma",
]
FORMATS = ("application/json", "text/xml", "text/html", "application/fhir+json")
CRITERIA = 20
VALUE_CHARS = 512  # the longest value a knowledge request accepts (request.MAX_VALUE_LENGTH)


def text(rng: random.Random) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < VALUE_CHARS:
        words.append(rng.choice(WORDS) + str(rng.randrange(1000)))
    return " ".join(words)[:VALUE_CHARS]


def body(rng: random.Random, codes: list[str]) -> bytes:
    """A form of CRITERIA criteria, each a code with a display name and an original text."""
    params: dict[str, str] = {"knowledgeResponseType": rng.choice(FORMATS)}
    for i in range(CRITERIA):
        suffix = "" if i == 0 else str(i)
        params[f"mainSearchCriteria.v.c{suffix}"] = rng.choice(codes)
        params[f"mainSearchCriteria.v.cs{suffix}"] = ICD10CM
        params[f"mainSearchCriteria.v.dn{suffix}"] = text(rng)
        params[f"mainSearchCriteria.v.ot{suffix}"] = text(rng)
    return urlencode(params).encode()


def workers_of(arbiter: int) -> list[int]:
    children = Path(f"/proc/{arbiter}/task/{arbiter}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=5)
    parser.add_argument("--limit-mb", type=float, default=200)
    parser.add_argument("--cache-bytes", type=int, help="INFOBUTTON_CACHE_BYTES (default: the service's)")
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="infobutton-bench-")
    env = {**os.environ, "INFOBUTTON_DATA_DIR": data, "INFOBUTTON_RATE_LIMIT_EXEMPT": "127.0.0.1"}
    env.pop("INFOBUTTON_DATABASE_URL", None)
    if args.cache_bytes:
        env["INFOBUTTON_CACHE_BYTES"] = str(args.cache_bytes)
    codes = icd10cm_billable(5000)
    sample = body(random.Random(0), codes)
    print(f"each POST: {CRITERIA} criteria, {len(sample) / 1024:.0f} KB; {args.connections} connections")

    server = Server(env, Path(data) / "server.log", workers=args.workers).wait()
    statuses: Counter = Counter()
    sizes: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    r = session.post(
                        server.base + "/infobutton",
                        data=body(rng, codes),
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                        timeout=60,
                    )
                    with lock:
                        statuses[r.status_code] += 1
                        if len(sizes) < 200:
                            sizes.append(len(r.content))
                except requests.RequestException as error:
                    with lock:
                        statuses[type(error).__name__] += 1

    try:
        workers = workers_of(server.proc.pid)
        peak = {pid: rss_mb(pid) for pid in workers}
        print(f"{0:6.0f} s  workers RSS (MB): " + "  ".join(f"{peak[p]:6.1f}" for p in workers) + "  (idle)")
        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(args.connections)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        while (elapsed := time.monotonic() - started) < args.seconds:
            time.sleep(min(args.interval, max(0.0, args.seconds - elapsed)))
            now = {pid: rss_mb(pid) for pid in workers_of(server.proc.pid)}
            for pid, value in now.items():
                peak[pid] = max(peak.get(pid, 0.0), value)
            with lock:
                done = sum(statuses.values())
            line = "  ".join(f"{now[p]:6.1f}" for p in sorted(now))
            print(f"{time.monotonic() - started:6.0f} s  workers RSS (MB): {line}  ({done} requests)", flush=True)
        stop.set()
        for thread in threads:
            thread.join(90)
        time.sleep(1)
        final = {pid: rss_mb(pid) for pid in workers_of(server.proc.pid)}
    finally:
        stop.set()
        server.stop()
    answer = sum(sizes) / len(sizes) / 1024 if sizes else 0.0
    print(f"statuses: {dict(statuses)}; answers {answer:.0f} KB on average")
    print(
        "peak RSS per worker (MB): "
        + ", ".join(f"{v:.1f}" for v in peak.values())
        + "; after the load: "
        + ", ".join(f"{v:.1f}" for v in final.values())
    )
    worst = max(peak.values())
    print(f"worst {worst:.1f} MB, limit {args.limit_mb:.0f} MB: {'ok' if worst < args.limit_mb else 'OVER'}")
    raise SystemExit(0 if worst < args.limit_mb else 1)


if __name__ == "__main__":
    main()
