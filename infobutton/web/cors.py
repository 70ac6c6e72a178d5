"""CORS for the public knowledge surfaces: /infobutton, /service, /application and their
MedlinePlus Connect paths, in every format (Atom, JSON, FHIR, HTML), errors and preflights
included. Never for the admin or CDS Hooks routes (cds_hooks has its own policy).

These surfaces are read-only and cookie-less, so the default (``INFOBUTTON_CORS_ORIGINS=*``)
lets any page read them, as MedlinePlus Connect does; credentials are never allowed. A list of
origins narrows that (and adds ``Vary: Origin``); an empty value turns CORS off. Only a request
that carries ``Origin`` pays for more than one header lookup (docs/decisions.md, "CORS").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import Response, request

ALLOW_METHODS = "GET, HEAD, POST, OPTIONS"
ALLOW_HEADERS = "Accept, Accept-Language, Content-Type, If-None-Match, If-Modified-Since, X-Request-ID"
EXPOSE_HEADERS = "ETag, Retry-After, X-Request-ID"
MAX_AGE = "86400"


@dataclass(frozen=True)
class CorsPolicy:
    """Which origins may read: ``any_origin`` (``*``), else exactly ``origins``."""

    any_origin: bool
    origins: frozenset[str]

    @property
    def varies(self) -> bool:
        """Whether the answer depends on Origin (a list of origins), so caches must key on it."""
        return not self.any_origin and bool(self.origins)

    def allowed(self, origin: str) -> str | None:
        """The Access-Control-Allow-Origin value for ``origin``, None when it may not read."""
        if self.any_origin:
            return "*"
        return origin if origin.lower().rstrip("/") in self.origins else None


@functools.lru_cache(maxsize=16)
def policy(setting: str) -> CorsPolicy:
    """``INFOBUTTON_CORS_ORIGINS`` (already validated by config) as a policy."""
    items = [o.strip().lower().rstrip("/") for o in setting.split(",") if o.strip()]
    return CorsPolicy("*" in items, frozenset(o for o in items if o != "*"))


def add_headers(response: Response, rule: CorsPolicy) -> Response:
    """The CORS headers ``rule`` grants the current request (none without ``Origin``)."""
    if rule.varies:
        response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if origin is None:
        return response
    allowed = rule.allowed(origin)
    if allowed is None:
        return response
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = allowed
    headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        headers["Access-Control-Max-Age"] = MAX_AGE
    return response
