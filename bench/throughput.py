"""Throughput of the responder as a ratio to a bare Flask JSON endpoint, measured in one run.

Both apps run under gunicorn with the same options (`infobutton serve`'s), side by side, loaded
in turn by wrk (Debian package) from this machine. The service runs as configured by default
(SQLite, no Redis, the default response cache size unless ``--cache-size``), except for the rate
limit, set far above the load (it still counts every request). The numbers and their targets:
  - bare Flask JSON endpoint (the baseline, requests/s);
  - a cached knowledge request (C91.00 as JSON) → ratio to baseline (target ≥ 0.9);
  - a stream of distinct ICD-10-CM codes (every request a cache miss) → ratio to baseline
    (target ≥ 0.6);
  - latency at 16 connections (``wrk --latency``): p50 and p99 of the cached request and of bare
    Flask, each in its own round type, and the ratio of the p99s (target ≤ 1.5);
  - each worker's memory after warm-up and after the loads, from /proc/PID/smaps_rollup: RSS
    (target < 150 MB), PSS (shared pages split between the processes sharing them) and USS
    (Private_Clean + Private_Dirty: what the worker alone costs; RSS counts the copy-on-write
    pages inherited from the arbiter in full).
The last lines say whether each target is met.
Each round runs the three loads back to back (order rotated); the ratio is taken within a round
and the median over rounds is reported, so the machine's noise (this VM's CPU comes and goes)
hits baseline and subject alike.

    python bench/throughput.py [--seconds 3] [--rounds 7] [--workers 2] [--connections 32]
                               [--latency-connections 16] [--against DIR] [--cache-size N]

``--against DIR`` also runs the infobutton of another source tree (a ``git worktree`` of an
earlier commit) beside this one, its loads interleaved in the same rounds, so "no slower than
before" is a comparison within one run rather than between two runs on a noisy machine.
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

from infobutton.config import Settings

HERE = Path(__file__).resolve().parent
ICD10CM = "2.16.840.1.113883.6.90"
CACHED = (
    f"/infobutton?mainSearchCriteria.v.c=C91.00&mainSearchCriteria.v.cs={ICD10CM}"
    "&knowledgeResponseType=application/json"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(which: str, workers: int, env: dict, tree: Path = HERE.parent) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(tree / "bench" / "_server.py"), which, str(port), str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
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


def distinct_paths() -> list[str]:
    import simple_icd_10_cm as cm

    codes = [c for c in cm.get_all_codes(with_dots=True) if cm.is_leaf(c)]
    random.Random(7).shuffle(codes)
    return [
        f"/infobutton?mainSearchCriteria.v.c={c}&mainSearchCriteria.v.cs={ICD10CM}"
        "&knowledgeResponseType=application/json"
        for c in codes
    ]


def distinct_script(path: Path, paths: list[str], offset: int) -> None:
    """A wrk script whose two threads walk interleaved, not yet requested codes from ``offset``."""
    path.write_text(
        "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
        "counter = 0\n"
        "function setup(thread) thread:set('id', counter); counter = counter + 1 end\n"
        f"function init(args) i = {offset} end\n"
        "request = function()\n  i = i + 1\n"
        "  return wrk.format(nil, paths[((i * 2 + id) % #paths) + 1])\nend\n"
    )


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def percentiles(out: str) -> dict[int, float]:
    """wrk --latency's "Latency Distribution" block → {50: ms, 75: ms, 90: ms, 99: ms}."""
    found = re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE)
    return {int(p): float(v) * _UNITS[unit] for p, v, unit in found}


