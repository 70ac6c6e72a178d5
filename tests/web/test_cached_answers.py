"""Plain answers served outside Flask (``web.cached_answers``) are the answers Flask gives: the
same status, headers and body, the same rate-limit counts, usage counts and metrics; what the
layer does not answer itself (errors, pages, CORS, TLS …) Flask answers as before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infobutton import create_app
from infobutton.config import Settings
from infobutton.web.cached_answers import CachedAnswers
from infobutton.web.infobutton import LEGACY_SERVICE_PATH

from ..conftest import icd

ICD_QUERY = icd("C91.00")
REQUESTS = [
    # (method, path, query, headers)
    ("GET", "/infobutton", ICD_QUERY, {}),
    ("HEAD", "/infobutton", ICD_QUERY, {}),
    ("GET", "/infobutton", {**ICD_QUERY, "knowledgeResponseType": "application/json"}, {}),
    ("GET", "/infobutton", {**ICD_QUERY, "knowledgeResponseType": "application/fhir+json"}, {}),
    ("GET", "/infobutton", {**ICD_QUERY, "knowledgeResponseType": "text/javascript", "callback": "cb"}, {}),
    ("GET", "/service", {**ICD_QUERY, "knowledgeResponseType": "text/javascript", "callback": "cb"}, {}),
    ("GET", LEGACY_SERVICE_PATH, {**ICD_QUERY, "knowledgeResponseType": "application/json"}, {}),
    ("GET", "/infobutton", ICD_QUERY, {"Accept": "application/json"}),
    ("GET", "/infobutton", ICD_QUERY, {"Accept": "text/html"}),  # a page: through Flask
    ("GET", "/infobutton", {**ICD_QUERY, "knowledgeResponseType": "text/html"}, {}),
    ("GET", "/infobutton", ICD_QUERY, {"Origin": "https://ehr.example.org"}),  # CORS: through Flask
    ("GET", "/infobutton", {**icd("E11.9"), "age.v.v": "45", "age.v.u": "a"}, {}),
    ("GET", "/infobutton", {"mainSearchCriteria.v.ot": "asthma", "knowledgeResponseType": "application/json"}, {}),
    ("GET", "/infobutton", {**ICD_QUERY, "knowledgeResponseType": "image/png"}, {}),  # 400: Flask
    ("GET", "/infobutton", {"age.v.v": "3"}, {}),  # 400
    ("GET", "/infobutton", {**ICD_QUERY, "knowledgeResponseType": "text/javascript", "callback": "alert(1)"}, {}),
    ("GET", "/infobutton", {**ICD_QUERY, "knowledgeResponseType": "text/javascript"}, {}),  # default callback
    ("POST", "/infobutton", ICD_QUERY, {}),
]


def both_apps(tmp_path, **settings):
    """The app as built, and the same app with the shortcut turned off (every answer by Flask)."""
    apps = []
    for name in ("fast", "flask"):
        app = create_app(Settings(data_dir=str(tmp_path / name), version_check_interval=0.0, **settings))
        layer = app.wsgi_app
        while not isinstance(layer, CachedAnswers):
            layer = layer.wsgi_app if hasattr(layer, "wsgi_app") else layer.app
        if name == "flask":
            layer._usable = False
        apps.append(app)
    return apps


@pytest.fixture
def apps(tmp_path):
    made = both_apps(tmp_path)
    yield made
    for app in made:
        app.extensions["infobutton"].close()


def view_calls(app) -> list:
    calls: list = []
    for endpoint in ("infobutton.infobutton", "infobutton.service"):
        view = app.view_functions[endpoint]

        def counted(*args, _view=view, **kwargs):
            calls.append(1)
            return _view(*args, **kwargs)

        app.view_functions[endpoint] = counted
    return calls


def answer(client, method, path, query, headers, address="192.0.2.40"):
    response = client.open(
        path, method=method, query_string=query, headers=headers, environ_base={"REMOTE_ADDR": address}
    )
    shown = [(k, v) for k, v in response.headers if k != "X-Request-ID"]
    return response.status_code, shown, response.data


def test_every_answer_is_the_one_flask_gives(apps):
    fast, flask = apps
    calls = view_calls(fast)
    fast_client, flask_client = fast.test_client(), flask.test_client()
    for method, path, query, headers in REQUESTS:
        for attempt in ("first", "cached"):
            before = len(calls)
            got = answer(fast_client, method, path, query, headers)
            assert got == answer(flask_client, method, path, query, headers), (method, path, query, headers, attempt)
            shortcut = (
                method in ("GET", "HEAD")
                and got[0] == 200
                and "Origin" not in headers
                and "text/html" not in dict(got[1])["Content-Type"]
            )
            assert (len(calls) == before) is shortcut, (method, path, query, headers, attempt)


def test_usage_counts_and_metrics_are_the_same(apps):
    fast, flask = apps
    for app in apps:
        client = app.test_client()
        for method, path, query, headers in REQUESTS * 3:
            answer(client, method, path, query, headers, address="198.51.100.9")
        app.extensions["infobutton"].usage.flush()

    def usage(app):
        return app.extensions["infobutton"].db.query("SELECT code_system, code, requests, unmatched FROM mapping_usage")

    def counted(app):
        text = app.extensions["infobutton"].metrics.exposition().decode()
        # every sample but the latency histogram's buckets and sums (times differ)
        return sorted(
            line
            for line in text.splitlines()
            if line.startswith("infobutton_")
            and "_duration_seconds_bucket" not in line
            and "_duration_seconds_sum" not in line
            and "_created" not in line
        )

    assert sorted(usage(fast)) == sorted(usage(flask)) and usage(fast)
    assert counted(fast) == counted(flask)
    assert re.search(r'infobutton_response_cache_lookups_total\{result="hit"\} [1-9]', "\n".join(counted(fast)))


def test_the_rate_limit_counts_each_cached_answer_once(tmp_path):
    fast, flask = both_apps(tmp_path, rate_limit="3/minute")
    try:
        seen = []
        for app in (fast, flask):
            client = app.test_client()
            seen.append([answer(client, "GET", "/infobutton", ICD_QUERY, {})[0] for _ in range(6)])
            seen.append([answer(client, "GET", "/healthz", {}, {})[0] for _ in range(2)])
        assert seen[0] == seen[2] == [200, 200, 200, 429, 429, 429]
        assert seen[1] == seen[3] == [200, 200]
        fast_429 = answer(fast.test_client(), "GET", "/infobutton", ICD_QUERY, {})
        flask_429 = answer(flask.test_client(), "GET", "/infobutton", ICD_QUERY, {})
        assert fast_429[0] == 429 and fast_429[2] == flask_429[2]
    finally:
        for app in (fast, flask):
            app.extensions["infobutton"].close()


def test_behind_a_proxy_the_forwarded_client_is_counted(tmp_path):
    fast, flask = both_apps(tmp_path, rate_limit="2/minute", trusted_proxies=1)
    try:
        for app in (fast, flask):
            client = app.test_client()

            def get(claimed, _client=client):
                return _client.get(
                    "/infobutton",
                    query_string=ICD_QUERY,
                    environ_base={"REMOTE_ADDR": "10.0.0.1"},
                    headers={"X-Forwarded-For": claimed},
                ).status_code

            assert [get("203.0.113.1") for _ in range(3)] == [200, 200, 429]
            assert get("203.0.113.2") == 200  # same proxy, another client
    finally:
        for app in (fast, flask):
            app.extensions["infobutton"].close()


def test_over_tls_or_an_https_base_url_answers_go_through_flask(tmp_path):
    for settings in ({"base_url": "https://info.example.org"},):
        fast, flask = both_apps(tmp_path / "tls", **settings)
        try:
            calls = view_calls(fast)
            client = fast.test_client()
            for _ in range(2):
                response = client.get("/infobutton", query_string=ICD_QUERY)
                assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
            tls = [client.get("/infobutton", query_string=ICD_QUERY, base_url="https://localhost") for _ in range(2)]
            assert all("Strict-Transport-Security" in r.headers for r in tls)
            assert len(calls) == 4
        finally:
            for app in (fast, flask):
                app.extensions["infobutton"].close()


def test_an_unknown_hook_turns_the_shortcut_off(tmp_path):
    fast, flask = both_apps(tmp_path)
    try:

        @fast.after_request
        def stamp(response):
            response.headers["X-Stamp"] = "1"
            return response

        client = fast.test_client()
        for _ in range(2):
            assert client.get("/infobutton", query_string=ICD_QUERY).headers["X-Stamp"] == "1"
    finally:
        for app in (fast, flask):
            app.extensions["infobutton"].close()


def test_an_answer_whose_build_fails_is_flasks_error_counted_once(tmp_path):
    """The topics table gone: the layer hands the request to Flask, which fails the same way and
    answers the error; the client's rate limit counts the request once."""
    fast, flask = both_apps(tmp_path, rate_limit="2/minute")
    try:
        seen = []
        for app in (fast, flask):
            app.extensions["infobutton"].db.execute("DROP TABLE topics")
            client = app.test_client()
            seen.append([answer(client, "GET", "/infobutton", ICD_QUERY, {}) for _ in range(3)])
        assert seen[0] == seen[1]
        assert [status for status, _, _ in seen[0]] == [500, 500, 429]
    finally:
        for app in (fast, flask):
            app.extensions["infobutton"].close()


