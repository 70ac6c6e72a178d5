"""Per-client rate limits (flask-limiter), the client behind trusted proxies (ProxyFix), and
HSTS and Secure cookies over TLS only."""

from __future__ import annotations

import uuid

import pytest

from infobutton import create_app
from infobutton.config import ConfigError, Settings

from ..conftest import REDIS_URL, icd, port_open, require


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


@pytest.mark.parametrize("off", ["0", "off", ""])
def test_zero_or_off_disables_the_limit(make_app, off):
    client = make_app(rate_limit=off).test_client()
    assert all(get(client, "192.0.2.4").status_code == 200 for _ in range(30))


@pytest.mark.parametrize("bad", ["600", "lots/minute", "0/minute", "5/fortnight"])
def test_a_bad_rate_is_refused_at_start(bad):
    with pytest.raises(ConfigError) as error:
        Settings(rate_limit=bad)
    assert error.value.variable == "INFOBUTTON_RATE_LIMIT"


def test_two_instances_share_the_count_in_redis(make_app):
    require(port_open("127.0.0.1", 6379), "Redis is not running on 127.0.0.1:6379")
    first = make_app(rate_limit="4/minute", redis_url=REDIS_URL).test_client()
    second = make_app(rate_limit="4/minute", redis_url=REDIS_URL).test_client()
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
