"""Who is calling: the CDS client's JWT (CDS Hooks 2.0 §Trusting CDS Clients), verified with PyJWT.

A call carries ``Authorization: Bearer <JWT>`` signed by the EHR (asymmetric algorithms only). We
check, in order: the ``iss`` is a configured issuer; the signing key is the one of that issuer's
inline JWKS or ``jwks_url`` that the token's ``kid`` names (whatever ``jku`` the token carries,
as the CDS Hooks sandbox and EHRs send one on every call), else the one at the token's ``jku``
when that URL is on the issuer's ``jku`` allow-list (never any other URL); the signature; ``aud``
is one of the URLs the view names (the endpoint called); ``exp`` (required, at most MAX_LIFETIME
ahead), ``iat`` and ``jti`` (required); and that this ``jti`` was not seen before within the
token's lifetime (the shared ``TokenUses``, or a bounded per-process ``ReplayCache``).

Every refusal is Unauthorized with a short reason safe to show; the view answers 401.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import jwt
import requests

from .fhir_url import BadUrl, FhirUrl, normalise
from .issuers import Issuer

ALGORITHMS = {
    "RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    "EC": ("ES256", "ES384", "ES512"),
    "OKP": ("EdDSA",),
}
MAX_LIFETIME = 300  # seconds: CDS Hooks 2.0 says a JWT should live at most 5 minutes
LEEWAY = 30  # seconds of clock skew allowed on exp and iat
JWKS_TTL = 300.0  # seconds a fetched JWKS is trusted before it is read again
JWKS_REFRESH = 30.0  # an unknown kid re-reads a JWKS at most this often (key rotation)
JWKS_TIMEOUT = 2.0
JWKS_MAX_BYTES = 64 * 1024
REPLAY_SIZE = 10_000  # jti values remembered per worker


class Unauthorized(Exception):
    """The call is not from an EHR we trust; the message is safe to show."""


@dataclass(frozen=True)
class Caller:
    """Who called: a verified issuer, or (development mode only) nobody, known by ``client``."""

    issuer: Issuer | None
    client: str  # the rate-limit key: the issuer, or the client address when unauthenticated


class TokenUses(Protocol):
    """Where accepted (iss, jti) pairs are remembered until their tokens expire."""

    def first_use(self, iss: str, jti: str, expires: float) -> bool: ...


class ReplayCache:
    """jti values seen by this process, each until its token expires; bounded: when full of live
    tokens, new tokens are refused rather than old ones forgotten (forgetting would allow a
    replay). The service uses the shared table (``store.token_uses``); this is for a Verifier
    built without one."""

    def __init__(self, size: int = REPLAY_SIZE, clock: Callable[[], float] = time.time):
        self.size, self.clock = size, clock
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()  # in expiry order, roughly
        self._lock = threading.Lock()

    def first_use(self, iss: str, jti: str, expires: float) -> bool:
        now = self.clock()
        with self._lock:
            for key, until in list(self._seen.items()):
                if until > now:
                    break
                del self._seen[key]
            if (iss, jti) in self._seen:
                return False
            if len(self._seen) >= self.size:
                self._seen = OrderedDict((k, t) for k, t in self._seen.items() if t > now)
                if len(self._seen) >= self.size:
                    raise Unauthorized("too many tokens in flight; try again shortly")
            self._seen[(iss, jti)] = expires
            return True


def fetch_jwks(url: FhirUrl, allow_http_loopback: bool) -> dict:
    """A JWKS from an allow-listed URL: https (or http on loopback in development), no
    redirects, a size cap and one deadline for the whole read (a server dripping its body a
    byte at a time meets it too)."""
    if url.scheme != "https" and not (allow_http_loopback and url.loopback):
        raise Unauthorized("the issuer's JWKS URL is not https")
    deadline = time.monotonic() + JWKS_TIMEOUT
    try:
        with requests.Session() as session:
            session.trust_env = False
            with session.get(url.url, timeout=JWKS_TIMEOUT, allow_redirects=False, stream=True) as response:
                if response.status_code != 200:
                    raise Unauthorized("the issuer's keys could not be read")
                body = b""
                while chunk := response.raw.read1(16 * 1024, decode_content=True):
                    body += chunk
                    if len(body) > JWKS_MAX_BYTES or time.monotonic() > deadline:
                        raise Unauthorized("the issuer's keys could not be read")
        value = json.loads(body)
    except (requests.RequestException, ValueError, OSError):
        raise Unauthorized("the issuer's keys could not be read") from None
    if not isinstance(value, dict):
        raise Unauthorized("the issuer's keys could not be read")
    return value


def _numeric_date(claims: dict, name: str) -> float:
    """A NumericDate claim (RFC 7519 §2: a JSON number): PyJWT reads ``"1765100000"`` and
    ``true`` as integers, which we do not."""
    value = claims[name]
    number = isinstance(value, int) and not isinstance(value, bool)
    if not (number or (isinstance(value, float) and math.isfinite(value))):
        raise Unauthorized(f"the token's {name} must be a number of seconds")
    return value


class Verifier:
    def __init__(
        self,
        issuers: dict[str, Issuer],
        *,
        allow_http_loopback: bool = False,
        clock: Callable[[], float] = time.time,
        fetch: Callable[[FhirUrl, bool], dict] = fetch_jwks,
        replay: TokenUses | None = None,
    ):
        self.issuers = issuers
        self.allow_http_loopback = allow_http_loopback
        self.clock = clock
        self.fetch = fetch
        self.replay: TokenUses = replay if replay is not None else ReplayCache(clock=clock)
        self._jwks: dict[FhirUrl, tuple[float, jwt.PyJWKSet]] = {}
        self._lock = threading.Lock()

    def _key_set(self, url: FhirUrl, refresh: bool) -> jwt.PyJWKSet:
        now = self.clock()
        with self._lock:
            cached = self._jwks.get(url)
        if cached and now - cached[0] < (JWKS_REFRESH if refresh else JWKS_TTL):
            return cached[1]
        try:
            keys = jwt.PyJWKSet.from_dict(self.fetch(url, self.allow_http_loopback))
        except jwt.PyJWTError:
            raise Unauthorized("the issuer's keys could not be read") from None
        with self._lock:
            self._jwks[url] = (now, keys)
        return keys

    def _lookup(self, source: jwt.PyJWKSet | FhirUrl, kid: object) -> jwt.PyJWK | None:
        """The key ``kid`` names in ``source`` (without a kid: its only key), or None. A fetched
        set is read again for an unknown kid (at most every JWKS_REFRESH seconds: rotation)."""
        for refresh in (False, True):
            keys = source if isinstance(source, jwt.PyJWKSet) else self._key_set(source, refresh)
            found = [k for k in keys.keys if kid is None or k.key_id == kid]
            if len(found) == 1 or (found and kid is not None):
                return found[0]
            if isinstance(source, jwt.PyJWKSet):
                return None
        return None

    def _key(self, issuer: Issuer, header: dict) -> jwt.PyJWK:
        """The issuer's key for this token: a configured one (inline, then ``jwks_url``) that
        matches its ``kid``, whatever ``jku`` the token also names; else the key at its ``jku``
        when that URL is on the issuer's allow-list. Nothing else is ever fetched."""
        kid = header.get("kid")
        for configured in (issuer.keys, issuer.jwks_url):
            if configured is not None:
                key = self._lookup(configured, kid)
                if key is not None:
                    return key
        jku = header.get("jku")
        if jku is None:
            if issuer.keys is None and issuer.jwks_url is None:
                raise Unauthorized("this issuer signs with a jku; the token names none")
            raise Unauthorized("no key of this issuer matches the token's kid")
        try:
            named = normalise(jku) if isinstance(jku, str) else None
        except BadUrl:
            named = None
        if named is None or named not in issuer.jku:
            raise Unauthorized("no key of this issuer matches the token's kid, and its jku is not on the allow-list")
        key = self._lookup(named, kid)
        if key is None:
            raise Unauthorized("no key of this issuer matches the token's kid")
        return key

    def verify(self, authorization: str | None, audiences: list[str]) -> Caller:
        """The verified caller of a request with this Authorization header, or Unauthorized."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("a CDS Hooks JWT is required (Authorization: Bearer …)")
        try:
            header = jwt.get_unverified_header(token.strip())
            claims = jwt.decode(token.strip(), options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthorized("the Authorization header is not a JWT") from None
        iss = claims.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise Unauthorized("the token's issuer (iss) is not one this service trusts")
        key = self._key(issuer, header)
        algorithms = ALGORITHMS.get(str(key.key_type), ())
        if header.get("alg") not in algorithms:
            raise Unauthorized("the token's alg does not fit the issuer's key")
        try:
            claims = jwt.decode(
                token.strip(),
                key=key.key,
                algorithms=[header["alg"]],
                audience=audiences,
                issuer=issuer.iss,
                leeway=LEEWAY,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("the token's aud is not this service's URL") from None
        except jwt.PyJWTError as error:
            raise Unauthorized(f"the token is not valid ({error.__class__.__name__})") from None
        now = self.clock()
        exp, iat, jti = _numeric_date(claims, "exp"), _numeric_date(claims, "iat"), claims["jti"]
        if "nbf" in claims:
            _numeric_date(claims, "nbf")
        if exp > now + MAX_LIFETIME + LEEWAY or exp - iat > MAX_LIFETIME + LEEWAY:
            raise Unauthorized(f"the token lives longer than {MAX_LIFETIME} seconds")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise Unauthorized("the token's jti must be a non-empty string")
        if not self.replay.first_use(issuer.iss, jti, float(exp) + LEEWAY):
            raise Unauthorized("the token was used before (jti)")
        return Caller(issuer, issuer.iss)
