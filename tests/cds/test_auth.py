"""Who may call a CDS service (CDS Hooks 2.0 §Trusting CDS Clients), through the app: a JWT from a
configured issuer, signed with a key from its JWKS (served by a real 127.0.0.1 server), for our
URL, fresh and used once. Everything else is 401, and nothing is fetched on its behalf."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from infobutton import create_app
from infobutton.cds import issuers as cds_issuers
from infobutton.cds.auth import Caller, Unauthorized, Verifier
from infobutton.config import ConfigError, Settings

from ..web.test_cds_hooks import PV, bundle, call, patient, post
from . import ehr

BODY = call(prefetch={"patient": patient(), "conditions": bundle()})
AUD = "http://localhost/cds-services/infobutton-patient-view"


@pytest.fixture
def jwks():
    with ehr.JwksServer() as server:
        yield server


@pytest.fixture
def settings(tmp_path, jwks):
    return Settings(
        data_dir=str(tmp_path),
        version_check_interval=0.0,
        cds_issuers=ehr.issuers(jwks.url),
        cds_allow_http_loopback=True,
    )


def test_a_signed_token_from_a_configured_issuer_is_accepted(client):
    r = post(client, PV, BODY, token=ehr.token(AUD))
    assert r.status_code == 200 and r.json == {"cards": []}


@pytest.mark.parametrize(
    "aud", [AUD, "http://localhost/cds-services", "http://localhost/cds-services/"], ids=["service", "discovery", "/"]
)
def test_aud_may_be_the_service_or_the_discovery_endpoint(client, aud):
    assert post(client, PV, BODY, token=ehr.token(aud)).status_code == 200


def test_without_a_token_it_is_401(client):
    r = post(client, PV, BODY, token="")
    assert r.status_code == 401
    assert r.mimetype == "application/problem+json" and r.json["parameter"] == "Authorization"
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="cds-services"'  # RFC 6750 §3: no error
    feedback = post(client, PV + "/feedback", {"feedback": []}, token="")
    assert feedback.status_code == 401 and feedback.headers["WWW-Authenticate"].startswith("Bearer ")


def test_discovery_stays_public(client):
    assert client.get("/cds-services").status_code == 200


def _forged_hs256() -> str:
    """The classic confusion: HS256 'signed' with the issuer's public key as the secret."""
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "kid": ehr.KID}).encode())
    claims = {"iss": ehr.ISS, "aud": AUD, "exp": 9999999999, "iat": 1, "jti": "x"}
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode())
    return (header + b"." + payload + b".c2lnbmF0dXJl").decode()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: "not-a-jwt", id="garbage"),
        pytest.param(lambda: ehr.token(AUD, key="stranger"), id="another key, same kid"),
        pytest.param(lambda: ehr.token(AUD, kid="unknown-kid"), id="unknown kid"),
        pytest.param(lambda: ehr.token(AUD, iss="https://stranger.example.org"), id="unknown iss"),
        pytest.param(lambda: ehr.token("https://elsewhere.example.org/cds-services"), id="another aud"),
        pytest.param(lambda: ehr.token("http://localhost/cds-services/other-service"), id="another service"),
        pytest.param(lambda: ehr.token(AUD, lifetime=-120), id="expired"),
        pytest.param(lambda: ehr.token(AUD, lifetime=3600), id="lives an hour"),
        pytest.param(lambda: ehr.token(AUD, drop=("exp",)), id="no exp"),
        pytest.param(lambda: ehr.token(AUD, drop=("iat",)), id="no iat"),
        pytest.param(lambda: ehr.token(AUD, drop=("jti",)), id="no jti"),
        pytest.param(lambda: ehr.token(AUD, drop=("aud",)), id="no aud"),
        pytest.param(lambda: jwt.encode({"iss": ehr.ISS, "aud": AUD}, None, algorithm="none"), id="alg none"),
        pytest.param(_forged_hs256, id="HS256 with the public key"),
    ],
)
def test_bad_tokens_are_401(client, make):
    r = post(client, PV, BODY, token=make())
    assert r.status_code == 401, r.json
    assert r.json["parameter"] == "Authorization" and r.json["detail"]
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="cds-services", error="invalid_token"'