def test_without_a_rate_limit_or_hsts_answers_still_skip_flask(tmp_path):
    fast, flask = both_apps(tmp_path, rate_limit="off", hsts_max_age=0)
    try:
        calls = view_calls(fast)
        for method, path, query, headers in REQUESTS:
            got = answer(fast.test_client(), method, path, query, headers)
            assert got == answer(flask.test_client(), method, path, query, headers), (method, path, query, headers)
        client = fast.test_client()
        before = len(calls)
        assert client.get("/infobutton", query_string=ICD_QUERY).status_code == 200
        assert len(calls) == before
    finally:
        for app in (fast, flask):
            app.extensions["infobutton"].close()


def unreachable(services) -> None:
    """The database file gone and a directory in its place: every new connection fails, as a
    database that cannot be reached does (``errors.unavailable``: "unable to open")."""
    path = Path(services.db.engine.url.database)
    services.db.engine.dispose()
    path.rename(path.with_name(path.name + ".gone"))
    path.mkdir()


def test_with_the_database_unreachable_an_answer_is_built_once(tmp_path):
    """Each path builds the answer once and answers the 503: building it again would wait for
    the database a second time."""
    fast, flask = both_apps(tmp_path)
    try:
        seen = []
        for app in (fast, flask):
            answers = app.extensions["infobutton"].answers
            builds: list = []

            def counted(*args, _build=answers.build, _builds=builds, **kwargs):
                _builds.append(1)
                return _build(*args, **kwargs)

            answers.build = counted
            unreachable(app.extensions["infobutton"])
            got = answer(app.test_client(), "GET", "/infobutton", ICD_QUERY, {})
            seen.append(got)
            assert (got[0], len(builds)) == (503, 1)
        assert seen[0] == seen[1]
    finally:
        for app in (fast, flask):
            app.extensions["infobutton"].close()
