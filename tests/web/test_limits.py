"""Per-client rate limits (``web.limits``, the ``limits`` library's fixed windows), the client
behind trusted proxies (ProxyFix), and HSTS and Secure cookies over TLS only."""

from __future__ import annotations

import logging
import time
import uuid

import pytest

from infobutton import create_app
from infobutton.config import ConfigError, Settings
from infobutton.rate_limits import MemoryWindows, RateLimits, RefusalLog

from ..conftest import Clock, icd
from ..faults.forwarder import Forwarder


@pytest.fixture
def make_app(tmp_path):
    apps = []

    def make(**settings):
        app = create_app(Settings(data_dir=str(tmp_path), version_check_interval=0.0, **settings))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["infobutton"].close()


def get(client, address: str, path: str = "/infobutton", **kwargs):
    return client.get(path, query_string=icd("C91.00"), environ_base={"REMOTE_ADDR": address}, **kwargs)


def test_over_the_limit_is_a_429_with_retry_after_and_a_problem(make_app):
    client = make_app(rate_limit="3/minute").test_client()
    assert [get(client, "192.0.2.1").status_code for _ in range(3)] == [200, 200, 200]
    r = get(client, "192.0.2.1", headers={"Accept": "application/json"})
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    body = r.get_json()
    assert body["status"] == 429 and "rate limit" in body["detail"]
    assert get(client, "192.0.2.2").status_code == 200  # another client has its own budget


def test_the_app_counts_through_the_rate_limits_on_its_services(make_app):
    app = make_app(rate_limit="3/minute")
    limits = app.extensions["infobutton"].rate_limits
    client = app.test_client()
    assert [get(client, "192.0.2.1").status_code for _ in range(2)] == [200, 200]
    assert limits.hit("192.0.2.1") is None  # the third
    assert get(client, "192.0.2.1").status_code == 429
    assert make_app(rate_limit="off").extensions["infobutton"].rate_limits is None


def test_every_public_endpoint_shares_one_budget_and_health_is_exempt(make_app):
    client = make_app(rate_limit="4/minute").test_client()
    address = {"REMOTE_ADDR": "192.0.2.3"}
    assert client.get("/", environ_base=address).status_code == 200
    assert client.get("/cds-services", environ_base=address).status_code == 200
    assert get(client, "192.0.2.3", "/service").status_code == 200
    assert get(client, "192.0.2.3").status_code == 200
    assert client.get("/cds-services", environ_base=address).status_code == 429
    for _ in range(10):
        assert client.get("/healthz", environ_base=address).status_code == 200
        assert client.get("/admin/signin", environ_base=address).status_code == 200


def test_the_default_budget_lets_an_ehr_gateway_through_and_refuses_a_flood():
    clock = Clock()
    limits = RateLimits(Settings().rate_limit, timer=clock)
    gateway = []
    for _ in range(1500):  # 50 a second for 30 s
        gateway.append(limits.hit("192.0.2.50"))
        clock.now += 0.02
    assert gateway == [None] * 1500
    flood = []
    for _ in range(5000):  # 20 times that for 5 s
        flood.append(limits.hit("192.0.2.51"))
        clock.now += 0.001
    assert sum(hit is not None for hit in flood) >= 0.75 * len(flood)


def test_1500_requests_at_50_a_second_from_one_address_on_default_settings_get_no_429(make_app):
    """In real time through the app (and its fast path), as an EHR gateway proxying clicks sends."""
    client = make_app().test_client()
    started = time.monotonic()
    statuses = []
    for n in range(1500):
        statuses.append(get(client, "192.0.2.52").status_code)
        time.sleep(max(0.0, started + (n + 1) / 50 - time.monotonic()))  # a test about a rate
    assert statuses == [200] * 1500


def test_exempt_networks_are_never_limited(make_app):
    client = make_app(rate_limit="2/minute", rate_limit_exempt="192.0.2.0/25, 2001:db8::7").test_client()
    assert {get(client, "192.0.2.60").status_code for _ in range(10)} == {200}
    assert {get(client, "2001:db8::7").status_code for _ in range(10)} == {200}
    assert [get(client, "192.0.2.200").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "ehr.example.org", "10.0.0.1,,300.1.1.1"])
def test_a_bad_exempt_network_is_a_config_error_naming_the_setting(bad):
    with pytest.raises(ConfigError) as error:
        Settings(rate_limit_exempt=bad)
    assert error.value.variable == "INFOBUTTON_RATE_LIMIT_EXEMPT"


def test_a_flood_of_refusals_logs_a_line_a_minute_per_client(make_app, caplog):
    """3,000 requests over a 60/minute budget: a few short lines, not one per refusal."""
    client = make_app(rate_limit="60/minute").test_client()
    with caplog.at_level(logging.INFO, logger="infobutton.web.limits"):
        statuses = [get(client, "192.0.2.70").status_code for _ in range(3000)]
    assert statuses.count(429) >= 2940
    lines = [r.getMessage() for r in caplog.records if r.name == "infobutton.web.limits"]
    assert 1 <= len(lines) <= 3 and sum(len(line) for line in lines) < 300


