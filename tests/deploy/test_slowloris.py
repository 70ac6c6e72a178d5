"""Slowloris (issue 12): against bare gunicorn it stops service; against the proxy of
deploy/nginx.conf it does not, and the proxy cuts the slow connections off."""

from __future__ import annotations

import time

import pytest

from ..test_cli import wait_ready
from .slowloris import Prober, Slowloris

pytestmark = pytest.mark.gunicorn

SLOW_CONNECTIONS = 64


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.nginx
def test_slowloris_through_the_proxy_does_not_stop_service(proxy):
    prober = Prober(proxy.base + "/healthz", interval=0.5, timeout=10)
    assert prober.probe()
    with Slowloris(proxy.port, SLOW_CONNECTIONS) as attack:
        wait_for(lambda: attack.opened == SLOW_CONNECTIONS, 30, "all slow connections open")
        with prober:
            # The proxy's client_header_timeout (10 s) ends every one of them; generously waited for.
            wait_for(lambda: attack.open == 0, 90, "the proxy cut every slow connection")
            probes_while_attacked = len(prober.results)
    assert attack.cut == SLOW_CONNECTIONS
    assert probes_while_attacked >= 3
    assert all(prober.results), f"{prober.results.count(False)} of {len(prober.results)} failed: {prober.errors}"


def test_the_same_attack_stops_bare_gunicorn(served):
    """The attack is real: straight at gunicorn, its threads wait on the slow headers and a
    health check gets no answer. (So the test above shows the proxy's doing.)"""
    base, port = served
    prober = Prober(base + "/healthz", timeout=3)
    with Slowloris(port, SLOW_CONNECTIONS) as attack:
        wait_for(lambda: attack.opened == SLOW_CONNECTIONS, 30, "all slow connections open")
        wait_for(lambda: not prober.probe(), 60, "a health check goes unanswered")
        assert attack.cut == 0  # gunicorn never lets go of them
    wait_ready(base + "/healthz")  # the slow clients gone, service resumes
