"""Typed, frozen values that flow through the responder.

Nothing here does I/O; every other module speaks in these types.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

MAX_AGE_YEARS = 150

# MeSH age groups (ageGroup.v.c, IG §2.1.3) → [min, max) in years.
AGE_GROUPS = {
    "D007231": (0, 1 / 12),  # Infant, Newborn
    "D007223": (0, 2),  # Infant
    "D002675": (2, 6),  # Child, Preschool
    "D002648": (6, 13),  # Child
    "D000293": (13, 19),  # Adolescent
    "D055815": (19, 25),  # Young Adult
    "D000328": (19, 45),  # Adult
    "D008875": (45, 65),  # Middle Aged
    "D000368": (65, 80),  # Aged
    "D000369": (80, MAX_AGE_YEARS),  # Aged, 80 and over
}
# The MeSH descriptor names of the age groups (for people: forms, lists, messages).
AGE_GROUP_NAMES = {
    "D007231": "Infant, Newborn",
    "D007223": "Infant",
    "D002675": "Child, Preschool",
    "D002648": "Child",
    "D000293": "Adolescent",
    "D055815": "Young Adult",
    "D000328": "Adult",
    "D008875": "Middle Aged",
    "D000368": "Aged",
    "D000369": "Aged, 80 and over",
}

# Admin roles, least to most: each may do what every lower one may.
ROLES = ("viewer", "editor", "admin")


def role_allows(role: str, needed: str) -> bool:
    """viewer < editor < admin: a role may do what every lower role may."""
    return ROLES.index(role) >= ROLES.index(needed)


class InvalidRequest(Exception):
    """The one domain error for bad client input; the error handler turns it into a 4xx.

    ``parameter`` names the request parameter (or body field) that was wrong.
    """

    def __init__(self, parameter: str, message: str, status: int = 400):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message
        self.status = status


class CodeSystem(enum.Enum):
    """Code systems the URL-based IG (R4, §2.1.4 mainSearchCriteria.v.cs) names by OID."""

    ICD10CM = ("2.16.840.1.113883.6.90", "ICD-10-CM", "http://hl7.org/fhir/sid/icd-10-cm")
    ICD9CM = ("2.16.840.1.113883.6.103", "ICD-9-CM", "http://hl7.org/fhir/sid/icd-9-cm")
    SNOMEDCT = ("2.16.840.1.113883.6.96", "SNOMED CT", "http://snomed.info/sct")
    LOINC = ("2.16.840.1.113883.6.1", "LOINC", "http://loinc.org")
    RXNORM = ("2.16.840.1.113883.6.88", "RxNorm", "http://www.nlm.nih.gov/research/umls/rxnorm")
    NDC = ("2.16.840.1.113883.6.69", "NDC", "http://hl7.org/fhir/sid/ndc")
    CPT = ("2.16.840.1.113883.6.12", "CPT", "http://www.ama-assn.org/go/cpt")
    MESH = ("2.16.840.1.113883.6.177", "MeSH", "urn:oid:2.16.840.1.113883.6.177")

    def __init__(self, oid: str, label: str, uri: str):
        self.oid = oid
        self.label = label
        self.uri = uri


class Recipient(enum.Enum):
    """informationRecipient / performer role (IG §2.1.2)."""

    PATIENT = "PAT"
    PROVIDER = "PROV"
    PAYOR = "PAYOR"


class Gender(enum.Enum):
    """patientPerson.administrativeGenderCode.c (HL7 AdministrativeGender)."""

    FEMALE = "F"
    MALE = "M"
    UNDIFFERENTIATED = "UN"


class Provenance(enum.Enum):
    """Which resolution layer produced a topic (docs/answers.md, the resolution layers), said on
    every surface: the Atom/JSON entry ``source``, a FHIR ``meta.tag``, CDS card detail and the HTML page."""

    CURATED = "curated"  # a librarian's mapping rule
    AUTOMATIC = "automatic"  # a whole-concept match of terminology text to a topic name
    UPSTREAM = "upstream"  # another HL7 responder's answer (content.upstream)
    FREE_TEXT = "free-text"  # the caller's words, only when no valid code was sent


class Scope(enum.Enum):
    """How far a mapping rule reaches down the code hierarchy."""

    EXACT = "exact"
    DESCENDANTS = "descendants"


@dataclass(frozen=True, slots=True)
class Code:
    system: CodeSystem
    value: str  # normalised


@dataclass(frozen=True, slots=True)
class Criterion:
    """One mainSearchCriteria instance (IG §2.1.4); ``code`` is None for free text only."""

    code: Code | None
    raw_code: str | None = None
    display_name: str | None = None
    original_text: str | None = None


@dataclass(frozen=True)
class Subject:
    """One thing a CDS Hooks call asks about: a condition or an order, with the criteria it carries."""

    kind: str  # Condition | MedicationRequest | ServiceRequest
    label: str  # the EHR's text for it (untrusted: escape before display)
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class KnowledgeRequest:
    """A parsed HL7 URL-IG knowledge request. ``echo`` keeps the parameters as sent,
    (name without instance suffix, value) in order, for the response categories."""

    criteria: tuple[Criterion, ...]
    language: str = "en"
    recipient: Recipient | None = None
    performer: Recipient | None = None
    gender: Gender | None = None
    age_years: float | None = None
    age_group: str | None = None
    task_context: str | None = None
    encounter: str | None = None
    subtopics: tuple[str, ...] = ()
    response_type: str | None = None
    callback: str | None = None
    echo: tuple[tuple[str, str], ...] = ()

    @functools.cached_property
    def cache_key(self) -> str:
        """Everything that can change the answer, and nothing else; computed once per request
        value, and a str so that hashing it on every cache lookup is free."""
        return repr(
            (
                tuple((c.code, c.original_text, c.display_name) for c in self.criteria),
                self.language,
                self.recipient,
                self.performer,
                self.gender,
                self.age_years,
                self.age_group,
                self.task_context,
                self.encounter,
                self.subtopics,
                self.echo,
            )
        )


@dataclass(frozen=True, slots=True)
class Site:
    """A link on a topic page, grouped by MedlinePlus information category."""

    title: str
    url: str
    category: str
    organization: str = ""
    language_mapped_url: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class TopicRef:
    """A pointer to another topic (related topic, language twin, group)."""

    id: str
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Topic:
    """One health topic as MedlinePlus publishes it (health-topics XML)."""

    id: str
    title: str
    url: str
    language: str  # "en" | "es"
    summary_html: str = ""
    meta_desc: str = ""
    also_called: tuple[str, ...] = ()
    groups: tuple[TopicRef, ...] = ()
    mesh_headings: tuple[tuple[str, str], ...] = ()  # (descriptor id, name)
    primary_institute: TopicRef | None = None
    related: tuple[TopicRef, ...] = ()
    see_references: tuple[str, ...] = ()
    sites: tuple[Site, ...] = ()
    encyclopedia: tuple[Site, ...] = ()
    twin: TopicRef | None = None  # the other-language version
    date_created: str = ""  # ISO dates
    date_updated: str = ""
    date_reviewed: str = ""
    # The date of the catalogue this topic was read from (its file's date-generated): the date
    # the topic is known by when nothing else dates it (a link-only topic, an export topic).
    catalogue_date: str = ""
    status: str = "active"  # active | withdrawn
    image_url: str = ""  # the topic image a topic page shows, if any
    image_alt: str = ""
    # Where the text came from, so nothing is attributed to a source it did not come from:
    # "medlineplus" (the MedlinePlus XML export or a MedlinePlus topic page), "index" (link-only:
    # title and URL from a topic index, no text), "upstream:<host>", "local" (written here), or
    # "" (unknown: never attributed to anyone).
    source: str = ""
    # Who the topic is written for: "" for everyone (MedlinePlus pages), "professional" for
    # health-professional resources (e.g. NCI PDQ Health Professional summaries): PROV readers
    # get them first; others only when nothing else fits.
    audience: str = ""


# HL7 v3 ActTaskCode, the value set (OID 2.16.840.1.113883.1.11.19846) the Infobutton standard
# binds taskContext.c.c to (URL-IG §2.1.2): every concrete code of
# http://terminology.hl7.org/ValueSet/v3-ActTaskCode with its display, as the FHIR R4 (4.0.1)
# expansion lists them (37 codes, in its hierarchy's order). A rule may be limited to any of them.
TASK_NAMES = {
    "OE": "order entry task",
    "LABOE": "laboratory test order entry task",
    "MEDOE": "medication order entry task",
    "PATDOC": "patient documentation task",
    "ALLERLREV": "allergy list review",
    "CLINNOTEE": "clinical note entry task",
    "DIAGLISTE": "diagnosis list entry task",
    "DISCHINSTE": "discharge instruction entry",
    "DISCHSUME": "discharge summary entry task",
    "PATEDUE": "patient education entry",
    "PATREPE": "pathology report entry task",
    "PROBLISTE": "problem list entry task",
    "RADREPE": "radiology report entry task",
    "IMMLREV": "immunization list review",
    "REMLREV": "reminder list review",
    "WELLREMLREV": "wellness reminder list review",
    "PATINFO": "patient information review task",
    "ALLERLE": "allergy list entry",
    "CDSREV": "clinical decision support intervention review",
    "CLINNOTEREV": "clinical note review task",
    "DISCHSUMREV": "discharge summary review task",
    "DIAGLISTREV": "diagnosis list review task",
    "IMMLE": "immunization list entry",
    "LABRREV": "laboratory results review task",
    "MICRORREV": "microbiology results review task",
    "MICROORGRREV": "microbiology organisms results review task",
    "MICROSENSRREV": "microbiology sensitivity test results review task",
    "MLREV": "medication list review task",
    "MARWLREV": "medication administration record work list review task",
    "OREV": "orders review task",
    "PATREPREV": "pathology report review task",
    "PROBLISTREV": "problem list review task",
    "RADREPREV": "radiology report review task",
    "REMLE": "reminder list entry",
    "WELLREMLE": "wellness reminder list entry",
    "RISKASSESS": "risk assessment instrument task",
    "FALLRISK": "falls risk assessment instrument task",
}
TASKS = tuple(TASK_NAMES)
# HL7 v3 ActEncounterCode (value set OID 2.16.840.1.113883.1.11.13955), the binding of
# encounter.c.c (URL-IG §2.1.2): the 11 codes of http://terminology.hl7.org/ValueSet/v3-ActEncounterCode.
SETTING_NAMES = {
    "AMB": "ambulatory",
    "EMER": "emergency",
    "FLD": "field",
    "HH": "home health",
    "IMP": "inpatient encounter",
    "ACUTE": "inpatient acute",
    "NONAC": "inpatient non-acute",
    "OBSENC": "observation encounter",
    "PRENC": "pre-admission",
    "SS": "short stay",
    "VR": "virtual",
}
SETTINGS = tuple(SETTING_NAMES)
# The answer languages (ISO 639-1) and their English names.
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}
LANGUAGES = tuple(LANGUAGE_NAMES)


@dataclass(frozen=True, slots=True)
class MappingRule:
    """code → topic, optionally limited to a context. Every limit is optional, and a rule without
    it matches anything; a rule with it needs the request to carry that context and match it
    (URL-IG §2.1.2–2.1.3: informationRecipient, taskContext.c.c, encounter.c.c, the language,
    age.v.v/ageGroup.v.c, patientPerson.administrativeGenderCode.c). Each tuple is a set of
    allowed values, sorted, empty for "any"."""

    code_system: CodeSystem
    code: str
    topic_id: str
    scope: Scope = Scope.DESCENDANTS
    priority: int = 0
    min_age: float | None = None  # inclusive, years
    max_age: float | None = None  # exclusive, years
    gender: Gender | None = None
    reason: str = ""
    id: int | None = None
    audiences: tuple[Recipient, ...] = ()  # informationRecipient (else performer): PAT, PROV, PAYOR
    tasks: tuple[str, ...] = ()  # taskContext.c.c, from TASKS
    settings: tuple[str, ...] = ()  # encounter.c.c, from SETTINGS
    languages: tuple[str, ...] = ()  # the request's language, from LANGUAGES
    age_groups: tuple[str, ...] = ()  # MeSH age groups (AGE_GROUPS keys), beside min_age/max_age


@dataclass(frozen=True, slots=True)
class RenderedResponse:
    """A response body as cached (per worker, and optionally in Redis across instances).

    ``answered`` holds the request's codes that a mapping rule answered (for the gap report);
    ``layers`` the resolution layer that answered each criterion, "none" if none did (metrics)."""

    body: bytes
    content_type: str
    etag: str
    answered: frozenset[Code] = frozenset()
    layers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """A ranked answer: the topic served, the criterion it answers, which layer found it and why.

    ``reason`` is the evidence in words ("curated rule for C91 and below: …", "matched the
    ICD-10-CM title '…' to the topic name '…'"). ``from_text`` is true when the evidence is text the
    caller sent (a display name or free text) rather than a code's own terminology: such matches
    never become CDS cards."""

    topic: Topic
    criterion: Criterion
    rule: MappingRule | None
    distance: int  # 0 = mapped on the code itself; n = n levels up the hierarchy
    provenance: Provenance = Provenance.CURATED
    reason: str = ""
    from_text: bool = False

    @property
    def relevance(self) -> float:
        """1 for a mapping on the code itself, falling with each level up (Atom relevanceScore,
        FHIR search.score)."""
        return round(1 / (1 + self.distance), 2)