def test_the_refusal_log_says_how_many_were_refused_since_its_last_line():
    clock = Clock()
    logger = logging.getLogger("test.refusals")
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        log = RefusalLog(logger, "refused", interval=60.0, timer=clock)
        for _ in range(100):
            log.refused("a", "2/minute")
            clock.now += 1.0
        log.refused("b", "2/minute")
    finally:
        logger.removeHandler(handler)
    assert records == [
        "refused (2/minute)",
        "refused (2/minute): 59 more refused in the last 60 s",
        "refused (2/minute)",
    ]


@pytest.mark.parametrize("off", ["0", "off", ""])
def test_zero_or_off_disables_the_limit(make_app, off):
    client = make_app(rate_limit=off).test_client()
    assert all(get(client, "192.0.2.4").status_code == 200 for _ in range(30))


@pytest.mark.parametrize("bad", ["600", "lots/minute", "0/minute", "5/fortnight"])
def test_a_bad_rate_is_refused_at_start(bad):
    with pytest.raises(ConfigError) as error:
        Settings(rate_limit=bad)
    assert error.value.variable == "INFOBUTTON_RATE_LIMIT"


@pytest.mark.redis
def test_two_instances_share_the_count_in_redis(make_app, redis_url):
    first = make_app(rate_limit="4/minute", redis_url=redis_url).test_client()
    second = make_app(rate_limit="4/minute", redis_url=redis_url).test_client()
    address = f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:8]}"  # a client no other run used
    assert get(first, address).status_code == 200
    assert get(second, address).status_code == 200
    assert get(first, address).status_code == 200
    assert get(second, address).status_code == 200
    assert get(first, address).status_code == 429
    assert get(second, address).status_code == 429


def test_answers_keep_flowing_when_redis_is_unreachable(make_app):
    client = make_app(rate_limit="3/minute", redis_url="redis://127.0.0.1:1/0").test_client()
    assert [get(client, "192.0.2.5").status_code for _ in range(3)] == [200, 200, 200]
    assert get(client, "192.0.2.5").status_code == 429  # counted in memory instead


def test_a_window_ends_and_the_budget_comes_back():
    clock = Clock(1000.0)
    limits = RateLimits("3/minute", timer=clock)
    assert [limits.hit("192.0.2.20") for _ in range(3)] == [None, None, None]
    item, reset_at = limits.hit("192.0.2.20")
    assert (item.amount, reset_at) == (3, 1060.0)  # the window started at the first request
    clock.now = 1059.9
    assert limits.hit("192.0.2.20") is not None  # still counted while over: a fixed window
    clock.now = 1060.0
    assert limits.hit("192.0.2.20") is None


def test_several_limits_each_count_and_the_first_exceeded_is_named():
    clock = Clock(0.0)
    limits = RateLimits("5/minute;2/second", timer=clock)
    assert [limits.hit("a") for _ in range(2)] == [None, None]
    assert limits.hit("a")[0].amount == 2  # the per-second limit (checked first: not the minute's)
    clock.now = 1.0
    assert [limits.hit("a") for _ in range(2)] == [None, None]  # 4 in the minute so far
    clock.now = 2.0
    assert limits.hit("a") is None  # 5
    clock.now = 3.0
    assert limits.hit("a")[0].amount == 5  # the per-minute one, with per-second budget left


def test_memory_counts_are_bounded_and_drop_ended_windows():
    clock = Clock(0.0)
    (item,) = RateLimits("2/minute").items
    windows = MemoryWindows([item], clock, max_clients=3)
    for client in ("a", "b", "c", "d"):
        windows.hit(client)
    assert len(windows) == 3
    assert windows.hit("a") is None  # "a", the oldest window, was forgotten: a new one
    clock.now = 61.0
    windows.hit("e")
    assert len(windows) == 1  # every other window had ended


def test_over_the_limit_every_request_is_counted_in_the_app(make_app):
    """A breach does not stop the counting: 10 requests over a 3/minute limit are all 429."""
    client = make_app(rate_limit="3/minute").test_client()
    statuses = [get(client, "192.0.2.21").status_code for _ in range(13)]
    assert statuses == [200] * 3 + [429] * 10


