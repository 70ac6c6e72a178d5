"""docker-compose.yml's structure (no Docker daemon here, so read as YAML): the proxy is the only
way in, two identical instances share one secret key, the database and Redis, wait for them to be
healthy, and are configured with what deploy/nginx.conf enforces in front."""

from __future__ import annotations

import re

import pytest
import yaml

from infobutton.cli import gunicorn_options
from infobutton.config import Settings, env_name

from .nginx import CONFIG, ROOT

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
INSTANCES = ("app1", "app2")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def nginx_size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([km]?)", value).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024 * 1024}[unit]


def test_services_and_only_the_proxy_publishes_a_port(services):
    assert set(services) == {"proxy", *INSTANCES, "postgres", "redis"}
    assert [name for name, service in services.items() if service.get("ports")] == ["proxy"]
    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:")  # the official image
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert set(proxy["depends_on"]) == set(INSTANCES)


def test_the_proxy_cannot_reach_the_database_or_redis(services):
    proxy_networks = set(services["proxy"]["networks"])
    for name in ("postgres", "redis"):
        assert not proxy_networks & set(services[name]["networks"]), name
    for name in INSTANCES:
        assert proxy_networks & set(services[name]["networks"])
        assert set(services["postgres"]["networks"]) <= set(services[name]["networks"])


def test_every_service_has_a_healthcheck(services):
    for name in ("proxy", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    # the instances use the image's own (test_dockerfile checks it)
    assert all("healthcheck" not in services[name] and services[name]["build"] == "." for name in INSTANCES)


def test_instances_are_one_image_waiting_for_a_healthy_database_and_redis(services):
    app1, app2 = (services[name] for name in INSTANCES)
    assert app1 == app2
    assert app1["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    env = app1["environment"]
    assert env["INFOBUTTON_DATABASE_URL"].startswith("postgresql://infobutton:")
    assert env["INFOBUTTON_DATABASE_URL"].endswith("@postgres:5432/infobutton")
    assert env["INFOBUTTON_REDIS_URL"] == "redis://redis:6379/0"
    assert env["INFOBUTTON_TRUSTED_PROXIES"] == "1"


def test_one_secret_key_for_all_instances_and_required(services):
    """Required (`:?`): without it compose refuses to start, rather than each instance making up its
    own key and signing out admins whenever the proxy switches instance."""
    keys = {services[name]["environment"]["INFOBUTTON_SECRET_KEY"] for name in INSTANCES}
    (key,) = keys
    assert key.startswith("${INFOBUTTON_SECRET_KEY:?")
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    example = dict(
        line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line and line[0] != "#"
    )
    assert {"INFOBUTTON_SECRET_KEY", "POSTGRES_PASSWORD"} <= set(example)
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_instance_environment_is_a_valid_configuration(services):
    env = dict(services["app1"]["environment"])
    known = {env_name(field) for field in Settings.model_fields}
    assert set(env) <= known
    filled = {
        name: re.sub(r"\$\{(\w+):[?-][^}]*\}", lambda m: "x" * 64 if "KEY" in m[1] or "PASSWORD" in m[1] else "", value)
        for name, value in env.items()
        if name in known
    }
    settings = Settings.from_env(filled)
    assert settings.database_url.startswith("postgresql://infobutton:" + "x" * 64 + "@postgres")


def test_proxy_limits_match_the_instances(services):
    settings = Settings.from_env({k: v for k, v in services["app1"]["environment"].items() if "${" not in v})
    config = CONFIG.read_text()
    (everywhere,) = re.findall(r"^    client_max_body_size (\w+);", config, re.M)
    (admin,) = re.findall(r"location /admin/ \{[^}]*client_max_body_size (\w+);", config)
    (header_buffer,) = re.findall(r"large_client_header_buffers \d+ (\w+);", config)
    assert nginx_size(everywhere) == settings.max_body_bytes
    assert nginx_size(admin) == settings.max_import_bytes
    assert nginx_size(header_buffer) == settings.max_url_bytes
    # gunicorn gives up on a request (its timeout) before nginx stops waiting for it
    (read_timeout,) = re.findall(r"proxy_read_timeout (\d+)s;", config)
    assert int(read_timeout) > gunicorn_options("127.0.0.1", 8080, 1, settings)["timeout"]
