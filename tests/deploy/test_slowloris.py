"""Slowloris: against bare gunicorn it stops service; against the proxy of
deploy/nginx.conf it does not, and the proxy cuts the slow connections off."""

from __future__ import annotations

import pytest

from ..conftest import wait_until
from ..test_cli import wait_ready
from .slowloris import Prober, Slowloris

pytestmark = pytest.mark.gunicorn

SLOW_CONNECTIONS = 64


@pytest.mark.nginx
def test_slowloris_through_the_proxy_does_not_stop_service(proxy):
    prober = Prober(proxy.base + "/healthz", interval=0.5, timeout=10)
    assert prober.probe()
    with Slowloris(proxy.port, SLOW_CONNECTIONS) as attack:
        wait_until(lambda: attack.opened == SLOW_CONNECTIONS, timeout=30, what="all slow connections open")
        with prober:
            # The proxy's client_header_timeout (10 s) ends every one of them; generously waited for.
            wait_until(lambda: attack.open == 0, timeout=90, what="the proxy cut every slow connection")
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
        wait_until(lambda: attack.opened == SLOW_CONNECTIONS, timeout=30, what="all slow connections open")
        wait_until(lambda: not prober.probe(), timeout=60, what="a health check goes unanswered")
        assert attack.cut == 0  # gunicorn never lets go of them
    wait_ready(base + "/healthz")  # the slow clients gone, service resumes
