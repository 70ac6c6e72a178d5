"""Shared by bench/load.py and bench/faults.py: start a real `infobutton serve` or the bare Flask
app, the request mix (many codes, every format), and a threaded client that records every
outcome and its latency."""

from __future__ import annotations

import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import requests

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent / "infobutton"
ICD10CM = "2.16.840.1.113883.6.90"
SNOMEDCT = "2.16.840.1.113883.6.96"
FORMATS = ["text/xml", "application/json", "text/javascript", "application/fhir+json", "text/html"]
SNOMED_CODES = ["93143009", "91857003", "91861009", "92818009", "44054006", "195967001", "38341003", "73211009"]
FREE_TEXT = ["asthma", "leukemia", "diabetes", "high blood pressure", "anemia", "migraine", "flu", "back pain"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def icd10cm_billable(n: int, seed: int = 7) -> list[str]:
    import simple_icd_10_cm as cm

    codes = [c for c in cm.get_all_codes(with_dots=True) if cm.is_leaf(c)]
    random.Random(seed).shuffle(codes)
    return codes[:n]


def request_mix(n_codes: int = 3000, seed: int = 11) -> list[str]:
    """Query paths over ICD-10-CM billable codes, SNOMED CT codes and free text, each in every
    format (JSONP with a callback), shuffled."""
    criteria = [{"mainSearchCriteria.v.c": c, "mainSearchCriteria.v.cs": ICD10CM} for c in icd10cm_billable(n_codes)]
    criteria += [{"mainSearchCriteria.v.c": c, "mainSearchCriteria.v.cs": SNOMEDCT} for c in SNOMED_CODES]
    criteria += [{"mainSearchCriteria.v.ot": t} for t in FREE_TEXT]
    rng = random.Random(seed)
    paths = []
    for params in criteria:
        fmt = rng.choice(FORMATS)
        extra = {"callback": "handleResponse"} if fmt == "text/javascript" else {}
        paths.append("/infobutton?" + urlencode({**params, "knowledgeResponseType": fmt, **extra}))
    rng.shuffle(paths)
    return paths


class Server:
    """`infobutton serve` (or bench/_server.py bare) in its own process group, log to a file."""

    def __init__(self, env: dict, log: Path, workers: int = 2, bare: bool = False):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self._log = open(log, "w")  # noqa: SIM115 - open for the server's life
        if bare:
            cmd = [sys.executable, str(HERE / "_server.py"), "bare", str(self.port), str(workers)]
        else:
            cmd = [str(BIN), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.probe = self.base + ("/bare" if bare else "/healthz")

    def wait(self, seconds: float = 300) -> Server:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited early; see {self.log_path}")
            try:
                if requests.get(self.probe, timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise SystemExit(f"server did not start; see {self.log_path}")

    def signal(self, sig: int = signal.SIGTERM) -> None:
        os.kill(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


@dataclass
class Outcomes:
    """What a load saw: status counts, transport errors, latencies (seconds), and samples."""

    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # transport errors by class
    latencies: list[float] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)  # a few bad answers, for the report
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    def count(self, predicate: Callable[[int], bool]) -> int:
        return sum(n for status, n in self.statuses.items() if predicate(status))

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> str:
        p50, p99 = self.percentile(0.50) * 1000, self.percentile(0.99) * 1000
        statuses = dict(sorted(self.statuses.items()))
        return (
            f"{self.total} requests, statuses {statuses}, transport errors {dict(self.errors)}, "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )


def run_load(
    base: str,
    paths: list[str],
    total: int,
    concurrency: int,
    outcomes: Outcomes | None = None,
    stop: threading.Event | None = None,
    on_response: Callable[[str, requests.Response], None] | None = None,
    timeout: float = 60,
) -> Outcomes:
    """``total`` requests (or until ``stop``) over ``paths`` in turn, ``concurrency`` threads,
    each on its own keep-alive session."""
    outcomes = outcomes or Outcomes()
    stop = stop or threading.Event()
    counter = iter(range(total))
    counter_lock = threading.Lock()

    def worker() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                with counter_lock:
                    i = next(counter, None)
                if i is None:
                    return
                path = paths[i % len(paths)]
                started = time.perf_counter()
                try:
                    response = session.get(base + path, timeout=timeout)
                    elapsed = time.perf_counter() - started
                    with outcomes.lock:
                        outcomes.statuses[response.status_code] += 1
                        outcomes.latencies.append(elapsed)
                        if response.status_code >= 400 and len(outcomes.samples) < 10:
                            outcomes.samples.append(f"{response.status_code} {path[:120]}: {response.text[:160]}")
                    if on_response:
                        on_response(path, response)
                except requests.RequestException as exc:
                    with outcomes.lock:
                        outcomes.errors[type(exc).__name__] += 1
                        if len(outcomes.samples) < 10:
                            outcomes.samples.append(f"{type(exc).__name__} {path[:120]}")

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
