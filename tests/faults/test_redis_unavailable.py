"""Redis (the shared response cache) unreachable for real, through a forwarder that is stopped
mid-stream: every answer is still a 200, built locally, and the cache is used again after."""

from __future__ import annotations

import pytest

from infobutton import create_app
from infobutton.config import Settings

from ..conftest import icd
from .forwarder import Forwarder

CODES = ["C91.00", "E11.9", "J45.909", "I10", "C92.10", "D47.9"]


pytestmark = pytest.mark.redis


@pytest.fixture
def proxied_redis(redis_url):
    host_port = redis_url.partition("://")[2].partition("/")[0]
    host, _, port = host_port.partition(":")
    with Forwarder((host, int(port or 6379))) as forwarder:
        yield forwarder, redis_url.replace(host_port, forwarder.address, 1)


def test_answers_keep_coming_while_redis_is_unreachable(tmp_path, proxied_redis):
    forwarder, url = proxied_redis
    app = create_app(Settings(data_dir=str(tmp_path), redis_url=url, version_check_interval=0.0))
    client = app.test_client()
    try:
        assert client.get("/infobutton", query_string=icd(CODES[0])).status_code == 200
        assert forwarder.connections > 0, "the service never used Redis: the test would prove nothing"
        forwarder.stop()
        for n, code in enumerate(CODES * 3):
            r = client.get("/infobutton", query_string=icd(code, **{"age.v.v": str(20 + n)}))
            assert r.status_code == 200, r.data[:200]
        forwarder.start()
        assert client.get("/infobutton", query_string=icd("C91.10")).status_code == 200
    finally:
        app.extensions["infobutton"].close()
