"""Throughput of the responder as a ratio to a bare Flask JSON endpoint, measured in one run.

Both apps run under gunicorn with the same options (`infobutton serve`'s), one after the other,
loaded by wrk (Debian package) from this machine. Three numbers:
  - bare Flask JSON endpoint (the baseline, requests/s);
  - a cached knowledge request (C91.00 as JSON) → ratio to baseline (target ≥ 0.8);
  - a stream of distinct ICD-10-CM codes (every request a cache miss) → ratio to baseline.
Each is the median of ROUNDS runs, alternated so machine noise hits all three alike.

    python bench/throughput.py [--seconds 8] [--rounds 3] [--workers 2] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ICD10CM = "2.16.840.1.113883.6.90"
CACHED = f"/infobutton?mainSearchCriteria.v.c=C91.00&mainSearchCriteria.v.cs={ICD10CM}" \
         "&knowledgeResponseType=application/json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(which: str, workers: int, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "_server.py"), which, str(port), str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    probe = base + ("/bare" if which == "bare" else "/healthz")
    for _ in range(300):
        try:
            urllib.request.urlopen(probe, timeout=1)
            return proc, base
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise SystemExit(f"{which} server did not start")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def distinct_paths(n: int) -> list[str]:
    import simple_icd_10_cm as cm

    codes = [c for c in cm.get_all_codes(with_dots=True) if cm.is_leaf(c)]
    random.Random(7).shuffle(codes)
    return [f"/infobutton?mainSearchCriteria.v.c={c}&mainSearchCriteria.v.cs={ICD10CM}"
            "&knowledgeResponseType=application/json" for c in codes[:n]]


def wrk(url: str, seconds: int, connections: int, script: str | None = None) -> float:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{errors.group(1)} failed responses from {url}\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")

    tmp = tempfile.mkdtemp(prefix="infobutton-bench-")
    env = {**os.environ, "INFOBUTTON_DATA_DIR": tmp, "INFOBUTTON_CACHE_SIZE": "100000"}
    env.pop("INFOBUTTON_DATABASE_URL", None)
    script = Path(tmp) / "distinct.lua"
    paths = distinct_paths(60000)
    script.write_text("paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
                      "i = 0\nrequest = function()\n  i = i + 1\n"
                      "  return wrk.format(nil, paths[(i % #paths) + 1])\nend\n")

    bare, cached, distinct = [], [], []
    for _ in range(args.rounds):
        proc, base = start("bare", args.workers, env)
        try:
            bare.append(wrk(base + "/bare", args.seconds, args.connections))
        finally:
            stop(proc)
        proc, base = start("infobutton", args.workers, env)
        try:
            wrk(base + CACHED, 1, args.connections)  # warm the cache
            cached.append(wrk(base + CACHED, args.seconds, args.connections))
            distinct.append(wrk(base + "/", args.seconds, args.connections, str(script)))
        finally:
            stop(proc)
    shutil.rmtree(tmp, ignore_errors=True)

    b, c, d = statistics.median(bare), statistics.median(cached), statistics.median(distinct)
    print(f"workers={args.workers} connections={args.connections} seconds={args.seconds} rounds={args.rounds}")
    print(f"bare Flask JSON endpoint   {b:9.0f} req/s  (baseline)")
    print(f"cached knowledge request   {c:9.0f} req/s  ratio {c / b:.2f}  (target >= 0.80)")
    print(f"distinct ICD-10-CM codes   {d:9.0f} req/s  ratio {d / b:.2f}")


if __name__ == "__main__":
    main()
