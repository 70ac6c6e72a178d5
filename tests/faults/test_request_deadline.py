"""The request deadline of a real ``infobutton serve`` (gthread): a request stuck where nothing
else bounds it (here: its body stops arriving) gets its worker killed and replaced once it has
run gunicorn's ``timeout``; the instance answers again afterwards. Without the deadline gthread
holds such a request's thread for ever while its worker goes on looking alive."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from infobutton.cli import REQUEST_DEADLINE
from infobutton.gunicorn_worker import heartbeat

from ..serving import Serving
from ..test_cli import wait_ready

pytestmark = pytest.mark.gunicorn


def test_the_heartbeat_is_no_later_than_the_oldest_request_in_flight():
    assert heartbeat(100.0, []) == 100.0
    assert heartbeat(100.0, [95.0, 71.5]) == 71.5
    assert heartbeat(100.0, [100.5]) == 100.0  # a request that just began


def test_a_request_stuck_past_the_deadline_has_its_worker_replaced(tmp_path):
    with Serving(tmp_path, {"INFOBUTTON_RATE_LIMIT": "off"}, workers=1) as served:
        with socket.create_connection(("127.0.0.1", served.port), timeout=REQUEST_DEADLINE + 60) as stuck:
            stuck.sendall(
                b"POST /infobutton HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
                b"mainSearchCriteria.v.c=C91.00&"  # and no more: the app waits for the rest
            )
            sent = time.monotonic()
            time.sleep(2)
            # meanwhile the worker's other threads answer
            assert requests.get(served.base + "/healthz", timeout=60).status_code == 200
            try:
                answer = stuck.recv(65536)  # the connection ends when the worker is killed
            except ConnectionResetError:
                answer = b""
            lived = time.monotonic() - sent
        assert answer == b"" and REQUEST_DEADLINE - 1 <= lived <= REQUEST_DEADLINE + 30, (answer[:80], lived)
        wait_ready(served.base + "/healthz", served.proc, seconds=120, attempt_timeout=10)  # a new worker
        assert "WORKER TIMEOUT" in served.logs()
