"""A real `infobutton serve` worker under distinct 20-criterion POSTs (each a cache miss that
fills the caches with the largest answers the service gives) keeps its RSS under 200 MB and
levels off, with a smaller answer budget than the default. bench/large_posts.py runs the same
load at default settings for 60 s at 16 connections and prints the RSS as it goes."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
import requests

from .conftest import wait_until
from .serving import Serving
from .test_cache_budgets import large_form

pytestmark = pytest.mark.gunicorn

LIMIT_MB = 200


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def worker_of(arbiter: int) -> int:
    children = wait_until(
        lambda: Path(f"/proc/{arbiter}/task/{arbiter}/children").read_text().split(), what="serve's worker"
    )
    return int(children[0])


def test_a_worker_under_large_posts_stays_under_200_mb(tmp_path):
    env = {"INFOBUTTON_CACHE_BYTES": str(4 * 1024 * 1024), "INFOBUTTON_RATE_LIMIT_EXEMPT": "127.0.0.1"}
    with Serving(tmp_path, env, workers=1) as server:
        worker = worker_of(server.proc.pid)
        stop = threading.Event()
        statuses: list[int | str] = []

        def client(seed: int) -> None:
            rng = random.Random(seed)
            with requests.Session() as session:
                while not stop.is_set():
                    try:
                        statuses.append(
                            session.post(server.base + "/infobutton", data=large_form(rng), timeout=60).status_code
                        )
                    except requests.RequestException as error:
                        statuses.append(type(error).__name__)

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(8)]
        for thread in threads:
            thread.start()
        samples = []
        try:
            for n in range(1, 21):  # a sample after every 8 more answers: RSS against work done
                wait_until(lambda n=n: len(statuses) >= 8 * n, timeout=120, what=f"{8 * n} answers")
                samples.append(rss_mb(worker))
        finally:
            stop.set()
            for thread in threads:
                thread.join(90)
    assert len(statuses) >= 100 and set(statuses) == {200}, set(statuses)
    assert max(samples) < LIMIT_MB, samples
    assert samples[-1] - samples[9] < 15, f"still growing: {samples}"  # levelled off, not linear