def _in(seconds: int) -> int:
    return int(time.time()) + seconds


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(lambda: {"exp": str(_in(200))}, id="exp a numeric string"),
        pytest.param(lambda: {"iat": str(_in(0))}, id="iat a numeric string"),
        pytest.param(lambda: {"exp": str(_in(200)), "iat": str(_in(0))}, id="both strings"),
        pytest.param(lambda: {"nbf": str(_in(0))}, id="nbf a numeric string"),
        pytest.param(lambda: {"iat": True}, id="iat true"),
        pytest.param(lambda: {"exp": [_in(200)]}, id="exp a list"),
        pytest.param(lambda: {"iat": {"at": _in(0)}}, id="iat an object"),
        pytest.param(lambda: {"jti": 7}, id="jti a number"),
        pytest.param(lambda: {"aud": [AUD, 1]}, id="aud with a number"),
        pytest.param(lambda: {"sub": 1}, id="sub a number"),
    ],
)
def test_validly_signed_claims_of_the_wrong_type_are_401(client, claims):
    r = post(client, PV, BODY, token=ehr.token(AUD, claims=claims()))
    assert r.status_code == 401, r.json
    assert r.json["parameter"] == "Authorization"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
NUMERIC_STRINGS = st.integers(-(10**12), 10**12).map(str)
CLAIMS = ("iss", "aud", "exp", "iat", "nbf", "jti", "sub")
HEADERS = ("kid", "jku", "typ", "cty", "crit")


@pytest.mark.slow
@given(
    claims=st.dictionaries(st.sampled_from(CLAIMS), JSON | NUMERIC_STRINGS, max_size=len(CLAIMS)),
    headers=st.dictionaries(st.sampled_from(HEADERS), JSON, max_size=2),
    missing=st.sets(st.sampled_from(CLAIMS)),
)
@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_validly_signed_claims_give_a_caller_or_unauthorized(claims, headers, missing):
    """Property: whatever types a correctly signed token's claims and header values have, the
    verifier accepts it or refuses it with Unauthorized (a 401), never another exception."""
    verifier = Verifier(cds_issuers.parse(ehr.issuers()))
    token = ehr.token(AUD, claims=claims, headers=headers, drop=tuple(missing & {"iss", "aud", "exp", "iat", "jti"}))
    try:
        assert isinstance(verifier.verify(f"Bearer {token}", [AUD]), Caller)
    except Unauthorized:
        pass


def test_a_token_is_used_once(client):
    token = ehr.token(AUD)
    assert post(client, PV, BODY, token=token).status_code == 200
    again = post(client, PV, BODY, token=token)
    assert again.status_code == 401 and "used before" in again.json["detail"]


def test_a_token_used_on_one_instance_is_refused_on_another(settings, client):
    """Workers and instances share one database: a token replayed to another one within its
    lifetime is refused there too (a per-process memory would accept it)."""
    token = ehr.token(AUD)
    assert post(client, PV, BODY, token=token).status_code == 200
    other = create_app(settings)  # a second instance (or worker) on the same database
    try:
        again = post(other.test_client(), PV, BODY, token=token)
        assert again.status_code == 401 and "used before" in again.json["detail"]
        fresh = post(other.test_client(), PV, BODY, token=ehr.token(AUD))
        assert fresh.status_code == 200
    finally:
        other.extensions["infobutton"].close()


def test_the_jwks_is_fetched_once_and_reread_for_a_new_kid(client, jwks):
    for _ in range(3):
        assert post(client, PV, BODY, token=ehr.token(AUD)).status_code == 200
    assert jwks.hits == 1
    jwks.keys = [ehr.jwk(), ehr.jwk("rotated", kid="ehr-key-2")]  # the EHR rotates its keys
    assert post(client, PV, BODY, token=ehr.token(AUD, key="rotated", kid="ehr-key-2")).status_code == 401
    # a re-read is rate-limited (30 s); within that window the new kid is unknown: nothing was guessed


def test_a_jku_is_fetched_only_from_the_issuers_allow_list(tmp_path, jwks):
    with ehr.JwksServer() as elsewhere:
        settings = Settings(
            data_dir=str(tmp_path),
            version_check_interval=0.0,
            cds_issuers=ehr.issuers(jku=[jwks.url]),
            cds_allow_http_loopback=True,
        )
        app = create_app(settings)
        try:
            client = app.test_client()
            refused = post(client, PV, BODY, token=ehr.token(AUD, jku=elsewhere.url))
            assert refused.status_code == 401 and "jku" in refused.json["detail"]
            assert elsewhere.hits == 0  # never contacted
            assert post(client, PV, BODY, token=ehr.token(AUD)).status_code == 401  # names no jku
            assert post(client, PV, BODY, token=ehr.token(AUD, jku=jwks.url)).status_code == 200
            assert jwks.hits == 1
        finally:
            app.extensions["infobutton"].close()


def _app(tmp_path, issuers: str):
    settings = Settings(
        data_dir=str(tmp_path), version_check_interval=0.0, cds_issuers=issuers, cds_allow_http_loopback=True
    )
    return create_app(settings)


