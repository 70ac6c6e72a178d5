"""The EHRs (CDS clients) allowed to call us, from INFOBUTTON_CDS_ISSUERS: a JSON object, or the
path of a file holding one, keyed by the JWT ``iss`` each EHR signs with::

    {
      "https://ehr.example.org": {
        "jwks_url": "https://ehr.example.org/.well-known/jwks.json",
        "jku": ["https://ehr.example.org/.well-known/jwks.json"],
        "keys": {"keys": [{"kty": "EC", "crv": "P-384", "kid": "1", "x": "…", "y": "…"}]},
        "fhir_servers": ["https://ehr.example.org/fhir/"]
      }
    }

Per issuer: where its signing keys are (at least one of ``keys``, an inline JWKS; ``jwks_url``,
fetched; ``jku``, the JWKS URLs a token's ``jku`` header may name, fetched only when named), and
``fhir_servers``, the bases its ``fhirServer`` must lie under (none: it never makes us fetch).
Pure: parsing only; a problem is a ValueError saying what is wrong (config.py names the variable).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .fhir_url import BadUrl, FhirUrl, normalise

if TYPE_CHECKING:
    import jwt

KEYS = ("jwks_url", "jku", "keys", "fhir_servers")


@dataclass(frozen=True)
class Issuer:
    iss: str
    jwks_url: FhirUrl | None = None
    jku: tuple[FhirUrl, ...] = ()
    keys: jwt.PyJWKSet | None = None
    fhir_servers: tuple[FhirUrl, ...] = ()


def _url(value: object, where: str) -> FhirUrl:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a URL string")
    try:
        return normalise(value)
    except BadUrl as error:
        raise ValueError(f"{where} is not a usable http(s) URL ({error})") from None


def _issuer(iss: str, entry: object) -> Issuer:
    where = f"issuer {iss!r}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object with {', '.join(KEYS)}")
    unknown = sorted(set(entry) - set(KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    jwks_url = _url(entry["jwks_url"], f"{where} jwks_url") if entry.get("jwks_url") is not None else None
    jku = entry.get("jku", [])
    if not isinstance(jku, list):
        raise ValueError(f"{where}: jku must be a list of URLs")
    keys = None
    if entry.get("keys") is not None:
        # lazily: config checks INFOBUTTON_CDS_ISSUERS with this parser and stays free of PyJWT
        # (and the cryptography it loads) unless keys are configured inline
        import jwt

        try:
            keys = jwt.PyJWKSet.from_dict(entry["keys"]) if isinstance(entry["keys"], dict) else None
        except jwt.PyJWTError as error:
            raise ValueError(f"{where}: keys is not a usable JWKS ({error})") from None
        if keys is None:
            raise ValueError(f'{where}: keys must be a JWKS object {{"keys": [...]}}')
    if not (jwks_url or jku or keys):
        raise ValueError(f"{where}: needs keys, jwks_url or jku (where its signing keys are)")
    servers = entry.get("fhir_servers", [])
    if not isinstance(servers, list):
        raise ValueError(f"{where}: fhir_servers must be a list of base URLs")
    bases = []
    for i, server in enumerate(servers):
        try:
            bases.append(normalise(server))
        except BadUrl as error:
            raise ValueError(f"{where}: fhir_servers[{i}] is not a usable http(s) base URL ({error})") from None
    return Issuer(
        iss=iss,
        jwks_url=jwks_url,
        jku=tuple(_url(u, f"{where} jku[{i}]") for i, u in enumerate(jku)),
        keys=keys,
        fhir_servers=tuple(bases),
    )


def parse(text: str) -> dict[str, Issuer]:
    """INFOBUTTON_CDS_ISSUERS (JSON, or a path to a JSON file) → issuers by ``iss``; empty → {}."""
    text = text.strip()
    if not text:
        return {}
    if not text.startswith(("{", "[")):
        try:
            text = Path(text).read_text(encoding="utf-8")
        except (OSError, UnicodeError) as error:
            raise ValueError(
                f"a JSON object or the path of a readable JSON file ({error.__class__.__name__})"
            ) from None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ValueError(f"valid JSON ({error})") from None
    if not isinstance(value, dict) or not value:
        raise ValueError("a JSON object mapping each issuer (iss) to its keys and fhir_servers")
    return {iss: _issuer(iss, entry) for iss, entry in value.items()}
