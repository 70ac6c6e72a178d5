"""Code systems, code normalisation, validation and the ICD-10-CM hierarchy (pure).

Implements the code-system half of the URL-based IG R4 §2.1.4 (mainSearchCriteria.v.c/.v.cs):
a code system may arrive as an OID, a FHIR system URI or a common name; codes are compared
after normalisation. The ICD-10-CM tabular list and hierarchy come from ``simple-icd-10-cm``, read
into flat tables in a child process (``tabular``), so a worker never holds the library's tree.
"""

from __future__ import annotations

import functools
import re

from stdnum import luhn, verhoeff

from . import tabular
from .models import Code, CodeSystem, InvalidRequest


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9.]", "", text.lower())


_NAMES = {
    "icd10cm": CodeSystem.ICD10CM,
    "icd10": CodeSystem.ICD10CM,
    "icd9cm": CodeSystem.ICD9CM,
    "icd9": CodeSystem.ICD9CM,
    "snomedct": CodeSystem.SNOMEDCT,
    "snomed": CodeSystem.SNOMEDCT,
    "snomedctus": CodeSystem.SNOMEDCT,
    "sct": CodeSystem.SNOMEDCT,
    "loinc": CodeSystem.LOINC,
    "rxnorm": CodeSystem.RXNORM,
    "ndc": CodeSystem.NDC,
    "cpt": CodeSystem.CPT,
    "cpt4": CodeSystem.CPT,
    "mesh": CodeSystem.MESH,
    "msh": CodeSystem.MESH,
}
_LOOKUP: dict[str, CodeSystem] = {}
for _cs in CodeSystem:
    _LOOKUP[_key(_cs.oid)] = _cs
    _LOOKUP[_key("urn:oid:" + _cs.oid)] = _cs
    _LOOKUP[_key(_cs.uri)] = _cs
    _LOOKUP[_key(_cs.uri.replace("http://", "https://"))] = _cs
    _LOOKUP[_key(_cs.label)] = _cs
for _name, _cs in _NAMES.items():
    _LOOKUP[_name] = _cs


def code_system(text: str, parameter: str = "mainSearchCriteria.v.cs") -> CodeSystem:
    """The code system named by an OID, a FHIR system URI or a name; InvalidRequest otherwise."""
    found = _LOOKUP.get(_key(text or ""))
    if found is None:
        raise InvalidRequest(
            parameter, f"unknown code system {text!r}; use an OID such as {CodeSystem.ICD10CM.oid} (ICD-10-CM)"
        )
    return found


@functools.cache
def icd10cm() -> tabular.Tabular:
    """The ICD-10-CM tabular list: reference data that never changes while the process runs,
    read once per process (~2 s, in a child process) on first use or at ``warm_up``. The cache
    is its only writer; ``serve`` warms it in the arbiter, so every forked worker shares it."""
    return tabular.load()


def warm_up() -> None:
    """Load the ICD-10-CM tabular list now rather than on the first request."""
    icd10cm()


_ICD10CM_UNDOTTED = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{1,4}\Z")

_SHAPES = {
    CodeSystem.ICD9CM: re.compile(r"^(\d{3}(\.\d{1,2})?|V\d{2}(\.\d{1,2})?|E\d{3}(\.\d)?)\Z"),
    CodeSystem.SNOMEDCT: re.compile(r"^[1-9]\d{5,17}\Z"),
    CodeSystem.LOINC: re.compile(r"^\d{1,7}-\d\Z"),
    CodeSystem.RXNORM: re.compile(r"^\d{1,9}\Z"),
    CodeSystem.NDC: re.compile(r"^(\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d{1,2}|\d{10,11})\Z"),
    CodeSystem.CPT: re.compile(r"^\d{4}[0-9FTU]\Z"),
    CodeSystem.MESH: re.compile(r"^[DCQ]\d{6,9}\Z"),
}


