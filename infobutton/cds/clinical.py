"""FHIR R4 clinical data (Patient, Condition, MedicationRequest, ServiceRequest) → infobutton
requests: codings by FHIR system URI, age from birthDate, gender from administrative gender.

Pure and tolerant: resources come from EHRs; a field of the wrong shape is skipped, not fatal.
"""

from __future__ import annotations

import re
from datetime import date

from .. import terminology
from ..models import Criterion, Gender, InvalidRequest, KnowledgeRequest, Recipient, Subject
from ..request import MAX_CRITERIA, MAX_VALUE_LENGTH

_GENDER = {"female": Gender.FEMALE, "male": Gender.MALE, "other": Gender.UNDIFFERENTIATED}
_BIRTH_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
# Condition.verificationStatus values that mean "this is not the patient's condition".
_NOT_THE_PATIENTS = {"refuted", "entered-in-error"}


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def resources(bundle_or_resource, resource_type: str) -> list[dict]:
    """Resources of one type from a Bundle (searchset or collection) or a bare resource."""
    node = _dict(bundle_or_resource)
    if node.get("resourceType") == resource_type:
        return [node]
    if node.get("resourceType") != "Bundle":
        return []
    found = []
    for entry in _list(node.get("entry")):
        resource = _dict(_dict(entry).get("resource"))
        if resource.get("resourceType") == resource_type:
            found.append(resource)
    return found


def age_in_years(birth_date: object, today: date) -> float | None:
    """Whole years from a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD); None when absent or odd."""
    match = _BIRTH_DATE.match(birth_date or "") if isinstance(birth_date, str) else None
    if not match:
        return None
    year, month, day = int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1)
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    if born > today:
        return None
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return float(min(years, 150))


def demographics(patient, today: date) -> tuple[float | None, Gender | None]:
    """(age in years, gender) from a Patient resource, either possibly None."""
    found = resources(patient, "Patient")
    if not found:
        return None, None
    person = found[0]
    return age_in_years(person.get("birthDate"), today), _GENDER.get(str(person.get("gender", "")))


def criteria(concept) -> tuple[Criterion, ...]:
    """Criteria from a CodeableConcept: every coding in a system we know (ICD-10-CM, SNOMED CT,
    LOINC, RxNorm … by FHIR system URI or OID); its text when no coding is usable."""
    concept = _dict(concept)
    found: list[Criterion] = []
    seen = set()
    for coding in _list(concept.get("coding")):
        coding = _dict(coding)
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str) or not code.strip():
            continue
        if len(code) > MAX_VALUE_LENGTH:
            continue
        try:
            made = terminology.make_code(terminology.code_system(system), code)
        except InvalidRequest:
            continue
        if made in seen:
            continue
        seen.add(made)
        display = coding.get("display") if isinstance(coding.get("display"), str) else None
        found.append(Criterion(code=made, raw_code=code, display_name=(display or "")[:MAX_VALUE_LENGTH] or None))
    text = concept.get("text")
    if not found and isinstance(text, str) and text.strip():
        found.append(Criterion(code=None, original_text=text.strip()[:MAX_VALUE_LENGTH]))
    return tuple(found[:MAX_CRITERIA])


def label(concept) -> str:
    """The EHR's words for a concept: its text, else the first coding's display or code."""
    concept = _dict(concept)
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return concept["text"].strip()[:200]
    for coding in _list(concept.get("coding")):
        coding = _dict(coding)
        for key in ("display", "code"):
            if isinstance(coding.get(key), str) and coding[key].strip():
                return coding[key].strip()[:200]
    return ""


def condition_subjects(bundle) -> list[Subject]:
    """One Subject per Condition that carries usable codes, duplicates (same codes) once."""
    subjects, seen = [], set()
    for condition in resources(bundle, "Condition"):
        statuses = {str(_dict(c).get("code")) for c in _list(_dict(condition.get("verificationStatus")).get("coding"))}
        if statuses & _NOT_THE_PATIENTS:
            continue
        found = criteria(condition.get("code"))
        key = frozenset((c.code, c.original_text) for c in found)
        if not found or key in seen:
            continue
        seen.add(key)
        subjects.append(Subject("Condition", label(condition.get("code")), found))
    return subjects


def order_subjects(draft_orders, selections: list[str]) -> list[Subject]:
    """One Subject per selected draft MedicationRequest (medicationCodeableConcept) or
    ServiceRequest (code) (CDS Hooks order-select: ``selections`` are "Type/id" references)."""
    wanted = set(selections)
    subjects = []
    for kind, field in (("MedicationRequest", "medicationCodeableConcept"), ("ServiceRequest", "code")):
        for order in resources(draft_orders, kind):
            if f"{kind}/{order.get('id')}" not in wanted:
                continue
            found = tuple(c for c in criteria(order.get(field)) if c.code is not None)
            if found:
                subjects.append(Subject(kind, label(order.get(field)), found))
    return subjects


def knowledge_request(
    subject: Subject, age: float | None, gender: Gender | None, language: str = "en"
) -> KnowledgeRequest:
    """The infobutton request an EHR would send for this subject: a clinician (performer PROV)
    asking for patient education (informationRecipient PAT, URL-IG §2.1.2), which is what the
    cards offer; so health-professional topics never crowd a card."""
    return KnowledgeRequest(
        criteria=subject.criteria,
        language=language,
        recipient=Recipient.PATIENT,
        performer=Recipient.PROVIDER,
        gender=gender,
        age_years=age,
    )
