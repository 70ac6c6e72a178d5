"""Every setting once, with its environment variable, default and what it accepts.

Read by create_app (``Settings.from_env``), never at import time. A value that cannot be used
is refused when the settings are built, at start, with a ConfigError naming the variable and
what it accepts: nothing is guessed, nothing falls back silently.

Importing this module is cheap (pydantic and the standard library): the CLI reads settings
before anything else, so it imports no database, web or HTTP library. The two CDS Hooks
settings are checked by the CDS package's own parsers, which use only the standard library
(``cds.issuers`` loads PyJWT when it reads keys).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from .cds import issuers as cds_issuers
from .cds.fhir_url import BadUrl, normalise

ENV_PREFIX = "INFOBUTTON_"

# The URL schemes INFOBUTTON_DATABASE_URL accepts (store.db builds engines for exactly these).
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")

# What INFOBUTTON_REDIS_URL may start with.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class ConfigError(ValueError):
    """A setting that cannot be used: ``variable`` is its INFOBUTTON_… name, ``message`` says
    what it accepts and what it got. ``str()`` is ``"VARIABLE: message"``."""

    def __init__(self, variable: str, message: str):
        super().__init__(f"{variable}: {message}")
        self.variable = variable
        self.message = message


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def default_data_dir() -> str:
    import platformdirs  # lazily: only when no data_dir is configured

    return platformdirs.user_data_dir("infobutton", appauthor=False)


# -- what each kind of value accepts -----------------------------------------------------------
# A validator raises ValueError with the "what it accepts" phrase; range and type errors get the
# phrase from the field's constraints (see _accepts).


def _flag(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValueError("true or false (also 1/0, yes/no, on/off)")


def _http_url(value: str) -> str:
    if value and not _is_http(value):
        raise ValueError("an http:// or https:// URL")
    return value


def _fhir_bases(value: str) -> str:
    for base in (p.strip() for p in value.split(",") if p.strip()):
        try:
            normalise(base)
        except BadUrl:
            raise ValueError("comma-separated http:// or https:// base URLs (no user, query or fragment)") from None
    return value


def _issuers(value: str) -> str:
    cds_issuers.parse(value)  # a ValueError says what is wrong
    return value


def _origin_list(value: str, *, star: bool) -> str:
    """Comma-separated browser origins (scheme://host[:port], no path); ``*`` only where allowed."""
    for item in (o.strip() for o in value.split(",") if o.strip()):
        if star and item == "*":
            continue
        try:
            parts = urlsplit(item)
        except ValueError:
            parts = None
        if not (parts and parts.scheme in ("http", "https") and parts.hostname and parts.path in ("", "/")):
            allowed = "*, or " if star else ""
            raise ValueError(
                f"{allowed}comma-separated origins such as https://ehr.example.org (no path), or empty (off)"
            )
    return value


def _origins(value: str) -> str:
    """CDS Hooks callers: named origins only, never ``*``."""
    return _origin_list(value, star=False)


def _cors_origins(value: str) -> str:
    """The public knowledge surfaces: ``*`` allowed (read-only, no credentials)."""
    return _origin_list(value, star=True)


def _networks(value: str) -> str:
    """Client addresses or CIDR networks, comma-separated (``10.20.0.0/16, 192.0.2.7``), or empty."""
    for part in value.split(","):
        if part.strip():
            try:
                ipaddress.ip_network(part.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{part.strip()!r} is not an address or a CIDR network such as 10.20.0.0/16") from None
    return value


def networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The networks of a ``_networks`` setting."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip())


def _database_url(value: str) -> str:
    if value and not (
        value == "sqlite://"
        or value.startswith(("sqlite:///", *(f"{s}://" for s in DATABASE_SCHEMES if s != "sqlite")))
    ):
        raise ValueError(
            "a URL starting sqlite:/// (a file), sqlite:// (in memory), postgresql://, postgres:// "
            "or postgresql+psycopg://"
        )
    return value


def _redis_url(value: str) -> str:
    if value and not value.startswith(REDIS_SCHEMES):
        raise ValueError("a URL starting redis://, rediss:// or unix://")
    return value


def _rate_limit(value: str) -> str:
    """A rate in the ``limits`` library's notation ("600/minute", "20/second;600/minute"), or off
    (empty, 0, off)."""
    if value.strip().lower() in ("", "0", "off"):
        return ""
    from limits import parse_many  # lazily: limits loads its storage backends (~130 ms)

    try:
        if not all(item.amount >= 1 for item in parse_many(value)):
            raise ValueError
    except ValueError:
        raise ValueError('a rate such as "600/minute" (several separated by ";"), or 0/off') from None
    return value


def _choice(*words: str):
    """A validator accepting one of ``words`` in any case (``JSON``, `` text ``)."""

    def check(value: Any) -> Any:
        word = value.strip().lower() if isinstance(value, str) else value
        if word not in words:
            raise ValueError(" or ".join((", ".join(words[:-1]), words[-1])))
        return word

    return check


def _is_http(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


Count = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]  # intervals and TTLs; 0 = off / none
Timeout = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Flag = Annotated[bool, BeforeValidator(_flag)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]  # empty = unset
# How log lines are written (logs.py): text on a terminal and JSON lines otherwise (auto), or one of them.
LogFormat = Annotated[Literal["auto", "text", "json"], BeforeValidator(_choice("auto", "text", "json"))]
LogLevel = Annotated[
    Literal["debug", "info", "warning", "error"], BeforeValidator(_choice("debug", "info", "warning", "error"))
]


class Settings(BaseModel):
    """Field name ↔ env var ``INFOBUTTON_<NAME>``; see docs/configuration.md for every setting.

    Frozen and validated: ``Settings(max_topics=0)`` raises ConfigError like the environment
    would. Build from the environment with ``Settings.from_env``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    data_dir: str = ""
    database_url: Annotated[str, AfterValidator(_database_url)] = ""  # default: sqlite:///<data_dir>/…
    max_topics: Count = 3  # topics per knowledge request
    cache_ttl: Seconds = 300.0  # seconds a rendered response stays cached
    cache_size: Count = 4096  # rendered responses kept
    # bytes of rendered responses (answers and their keys) kept per worker; an answer over 1/64
    # of it is not cached. With the fixed budgets of the other caches, a worker stays under 200 MB.
    cache_bytes: Annotated[int, Field(ge=1024 * 1024)] = 16 * 1024 * 1024
    http_max_age: NonNegativeInt = 3600  # Cache-Control max-age for EHRs and browsers
    version_check_interval: Seconds = 0.2  # seconds between cheap mapping/topic version checks
    max_body_bytes: Count = 64 * 1024
    max_url_bytes: Count = 8 * 1024
    seed: Flag = True  # fill an empty database from the shipped content; merge a new release's at start
    base_url: HttpUrl = ""  # public base URL used in links; default: the request's host
    redis_url: Annotated[str, AfterValidator(_redis_url)] = ""  # optional shared response cache
    # request threads per gunicorn worker (serve); at most the 8 database connections a worker pools
    threads: Annotated[int, Field(ge=2, le=8)] = 4
    # Topic content: upstream catalogue sync and the optional upstream responder.
    sync_interval: Seconds = 0.0  # seconds between catalogue syncs inside serve; 0 = off
    sync_url: HttpUrl = ""  # default: https://medlineplus.gov/xml/mplus_topics_{date}.xml
    upstream_url: HttpUrl = ""  # HL7 upstream responder (e.g. MedlinePlus Connect); empty = off
    upstream_ttl: Seconds = 43200.0  # seconds an upstream answer stays fresh (12 h)
    upstream_timeout: Timeout = 2.0  # seconds to wait for the upstream per request
    upstream_rate: Count = 80  # upstream requests per minute (MedlinePlus asks for < 100)
    # CDS Hooks: callers, FHIR servers, feedback. See infobutton/cds/issuers.py.
    cds_issuers: Annotated[str, AfterValidator(_issuers)] = ""  # JSON object, or a path to one
    cds_allow_unauthenticated: Flag = False  # development only: calls without a JWT
    cds_allow_http_loopback: Flag = False  # development/tests: plain-http fhirServer/JWKS on loopback
    cds_fhir_timeout: Timeout = 3.0  # seconds for the whole fetch from an EHR's fhirServer
    # fhirServer fetches in flight per worker; 0 = half the threads. Always fewer than the threads,
    # so waiting on slow FHIR servers never takes every request thread (health checks, answers).
    cds_fhir_concurrency: NonNegativeInt = 0
    # fhirServer bases for unauthenticated (development) calls; empty: none
    cds_fhir_servers: Annotated[str, AfterValidator(_fhir_bases)] = ""
    cds_cors_origins: Annotated[str, AfterValidator(_origins)] = ""  # browser origins; empty: none
    cds_feedback_days: Count = 90  # days CDS feedback is kept
    cds_feedback_rate: Count = 60  # feedback POSTs per minute per issuer (or client in dev mode)
    # browser origins that may read the public knowledge surfaces (web.cors): *, a list, or empty = off
    cors_origins: Annotated[str, AfterValidator(_cors_origins)] = "*"
    # EHR origins whose pages may show the click page in a frame; empty: only this service's own
    frame_origins: Annotated[str, AfterValidator(_origins)] = ""
    secret_key: str = ""  # signs admin session cookies; default: a random key kept in data_dir
    cookie_secure: Flag = True  # admin session cookie only over HTTPS (and http://localhost)
    max_import_bytes: Count = 8 * 1024 * 1024  # largest CSV the admin import accepts
    signin_attempts: Count = 5  # failed admin sign-ins per client before a pause
    signin_window: Timeout = 900.0  # seconds the failed sign-ins are counted over
    # Hostile networks: rate limits, proxies, TLS, bounded usage counts.
    # per client; 0/off = none. An EHR gateway sending 50 requests a second never meets it; a
    # flood 20 times that is refused after 200 a second (docs/configuration.md, INFOBUTTON_RATE_LIMIT).
    rate_limit: Annotated[str, AfterValidator(_rate_limit)] = "200/second;6000/minute"
    rate_limit_exempt: Annotated[str, AfterValidator(_networks)] = ""  # EHR addresses/CIDRs never limited
    trusted_proxies: Annotated[int, Field(ge=0, le=10)] = 0  # proxy hops whose X-Forwarded-* to believe
    hsts_max_age: NonNegativeInt = 31536000  # Strict-Transport-Security over TLS; 0 = no header
    usage_days: Count = 400  # days of usage counts kept for the gap report
    usage_codes_per_minute: Count = 300  # distinct codes counted per client and minute
    # Crosswalks: a local NLM SNOMED CT to ICD-10-CM map file (human-readable TSV or RF2).
    # Checked where it is read, at start (crosswalk.load_snomed_map): a MapFileError, a ConfigError.
    snomed_map: str = ""  # path; empty = SNOMED CT codes are matched only by explicit rules
    # RxCUIs the usage counts and gap report list one by one (a list, or RxNorm's RXNCONSO.RRF);
    # checked where it is read, at start (known_codes.load_rxcuis). Empty: RxNorm codes are bucketed.
    rxnorm_codes: str = ""
    # Operations: Prometheus metrics at /metrics; keep the path off the public proxy.
    metrics: Flag = True  # serve /metrics; off: 404
    log_format: LogFormat = "auto"  # text on a terminal, JSON lines otherwise; or text, json
    log_level: LogLevel = "info"  # debug adds detail such as each schema migration step

    def __init__(self, **values: Any):
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise _config_error(error, values) from None

    @field_validator("cds_fhir_concurrency")
    @classmethod
    def _fewer_fetches_than_threads(cls, value: int, info: ValidationInfo) -> int:
        threads = info.data.get("threads")
        if threads is not None and value >= threads:
            raise ValueError(f"fewer than INFOBUTTON_THREADS ({threads}), or 0 for half of them")
        return value

    @property
    def fhir_fetch_slots(self) -> int:
        """fhirServer fetches in flight per worker: the setting, or half the request threads."""
        return self.cds_fhir_concurrency or self.threads // 2

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (field names), validated like any other Settings."""
        return type(self)(**{**self.model_dump(), **changes})

    @property
    def resolved_database_url(self) -> str:
        """The database URL to connect to: ``database_url`` (``postgres://`` spelled
        ``postgresql://``), else a SQLite file in the data directory."""
        if self.database_url.startswith("postgres://"):
            return "postgresql://" + self.database_url.removeprefix("postgres://")
        if self.database_url:
            return self.database_url
        return "sqlite:///" + str(Path(self.data_dir or default_data_dir()) / "infobutton.sqlite3")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``INFOBUTTON_*`` variables in ``env`` (default: the process's), with
        ``overrides`` (field names) taking precedence."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(env_name(name))
            if raw is not None:
                values[name] = raw
        values.update(overrides)
        return cls(**values)


def _config_error(error: ValidationError, values: Mapping[str, Any]) -> ConfigError:
    """The first problem of a ValidationError, as a ConfigError naming the variable."""
    problem = error.errors(include_url=False)[0]
    name = str(problem["loc"][0]) if problem["loc"] else ""
    if problem["type"] == "extra_forbidden":
        return ConfigError(env_name(name), "not a setting")
    value = values.get(name, problem.get("input"))
    cause = (problem.get("ctx") or {}).get("error")
    accepts = str(cause) if isinstance(cause, ValueError) else _accepts(name)
    return ConfigError(env_name(name), f"expected {accepts}, got {_shown(value)}")


def _accepts(name: str) -> str:
    """'an integer ≥ 1', 'a number > 0' … from a field's type and constraints."""
    field = Settings.model_fields[name]
    noun = "an integer" if field.annotation is int else "a number" if field.annotation is float else "a value"
    bounds = [f"≥ {m.ge:g}" for m in field.metadata if hasattr(m, "ge")]
    bounds += [f"> {m.gt:g}" for m in field.metadata if hasattr(m, "gt")]
    bounds += [f"≤ {m.le:g}" for m in field.metadata if hasattr(m, "le")]
    return " ".join([noun, *bounds])


def _shown(value: Any) -> str:
    """The value as quoted in an error, with any password in a URL masked."""
    if isinstance(value, str) and "://" in value:
        try:
            parts = urlsplit(value)
            if parts.password:
                value = value.replace(f":{parts.password}@", ":***@", 1)
        except ValueError:
            pass
    return repr(value)