def test_unrouted_and_static_requests_are_not_counted(make_app):
    client = make_app(rate_limit="2/minute").test_client()
    address = {"REMOTE_ADDR": "192.0.2.22"}
    for _ in range(5):
        assert client.get("/no/such/page", environ_base=address).status_code == 404
        assert client.put("/infobutton", environ_base=address).status_code == 405
        with client.get("/static/page.css", environ_base=address) as static:
            assert static.status_code == 200
    assert [get(client, "192.0.2.22").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.redis
def test_counting_moves_back_to_redis_when_it_answers_again(redis_url):
    """While Redis is down each process counts in memory; once it answers again (asked after a
    second, then at doubling intervals) the shared count is used again."""
    clock = Clock(1000.0)
    client = f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:8]}"
    with Forwarder(("127.0.0.1", 6379)) as redis:
        limits = RateLimits("3/minute", f"redis://{redis.address}/0", timer=clock)
        shared = RateLimits("3/minute", redis_url)  # another instance, straight to Redis
        assert limits.hit(client) is None  # counted in Redis: 1
        redis.stop()
        assert [limits.hit(client) for _ in range(3)] == [None, None, None]  # in memory: 1, 2, 3
        redis.start()
        assert limits.hit(client) is not None  # memory: 4; Redis not asked again before a second
        clock.now += 1.0
        assert limits.hit(client) is None  # Redis again: 2
        assert shared.hit(client) is None  # 3
        assert shared.hit(client) is not None and limits.hit(client) is not None


# -- proxies -----------------------------------------------------------------------------------


def forwarded(client, socket_peer: str, claimed: str):
    return client.get(
        "/infobutton",
        query_string=icd("C91.00"),
        environ_base={"REMOTE_ADDR": socket_peer},
        headers={"X-Forwarded-For": claimed},
    )


def test_x_forwarded_for_is_ignored_without_trusted_proxies(make_app):
    client = make_app(rate_limit="2/minute").test_client()
    assert forwarded(client, "192.0.2.9", "203.0.113.1").status_code == 200
    assert forwarded(client, "192.0.2.9", "203.0.113.2").status_code == 200
    assert forwarded(client, "192.0.2.9", "203.0.113.3").status_code == 429  # one client: the peer


def test_x_forwarded_for_names_the_client_behind_one_trusted_proxy(make_app):
    client = make_app(rate_limit="2/minute", trusted_proxies=1).test_client()
    for _ in range(2):
        assert forwarded(client, "10.0.0.1", "203.0.113.1").status_code == 200
    assert forwarded(client, "10.0.0.1", "203.0.113.1").status_code == 429
    assert forwarded(client, "10.0.0.1", "203.0.113.2").status_code == 200  # same proxy, another client
    # only the last hop is believed: a client cannot pick its address by prepending one
    assert forwarded(client, "10.0.0.1", "198.51.100.7, 203.0.113.1").status_code == 429


def test_token_throttling_keys_on_the_client_behind_the_proxy(make_app):
    """Sign-in and bearer checks share one throttle (``admin_auth.check_token``)."""
    app = make_app(trusted_proxies=1, signin_attempts=2)
    client = app.test_client()
    token = app.extensions["infobutton"].tokens.create("ana", "admin")

    def api(claimed: str, value: str):
        return client.get(
            "/admin/api/me",
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
            headers={"X-Forwarded-For": claimed, "Authorization": f"Bearer {value}"},
        )

    assert [api("203.0.113.1", "ibk_000000000000.wrong").status_code for _ in range(3)] == [401, 401, 429]
    assert api("203.0.113.2", token).status_code == 200  # another admin behind the same proxy


@pytest.mark.parametrize("bad", ["-1", "11", "two"])
def test_trusted_proxies_is_validated(bad):
    with pytest.raises(ConfigError) as error:
        Settings(trusted_proxies=bad)
    assert error.value.variable == "INFOBUTTON_TRUSTED_PROXIES"


# -- TLS ---------------------------------------------------------------------------------------


def test_hsts_over_tls_only(make_app):
    client = make_app().test_client()
    assert "Strict-Transport-Security" not in get(client, "192.0.2.10").headers
    r = get(client, "192.0.2.10", base_url="https://localhost")
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_hsts_when_the_trusted_proxy_says_https_or_the_base_url_is_https(make_app):
    client = make_app(trusted_proxies=1).test_client()
    r = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in r.headers
    assert (
        "Strict-Transport-Security"
        not in make_app().test_client().get("/", headers={"X-Forwarded-Proto": "https"}).headers
    )
    assert "Strict-Transport-Security" in make_app(base_url="https://info.example.org").test_client().get("/").headers
    assert (
        "Strict-Transport-Security" not in make_app(hsts_max_age=0).test_client().get("/", base_url="https://x").headers
    )


def test_the_session_cookie_is_secure_over_tls_even_when_not_required(make_app):
    app = make_app(cookie_secure=False)
    plain = app.test_client().get("/admin/signin").headers["Set-Cookie"]
    assert "Secure" not in plain and "HttpOnly" in plain
    tls = app.test_client().get("/admin/signin", base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in tls and "HttpOnly" in tls