def normalise(system: CodeSystem, raw: str) -> str:
    """Canonical spelling: trimmed, upper case, ICD-10-CM with its dot (``C9100`` → ``C91.00``)."""
    value = (raw or "").strip().upper()
    if system is CodeSystem.ICD10CM:
        value = value.replace(" ", "")
        if _ICD10CM_UNDOTTED.match(value):  # only code-shaped text gets a dot, never "LEUKEMIA"
            value = value[:3] + "." + value[3:]
        return value.rstrip(".")
    if system is CodeSystem.ICD9CM and "." not in value and len(value) > 3:
        cut = 4 if value.startswith("E") else 3
        return value[:cut] + "." + value[cut:]
    return value


def is_valid(code: Code) -> bool:
    """Whether the code exists (ICD-10-CM) or is well formed with a valid check digit."""
    system, value = code.system, code.value
    if system is CodeSystem.ICD10CM:
        return icd10cm().is_code(value)
    shape = _SHAPES.get(system)
    if shape is not None and not shape.match(value):
        return False
    if system is CodeSystem.SNOMEDCT:
        return verhoeff.is_valid(value)
    if system is CodeSystem.LOINC:
        return luhn.is_valid(value.replace("-", ""))
    return True


def make_code(system: CodeSystem, raw: str) -> Code:
    return Code(system, normalise(system, raw))


def ancestors(code: Code) -> tuple[str, ...]:
    """Codes above this one, nearest first (ICD-10-CM subcategory → category → block)."""
    if code.system is not CodeSystem.ICD10CM or not is_valid(code):
        return ()
    return icd10cm().ancestors_below_chapter(code.value)


def family(code: Code) -> Code:
    """The code without its 7th-character extension (``S72.002A`` → ``S72.002``, ``T07.XXXD`` →
    ``T07``): the tabular list's 7th characters say which encounter, fetus or stage, never what the
    code is about, so codes that differ only there answer alike. Any other code is its own family
    (the tabular list's few 7-character subcategories, such as ``H54.413A``, are codes in their
    own right)."""
    if code.system is not CodeSystem.ICD10CM or not is_valid(code):
        return code
    parent = icd10cm().extended_from(code.value)
    return code if parent is None else Code(code.system, parent)


def is_block(value: str) -> bool:
    """Whether an ICD-10-CM item is a block of categories (e.g. C81-C96), not a code."""
    return icd10cm().is_block(value)


def describe(code: Code) -> str:
    """The preferred display name of a code, when the system is one we carry."""
    if code.system is CodeSystem.ICD10CM and is_valid(code):
        return icd10cm().description(code.value)
    return ""


def titles() -> set[str]:
    """Every distinct title of the ICD-10-CM tabular list (codes, blocks and chapters)."""
    return icd10cm().descriptions()


@functools.cache
def billable() -> tuple[str, ...]:
    """Every billable ICD-10-CM code (a leaf of the tabular list), dotted, in tabular order."""
    cm = icd10cm()
    return tuple(dict.fromkeys(c for c in cm.all_codes() if cm.is_billable(c)))


def chapter_of(code: Code) -> str:
    """The ICD-10-CM chapter a code is in ("19" for S72.002A)."""
    return icd10cm().chapter_of(code.value)


@functools.cache
def chapters() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """ICD-10-CM's chapters in tabular order: (number, title, its billable codes), e.g. ("19",
    "Injury, poisoning and certain other consequences of external causes (S00-T88)", (…))."""
    cm = icd10cm()
    codes: dict[str, list[str]] = {chapter: [] for chapter in cm.chapters()}
    for value in billable():
        codes[cm.chapter_of(value)].append(value)
    return tuple((chapter, cm.description(chapter), tuple(found)) for chapter, found in codes.items())


_PREFIX = re.compile(r"^[A-Z][0-9A-Z.]{0,7}\Z")


def billable_under(prefix: str) -> list[str]:
    """Billable ICD-10-CM codes (leaves of the tabular list) whose code starts with ``prefix``
    (``E11``, ``E116`` = ``E11.6``, ``C9``), in tabular order; InvalidRequest for a prefix that
    cannot start a code."""
    value = normalise(CodeSystem.ICD10CM, prefix)
    if not _PREFIX.match(value):
        raise InvalidRequest("prefix", f"{prefix!r} cannot start an ICD-10-CM code (e.g. E11)")
    return [c for c in billable() if c.startswith(value)]
