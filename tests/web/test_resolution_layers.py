"""Resolution layers end to end: translated codes, display names, provenance in the answer."""

import json

import pytest

from infobutton import create_app, resolver
from infobutton.config import Settings
from infobutton.models import Code, CodeSystem
from infobutton.request import parse
from tests.conftest import ICD10CM, SNOMEDCT

ICD9CM = "2.16.840.1.113883.6.103"
JSON = {"knowledgeResponseType": "application/json"}


@pytest.fixture
def settings(settings):
    """CDS Hooks development mode: these tests post cards' inputs without a JWT (tests/web/
    test_cds_hooks.py signs real ones)."""
    return settings.replace(cds_allow_unauthenticated=True)


def entries(response):
    assert response.status_code == 200, response.data
    return response.json["feed"]["entry"]


def test_openemr_icd9_request_is_answered_through_the_cms_gem(client):
    """OpenEMR sends ICD-9-CM 204.00 (acute lymphoid leukemia): answered as ICD-10-CM C91.00."""
    found = entries(
        client.get(
            "/infobutton", query_string={"mainSearchCriteria.v.c": "204.00", "mainSearchCriteria.v.cs": ICD9CM, **JSON}
        )
    )
    assert found[0]["title"]["_value"] == "Acute Lymphocytic Leukemia"
    assert {e["source"]["_value"] for e in found} == {"curated"}
    (reason,) = [c["term"] for c in found[0]["category"] if c["scheme"] == "strengthOfRecommedation"]
    assert "CMS GEM: ICD-9-CM 204.00" in reason and "CMS GEM" not in found[0]["summary"]["_value"]


def test_snomed_code_with_a_local_map_resolves_as_icd10cm(tmp_path):
    """A hospital's NLM SNOMED CT → ICD-10-CM map makes a code we have no rule for curated via C91.10."""
    header = (
        "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\treferencedComponentName\t"
        "mapGroup\tmapPriority\tmapRule\tmapAdvice\tmapTarget\tmapTargetName\tcorrelationId\t"
        "mapCategoryId\tmapCategoryName"
    )
    row = (
        "0a1b2c3d-0000-0000-0000-000000000001\t20250301\t1\t5991000124107\t6011000124106\t277473004\t"
        "B-cell chronic lymphocytic leukemia (disorder)\t1\t1\tTRUE\tALWAYS C91.10\tC91.10\t"
        "Chronic lymphocytic leukemia of B-cell type not having achieved remission\t447561005\t"
        "447637006\tMAP SOURCE CONCEPT IS PROPERLY CLASSIFIED"
    )
    path = tmp_path / "tls_Icd10cmHumanReadableMap_US1000124_20250301.tsv"
    path.write_text(header + "\n" + row + "\n", encoding="utf-8")
    app = create_app(Settings(data_dir=str(tmp_path), version_check_interval=0.0, snomed_map=str(path)))
    try:
        found = entries(
            app.test_client().get(
                "/infobutton",
                query_string={"mainSearchCriteria.v.c": "277473004", "mainSearchCriteria.v.cs": SNOMEDCT, **JSON},
            )
        )
        assert found[0]["title"]["_value"] == "Chronic Lymphocytic Leukemia"
        knowledge = app.extensions["infobutton"].knowledge
        [match, *_] = knowledge.resolve(
            parse([("mainSearchCriteria.v.c", "277473004"), ("mainSearchCriteria.v.cs", SNOMEDCT)])
        )
        assert match.provenance.value == "curated" and "SNOMED CT map (NLM): 277473004" in match.reason
    finally:
        app.extensions["infobutton"].close()


def test_display_name_never_overrides_a_valid_icd10cm_code(client):
    """J06.9 (a cold) sent with a leukemia display name gets no leukemia topic, on any surface."""
    query = {
        "mainSearchCriteria.v.c": "J06.9",
        "mainSearchCriteria.v.cs": ICD10CM,
        "mainSearchCriteria.v.dn": "Acute myeloid leukemia",
    }
    assert entries(client.get("/infobutton", query_string={**query, **JSON})) == []
    bundle = client.get("/infobutton", query_string={**query, "knowledgeResponseType": "application/fhir+json"})
    assert bundle.status_code == 200 and not bundle.json.get("entry")
    page = client.get("/infobutton", query_string={**query, "knowledgeResponseType": "text/html"})
    assert page.status_code == 200 and "acutemyeloidleukemia.html" not in page.get_data(as_text=True)


def test_fresh_install_answers_e11_9_with_the_medlineplus_link_honestly(client, services):
    """A code nobody mapped: the starter catalogue's link-only Diabetes Type 2, labelled automatic,
    with the evidence in its categories, no text attributed to NLM (the topic carries none) and
    dated by its catalogue."""
    e11_9 = Code(CodeSystem.ICD10CM, "E11.9")
    for _, rule in resolver.matches_for_code(e11_9, services.knowledge.rules()):  # nobody mapped it
        services.mapping_admin.delete(rule.id, None, "test")
    [entry] = entries(
        client.get(
            "/infobutton", query_string={"mainSearchCriteria.v.c": "E11.9", "mainSearchCriteria.v.cs": ICD10CM, **JSON}
        )
    )
    assert entry["link"][0]["href"] == "https://medlineplus.gov/diabetestype2.html"
    assert entry["source"]["_value"] == "automatic"
    (reason,) = [c["term"] for c in entry["category"] if c["scheme"] == "strengthOfRecommedation"]
    assert "Type 2 diabetes mellitus without complications" in reason and "Diabetes Type 2" in reason
    summary = entry["summary"]["_value"]
    assert summary == '<p class="infobuttonAttribution">Links to the MedlinePlus.gov page for this topic</p>'
    assert "National Library of Medicine" not in summary
    assert entry["updated"]["_value"] == "2024-07-01T00:00:00Z"  # the catalogue's date, not 1970


def test_cds_cards_come_from_codes_never_from_a_display_name(client):
    """Through the real resolver: a SNOMED CT condition we hold no rule or map for is matched by its
    display name, when that is a topic's name as a whole (automatic, from text), and gets no card;
    an unmapped ICD-10-CM code answered from its official titles does get one, saying why."""

    def condition(cid, system, code, display):
        return {
            "resourceType": "Condition",
            "id": cid,
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": system, "code": code, "display": display}]},
        }

    body = {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "hook": "patient-view",
        "context": {"userId": "Practitioner/u1", "patientId": "p1"},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1970-01-01"},
            "conditions": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [
                    {"resource": condition("c1", "http://snomed.info/sct", "9014002", "Psoriasis (disorder)")},
                    {
                        "resource": condition(
                            "c2",
                            "http://hl7.org/fhir/sid/icd-10-cm",
                            "E11.9",
                            "Type 2 diabetes mellitus without complications",
                        )
                    },
                ],
            },
        },
    }
    page = client.get(
        "/infobutton",
        query_string={
            "mainSearchCriteria.v.c": "9014002",
            "mainSearchCriteria.v.cs": SNOMEDCT,
            "mainSearchCriteria.v.dn": "Psoriasis (disorder)",
            **JSON,
        },
    )
    assert [e["source"]["_value"] for e in entries(page)] == ["automatic"]  # shown on the page, labelled
    response = client.post("/cds-services/infobutton-patient-view", json=body)
    assert response.status_code == 200, response.data
    cards = response.json["cards"]
    assert len(cards) == 1
    assert "Diabetes Type 2" in cards[0]["summary"] and "soriasis" not in json.dumps(cards)
    assert "Type 2 diabetes mellitus without complications" in cards[0]["detail"]
