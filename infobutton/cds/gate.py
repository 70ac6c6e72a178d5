"""What stands between a CDS caller and our work, per worker: who may call (``auth``), which
FHIR servers a caller may make us read and how long we wait (``prefetch``), and how much feedback
a caller may send (``rate_limits``: shared through Redis when configured). Built once from
Settings (``services.build_services``)."""

from __future__ import annotations

import functools
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from ..config import Settings
from ..rate_limits import RateLimits
from . import issuers
from .auth import JWKS_TIMEOUT, Caller, TokenUses, Unauthorized, Verifier, fetch_jwks
from .fhir_url import FhirUrl, normalise
from .prefetch import Fetcher, allowed_base

FEEDBACK_NAMESPACE = "infobutton-cds-feedback"  # its own Redis keys, apart from the public budget


@dataclass
class CdsGate:
    verifier: Verifier
    fetcher: Fetcher
    feedback_rate: RateLimits  # feedback calls per caller (its issuer, or its address in development)
    allow_unauthenticated: bool
    allow_http_loopback: bool
    dev_fhir_servers: tuple[FhirUrl, ...]  # for unauthenticated calls (development mode only)

    @classmethod
    def from_settings(cls, settings: Settings, replay: TokenUses | None = None) -> CdsGate:
        """``replay``: where accepted token ids are kept (the service passes the shared table)."""
        fetcher = Fetcher(settings.fhir_fetch_slots, settings.cds_fhir_timeout)
        return cls(
            verifier=Verifier(
                issuers.parse(settings.cds_issuers),
                allow_http_loopback=settings.cds_allow_http_loopback,
                replay=replay,
                fetch=functools.partial(_jwks_in_a_slot, fetcher),
            ),
            fetcher=fetcher,
            feedback_rate=RateLimits(
                f"{settings.cds_feedback_rate}/minute", settings.redis_url, namespace=FEEDBACK_NAMESPACE
            ),
            allow_unauthenticated=settings.cds_allow_unauthenticated,
            allow_http_loopback=settings.cds_allow_http_loopback,
            dev_fhir_servers=tuple(normalise(p.strip()) for p in settings.cds_fhir_servers.split(",") if p.strip()),
        )

    def caller(self, authorization: str | None, audiences: list[str], client: str) -> Caller:
        """The verified caller; without any Authorization header, an anonymous one only in
        development mode (INFOBUTTON_CDS_ALLOW_UNAUTHENTICATED). Unauthorized otherwise."""
        if not authorization and self.allow_unauthenticated:
            return Caller(None, "client " + client)
        return self.verifier.verify(authorization, audiences)

    def fhir_base(self, caller: Caller, server: str) -> FhirUrl:
        """The fhirServer to read, when it is under a base allow-listed for this caller."""
        bases = caller.issuer.fhir_servers if caller.issuer is not None else self.dev_fhir_servers
        return allowed_base(server, bases, allow_http_loopback=self.allow_http_loopback)

    def close(self) -> None:
        self.fetcher.close()


def _jwks_in_a_slot(fetcher: Fetcher, url: FhirUrl, allow_http_loopback: bool) -> dict:
    """An issuer's JWKS read in one of the worker's fetch slots, like a fhirServer read: Busy
    (503) when every slot is taken, refused once its deadline has passed."""
    try:
        return fetcher.call(fetch_jwks, url, allow_http_loopback, timeout=JWKS_TIMEOUT + 0.5)
    except FutureTimeout:
        raise Unauthorized("the issuer's keys could not be read") from None


__all__ = ["CdsGate", "Caller", "Unauthorized"]
