"""Which requested codes exist in the data this service has: what usage counts and the gap report
list one by one. Everything else is counted in one bucket per code system (``usage``).

- ICD-10-CM: the tabular list (``terminology.is_valid``).
- ICD-9-CM: the codes the CMS GEM lists; SNOMED CT: the concepts of the map file
  (INFOBUTTON_SNOMED_MAP; none without one) (``crosswalk.Crosswalk.knows``).
- RxNorm: the RxCUIs of a list the hospital provides (INFOBUTTON_RXNORM_CODES; none without one).

A code that is only well formed is not known: made-up SNOMED CT ids with a valid Verhoeff check
digit and any one to nine digits as an RxNorm code pass every shape check, and LOINC, NDC, CPT
and MeSH codes have no data here at all.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

from . import terminology
from .config import ConfigError
from .crosswalk import Crosswalk
from .models import Code, CodeSystem

ENV_RXNORM_CODES = "INFOBUTTON_RXNORM_CODES"
MAX_RXCUI_DIGITS = 9  # RxCUIs are at most nine digits: an unsigned 32-bit array holds them


class RxNormListError(ConfigError):
    """The configured RxNorm list cannot be used (a ConfigError naming INFOBUTTON_RXNORM_CODES)."""


def parse_rxcuis(lines) -> array:
    """RxCUIs from a list (one per line) or RxNorm's RXNCONSO.RRF (the first ``|`` field), as a
    sorted array of 4-byte integers (a million RxCUIs in 4 MB); ValueError names the bad line."""
    found: set[int] = set()
    for number, line in enumerate(lines, start=1):
        field = line.split("|", 1)[0].strip()
        if not field or field.startswith("#") or (number == 1 and field.upper() == "RXCUI"):
            continue
        if not (field.isascii() and field.isdigit() and len(field) <= MAX_RXCUI_DIGITS):
            raise ValueError(f"line {number}: {field[:20]!r} is not an RxCUI (1 to 9 digits)")
        found.add(int(field))
    if not found:
        raise ValueError("no RxCUI in the file")
    return array("I", sorted(found))


def load_rxcuis(path: str) -> array:
    """The list at ``path``; RxNormListError naming INFOBUTTON_RXNORM_CODES when unusable."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return parse_rxcuis(f)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise RxNormListError(ENV_RXNORM_CODES, f"{path!r} cannot be used: {error}") from None


class KnownCodes:
    """``code in known``: whether the code exists in the data this service has (above)."""

    def __init__(self, crosswalk: Crosswalk, rxcuis: array | None = None):
        self.crosswalk = crosswalk
        self.rxcuis = rxcuis

    @classmethod
    def from_settings(cls, settings, crosswalk: Crosswalk) -> KnownCodes:
        """With the RxNorm list of ``rxnorm_codes`` read now: a bad file stops the start."""
        return cls(crosswalk, load_rxcuis(settings.rxnorm_codes) if settings.rxnorm_codes else None)

    def __contains__(self, code: Code) -> bool:
        system = code.system
        if system is CodeSystem.ICD10CM:
            return terminology.is_valid(code)
        if system is CodeSystem.RXNORM:
            value = code.value
            if self.rxcuis is None or not (value.isascii() and value.isdigit() and len(value) <= MAX_RXCUI_DIGITS):
                return False
            at = bisect_left(self.rxcuis, int(value))
            return at < len(self.rxcuis) and self.rxcuis[at] == int(value)
        return self.crosswalk.knows(code)
