"""The CDS services this responder offers (CDS Hooks 2.0 §Discovery)."""

from __future__ import annotations

from dataclasses import dataclass, field

PATIENT_PREFETCH = "Patient/{{context.patientId}}"
CONDITIONS_PREFETCH = "Condition?patient={{context.patientId}}&clinical-status=active"


@dataclass(frozen=True)
class CdsService:
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()  # prefetch keys without which we answer 412

    def discovery(self) -> dict:
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": dict(self.prefetch),
        }


SERVICES: dict[str, CdsService] = {
    s.id: s
    for s in (
        CdsService(
            id="infobutton-patient-view",
            hook="patient-view",
            title="Health topics for active conditions",
            description="Links to patient education pages, such as MedlinePlus.gov health "
            "topics (English and Spanish), for the patient's active conditions coded in "
            "ICD-10-CM or SNOMED CT, chosen for the patient's age and gender; each card says why "
            "each topic was chosen and where its text comes from.",
            prefetch={"patient": PATIENT_PREFETCH, "conditions": CONDITIONS_PREFETCH},
            required=("patient", "conditions"),
        ),
        CdsService(
            id="infobutton-order-select",
            hook="order-select",
            title="Health topics for selected orders",
            description="Links to patient education pages, such as MedlinePlus.gov health "
            "topics, for the selected draft MedicationRequest and ServiceRequest codes where a "
            "mapping exists.",
            prefetch={"patient": PATIENT_PREFETCH},
        ),
    )
}


def discovery_document() -> dict:
    return {"services": [s.discovery() for s in SERVICES.values()]}