def wrk(
    url: str, seconds: int, connections: int, script: str | None = None, *, latency: dict | None = None
) -> tuple[float, int]:
    """(requests per second, requests) from one wrk run; any failed response aborts the bench.
    With ``latency`` (a dict), wrk runs with --latency and its percentiles (ms) are stored there."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s"]
    if latency is not None:
        cmd.append("--latency")
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{errors.group(1)} failed responses from {url}\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    count = int(re.search(r"(\d+) requests in", out).group(1))
    if latency is not None:
        latency.update(percentiles(out))
    return rate, count


def workers_of(arbiter: int) -> list[int]:
    """The gunicorn workers: the arbiter's child processes."""
    children = Path(f"/proc/{arbiter}/task/{arbiter}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (Private_Clean + Private_Dirty) of one process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value) / 1024
    return {
        "rss": fields["Rss"],
        "pss": fields["Pss"],
        "uss": fields["Private_Clean"] + fields["Private_Dirty"],
    }


def memory_line(label: str, arbiter: int, worst: list[float] | None = None) -> str:
    """One line of every worker's memory; ``worst`` collects their RSS."""
    parts = []
    for pid in workers_of(arbiter):
        m = memory(pid)
        if worst is not None:
            worst.append(m["rss"])
        parts.append(f"RSS {m['rss']:5.0f} PSS {m['pss']:5.0f} USS {m['uss']:5.0f}")
    a = memory(arbiter)
    return f"{label:26} workers (MB): " + " | ".join(parts) + f"   arbiter RSS {a['rss']:.0f} USS {a['uss']:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--latency-connections", type=int, default=16, help="connections of the p50/p99 rounds")
    parser.add_argument("--against", type=Path, help="another source tree to measure in the same rounds")
    parser.add_argument(
        "--cache-size",
        type=int,
        help="INFOBUTTON_CACHE_SIZE for the measured servers (default: the service's own default)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")

    tmp = tempfile.mkdtemp(prefix="infobutton-bench-")
    env = {
        **os.environ,
        "INFOBUTTON_RATE_LIMIT": "1000000/minute",
        "INFOBUTTON_DATA_DIR": tmp,
        "PYTHONPATH": str(HERE.parent),  # this tree's infobutton, whatever the venv has installed
    }
    for name in ("INFOBUTTON_DATABASE_URL", "INFOBUTTON_CACHE_SIZE", "INFOBUTTON_REDIS_URL"):
        env.pop(name, None)  # the service as configured by default: SQLite, no Redis
    if args.cache_size:
        env["INFOBUTTON_CACHE_SIZE"] = str(args.cache_size)
    cache_size = args.cache_size or Settings.model_fields["cache_size"].default
    script = Path(tmp) / "distinct.lua"
    paths = distinct_paths()

    procs = []
    bare_proc, bare_base = start("bare", args.workers, env)
    procs.append(bare_proc)
    ib_proc, ib_base = start("infobutton", args.workers, env, HERE.parent)
    procs.append(ib_proc)
    lc = args.latency_connections
    latencies: dict[str, list[dict]] = {"bare@lat": [], "cached@lat": []}

    def with_latency(name: str, url: str):
        def load():
            found: dict = {}
            result = wrk(url, args.seconds, lc, latency=found)
            latencies[name].append(found)
            return result

        return load

    loads = {
        "bare": lambda: wrk(bare_base + "/bare", args.seconds, args.connections),
        "cached": lambda: wrk(ib_base + CACHED, args.seconds, args.connections),
        "distinct": lambda: wrk(ib_base + "/", args.seconds, args.connections, str(script)),
        "bare@lat": with_latency("bare@lat", bare_base + "/bare"),
        "cached@lat": with_latency("cached@lat", ib_base + CACHED),
    }
    if args.against:
        other = args.against.resolve()
        other_env = {**env, "PYTHONPATH": str(other), "INFOBUTTON_DATA_DIR": str(Path(tmp) / "against")}
        other_proc, other_base = start("infobutton", args.workers, other_env, other)
        procs.append(other_proc)
        loads["cached@against"] = lambda: wrk(other_base + CACHED, args.seconds, args.connections)
        loads["distinct@against"] = lambda: wrk(other_base + "/", args.seconds, args.connections, str(script))
        latencies["cached@lat@against"] = []
        loads["cached@lat@against"] = with_latency("cached@lat@against", other_base + CACHED)
    rates: dict[str, list[float]] = {name: [] for name in loads}
    ratios: dict[str, list[float]] = {name: [] for name in loads if name not in ("bare", "bare@lat")}
    memory_lines: list[str] = []
    worker_rss: list[float] = []  # this tree's workers after the loads
    used = {"distinct": 0, "distinct@against": 0}  # each tree walks the same codes, each once
    try:
        wrk(bare_base + "/bare", 2, args.connections)  # warm up: every worker booted and serving
        wrk(ib_base + CACHED, 2, args.connections)
        if args.against:
            wrk(other_base + CACHED, 2, args.connections)
        memory_lines.append(memory_line("infobutton, warmed up", ib_proc.pid))
        if args.against:
            memory_lines.append(memory_line("--against, warmed up", other_proc.pid))
        for round_ in range(args.rounds):
            names = list(loads)
            order = names[round_ % len(names) :] + names[: round_ % len(names)]  # rotate: no load always first
            measured = {}
            for name in order:
                if name in used:
                    distinct_script(script, paths, used[name] // 2 + 1)
                measured[name], count = loads[name]()
                if name in used:
                    used[name] += count + 64
            for name, value in measured.items():
                rates[name].append(value)
            for name in ratios:
                ratios[name].append(measured[name] / measured["bare@lat" if "@lat" in name else "bare"])
        memory_lines.append(memory_line("infobutton, after loads", ib_proc.pid, worker_rss))
        if args.against:
            memory_lines.append(memory_line("--against, after loads", other_proc.pid))
        memory_lines.append(memory_line("bare Flask", bare_proc.pid))
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)

    b, c, d = (statistics.median(rates[n]) for n in ("bare", "cached", "distinct"))
    rc, rd = statistics.median(ratios["cached"]), statistics.median(ratios["distinct"])
    print(
        f"workers={args.workers} connections={args.connections} {args.rounds} rounds of {args.seconds} s "
        "(median of per-round ratios; runs interleaved so machine noise hits all three alike)"
    )
    print(f"bare Flask JSON endpoint   {b:9.0f} req/s  (baseline)")
    print(f"cached knowledge request   {c:9.0f} req/s  ratio {rc:.2f}  (target >= 0.90)")
    print(
        f"distinct ICD-10-CM codes   {d:9.0f} req/s  ratio {rd:.2f}  (target >= 0.60; "
        f"{used['distinct']} codes, each asked once)"
    )
    if args.against:
        for name, label in (
            ("cached@against", "cached, --against tree"),
            ("distinct@against", "distinct, --against tree"),
        ):
            r = statistics.median(ratios[name])
            print(f"{label:26} {statistics.median(rates[name]):9.0f} req/s  ratio {r:.2f}")
        for name in ("cached", "distinct"):
            per_round = [a / b for a, b in zip(ratios[name], ratios[name + "@against"], strict=True)]
            print(f"{name}: this tree / --against tree, median of rounds: {statistics.median(per_round):.2f}")
    p99 = [a[99] / b[99] for a, b in zip(latencies["cached@lat"], latencies["bare@lat"], strict=True)]
    print(f"latency at {lc} connections (ms, median of rounds):")
    for name, label in (
        ("bare@lat", "bare Flask"),
        ("cached@lat", "cached"),
        ("cached@lat@against", "cached, --against"),
    ):
        if name in latencies:
            p50s = [r[50] for r in latencies[name]]
            p99s = [r[99] for r in latencies[name]]
            print(f"  {label:24} p50 {statistics.median(p50s):7.2f}  p99 {statistics.median(p99s):7.2f}")
    print(f"  cached p99 / bare p99, median of rounds: {statistics.median(p99):.2f}  (target <= 1.5)")
    if args.against:
        p99a = [a[99] / b[99] for a, b in zip(latencies["cached@lat@against"], latencies["bare@lat"], strict=True)]
        print(f"  --against cached p99 / bare p99:         {statistics.median(p99a):.2f}")
    print("memory after warm-up and after the loads (RSS counts pages shared copy-on-write with the arbiter in full;")
    print("PSS splits them; USS = Private_Clean + Private_Dirty is what each worker alone adds; the loads fill the")
    print(f"response cache, INFOBUTTON_CACHE_SIZE={cache_size} here, with the last distinct answers):")
    for line in memory_lines:
        print("  " + line)
    verdicts = [
        (f"worker RSS after the loads {max(worker_rss):.0f} MB < 150 MB", max(worker_rss) < 150),
        (f"cached {rc:.2f} >= 0.90 x bare", rc >= 0.9),
        (f"distinct {rd:.2f} >= 0.60 x bare", rd >= 0.6),
        (f"p99 {statistics.median(p99):.2f} <= 1.5 x bare", statistics.median(p99) <= 1.5),
    ]
    print("targets: " + "; ".join(f"{text}: {'met' if ok else 'NOT met'}" for text, ok in verdicts))
    if max(used.values()) > len(paths):
        print(
            f"note: {max(used.values())} requests exceeded the {len(paths)} distinct codes; later ones were cache hits"
        )


if __name__ == "__main__":
    main()