@pytest.mark.parametrize("where", ["inline", "jwks_url"])
def test_a_kid_of_a_configured_key_verifies_whatever_jku_the_token_names(tmp_path, jwks, where):
    """EHRs (and the CDS Hooks sandbox) name their jku on every call: a key configured for the
    issuer that the kid names is used, and the jku is never fetched, allow-listed or not."""
    with ehr.JwksServer() as elsewhere:
        issuers = ehr.issuers() if where == "inline" else ehr.issuers(jwks.url)
        app = _app(tmp_path, issuers)
        try:
            client = app.test_client()
            for _ in range(2):
                assert post(client, PV, BODY, token=ehr.token(AUD, jku=elsewhere.url)).status_code == 200
            assert elsewhere.hits == 0
            assert jwks.hits == (1 if where == "jwks_url" else 0)
        finally:
            app.extensions["infobutton"].close()


def test_a_jku_is_fetched_only_when_no_configured_key_matches_and_it_is_allow_listed(tmp_path):
    """Key rotation through the jku: a new kid the inline keys lack is read from the token's jku
    when that URL is on the allow-list; from any other URL it is refused unread."""
    with ehr.JwksServer() as listed, ehr.JwksServer() as unlisted:
        listed.keys = unlisted.keys = [ehr.jwk("rotated", kid="ehr-key-2")]
        app = _app(tmp_path, ehr.issuers(keys={"keys": [ehr.jwk()]}, jku=[listed.url]))
        try:
            client = app.test_client()
            rotated = {"key": "rotated", "kid": "ehr-key-2"}
            assert post(client, PV, BODY, token=ehr.token(AUD, jku=listed.url, **rotated)).status_code == 200
            refused = post(client, PV, BODY, token=ehr.token(AUD, jku=unlisted.url, **rotated))
            assert refused.status_code == 401 and "allow-list" in refused.json["detail"]
            assert unlisted.hits == 0
            # the old key still verifies without a fetch, whichever jku the token names
            assert post(client, PV, BODY, token=ehr.token(AUD, jku=unlisted.url)).status_code == 200
            assert (listed.hits, unlisted.hits) == (1, 0)
        finally:
            app.extensions["infobutton"].close()


def test_a_plain_http_jwks_is_refused_without_the_development_flag(tmp_path, jwks):
    app = create_app(Settings(data_dir=str(tmp_path), version_check_interval=0.0, cds_issuers=ehr.issuers(jwks.url)))
    try:
        r = post(app.test_client(), PV, BODY, token=ehr.token(AUD))
        assert r.status_code == 401 and jwks.hits == 0
    finally:
        app.extensions["infobutton"].close()


def test_development_mode_allows_calls_without_a_token_only_when_set(tmp_path):
    dev = create_app(Settings(data_dir=str(tmp_path), version_check_interval=0.0, cds_allow_unauthenticated=True))
    try:
        assert post(dev.test_client(), PV, BODY, token="").status_code == 200
    finally:
        dev.extensions["infobutton"].close()
    assert Settings().cds_allow_unauthenticated is False


def test_inline_keys_need_no_fetch(tmp_path):
    app = create_app(Settings(data_dir=str(tmp_path), version_check_interval=0.0, cds_issuers=ehr.issuers()))
    try:
        assert post(app.test_client(), PV, BODY, token=ehr.token(AUD)).status_code == 200
    finally:
        app.extensions["infobutton"].close()


def test_the_issuers_file_may_be_a_path(tmp_path, jwks):
    path = tmp_path / "issuers.json"
    path.write_text(ehr.issuers(jwks.url))
    assert Settings(cds_issuers=str(path)).cds_issuers == str(path)


@pytest.mark.parametrize(
    "value,says",
    [
        ("{not json", "valid JSON"),
        ("[]", "a JSON object mapping each issuer"),
        ('{"https://ehr": 1}', "expected an object"),
        ('{"https://ehr": {}}', "needs keys, jwks_url or jku"),
        ('{"https://ehr": {"jwks_url": "ftp://x/"}}', "jwks_url"),
        ('{"https://ehr": {"keys": {"keys": [{"kty": "nope"}]}}}', "keys"),
        ('{"https://ehr": {"jwks_url": "https://ehr/j", "fhir_servers": ["http://a@b/"]}}', "fhir_servers[0]"),
        ('{"https://ehr": {"jwks_url": "https://ehr/j", "fhir_server": []}}', "unknown key"),
        ("/no/such/issuers.json", "readable JSON file"),
    ],
)
def test_a_bad_issuers_setting_is_refused_at_start_naming_the_variable(value, says):
    with pytest.raises(ConfigError) as error:
        Settings(cds_issuers=value)
    assert error.value.variable == "INFOBUTTON_CDS_ISSUERS"
    assert says in error.value.message
