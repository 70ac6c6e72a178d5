"""Every setting once, with its environment variable and default. Read by create_app, never
at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path


def default_data_dir() -> str:
    import platformdirs

    return platformdirs.user_data_dir("infobutton", appauthor=False)


@dataclass(frozen=True)
class Settings:
    """Field name ↔ env var ``INFOBUTTON_<NAME>``; see the README's configuration table."""

    data_dir: str = ""
    database_url: str = ""  # default: sqlite:///<data_dir>/infobutton.sqlite3
    max_topics: int = 3  # topics per knowledge request
    cache_ttl: float = 300.0  # seconds a rendered response stays cached
    cache_size: int = 4096  # rendered responses kept
    http_max_age: int = 3600  # Cache-Control max-age for EHRs and browsers
    version_check_interval: float = 0.2  # seconds between cheap mapping/topic version checks
    max_body_bytes: int = 64 * 1024
    max_url_bytes: int = 8 * 1024
    seed: bool = True  # fill an empty database from the bundled mappings and topics
    base_url: str = ""  # public base URL used in links; default: the request's host
    redis_url: str = ""  # optional shared response cache
    # Topic content (issue 3): upstream catalogue sync and the optional upstream responder.
    sync_interval: float = 0.0  # seconds between catalogue syncs inside serve; 0 = off
    sync_url: str = ""  # default: https://medlineplus.gov/xml/mplus_topics_{date}.xml
    upstream_url: str = ""  # HL7 upstream responder (e.g. MedlinePlus Connect); empty = off
    upstream_ttl: float = 43200.0  # seconds an upstream answer stays fresh (12 h)
    upstream_timeout: float = 2.0  # seconds to wait for the upstream per request
    upstream_rate: int = 80  # upstream requests per minute (MedlinePlus asks for < 100)
    cds_fhir_timeout: float = 5.0  # seconds for each CDS Hooks fetch from an EHR's fhirServer
    cds_fhir_servers: str = ""  # comma-separated fhirServer URL prefixes allowed; empty: any
    secret_key: str = ""  # signs admin session cookies; default: a random key kept in data_dir
    cookie_secure: bool = True  # admin session cookie only over HTTPS (and http://localhost)
    max_import_bytes: int = 8 * 1024 * 1024  # largest CSV the admin import accepts
    signin_attempts: int = 5  # failed admin sign-ins per client before a pause
    signin_window: float = 900.0  # seconds the failed sign-ins are counted over
    # Crosswalks (issue 8): a local NLM SNOMED CT to ICD-10-CM map file (human-readable TSV or RF2).
    snomed_map: str = ""  # path; empty = SNOMED CT codes are matched only by explicit rules

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return "sqlite:///" + str(Path(self.data_dir or default_data_dir()) / "infobutton.sqlite3")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(f"INFOBUTTON_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(f.default)
            values[f.name] = raw.lower() in ("1", "true", "yes", "on") if kind is bool else kind(raw)
        values.update(overrides)
        return cls(**values)
