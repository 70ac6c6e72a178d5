"""`<script>` in every parameter, to every surface: never reflected raw."""

import re
from dataclasses import replace

import pytest

from infobutton.models import Provenance, Subject
from infobutton.render import FORMATS, RenderContext, cds_cards

from ..conftest import ICD10CM
from ..render import cases

PAYLOAD = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
PARAMETERS = [
    "mainSearchCriteria.v.c",
    "mainSearchCriteria.v.cs",
    "mainSearchCriteria.v.dn",
    "mainSearchCriteria.v.ot",
    "mainSearchCriteria.v.c1",
    "mainSearchCriteria.v.dn1",
    "informationRecipient",
    "informationRecipient.languageCode.c",
    "performer",
    "performer.languageCode.c",
    "patientPerson.administrativeGenderCode.c",
    "age.v.v",
    "age.v.u",
    "ageGroup.v.c",
    "ageGroup.v.cs",
    "ageGroup.v.dn",
    "taskContext.c.c",
    "encounter.c.c",
    "subTopic.v.c",
    "subTopic.v.dn",
    "knowledgeResponseType",
    "callback",
    "unknownParameter",
]
SURFACES = [
    ("/infobutton", "text/xml"),
    ("/infobutton", "application/json"),
    ("/infobutton", "application/javascript"),
    ("/infobutton", "text/html"),
    ("/infobutton", "application/fhir+json"),
    ("/service", "text/html"),
    ("/application", None),
]


@pytest.fixture
def settings(settings):
    """CDS Hooks development mode: these tests post cards' inputs without a JWT (tests/web/
    test_cds_hooks.py signs real ones)."""
    return settings.replace(cds_allow_unauthenticated=True)


def assert_not_reflected(r):
    body = r.get_data()
    assert r.status_code < 500
    assert b"<script" not in body.lower(), body[:400]
    assert b"<img src=x" not in body.lower()  # the payload's; a topic's own image may be there


@pytest.mark.parametrize("path,response_type", SURFACES)
@pytest.mark.parametrize("parameter", PARAMETERS)
def test_payload_in_every_parameter(client, path, response_type, parameter):
    params = {"mainSearchCriteria.v.c": "C91.00", "mainSearchCriteria.v.cs": ICD10CM, "callback": "handle"}
    if response_type:
        params["knowledgeResponseType"] = response_type
    params[parameter] = PAYLOAD
    for method in ("get", "post"):
        r = client.get(path, query_string=params) if method == "get" else client.post(path, data=params)
        assert_not_reflected(r)


@pytest.mark.parametrize("accept", ["text/html", "application/json", "application/fhir+json", "text/xml"])
def test_payload_in_problem_responses(client, accept):
    for params in (
        {"mainSearchCriteria.v.c": PAYLOAD},
        {"mainSearchCriteria.v.cs": PAYLOAD, "mainSearchCriteria.v.c": "C91.00"},
        {"mainSearchCriteria.v.c": "C91.00", "mainSearchCriteria.v.cs": ICD10CM, "age.v.v": PAYLOAD},
    ):
        r = client.get("/infobutton", query_string=params, headers={"Accept": accept})
        assert r.status_code == 400
        assert_not_reflected(r)
    assert_not_reflected(client.get("/application", query_string={"mainSearchCriteria.v.cs": PAYLOAD}))
    assert_not_reflected(client.get("/" + PAYLOAD, headers={"Accept": accept}))


def test_payload_in_cds_hooks_bodies(client):
    for body in (
        {"hook": PAYLOAD, "hookInstance": "x", "context": {"patientId": "p"}},
        {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": PAYLOAD}},
        {
            "hook": "patient-view",
            "hookInstance": "x",
            "context": {"patientId": "p"},
            "prefetch": {
                "conditions": {
                    "resourceType": "Bundle",
                    "entry": [
                        {
                            "resource": {
                                "resourceType": "Condition",
                                "code": {
                                    "text": PAYLOAD,
                                    "coding": [
                                        {
                                            "system": "http://hl7.org/fhir/sid/icd-10-cm",
                                            "code": "C91.00",
                                            "display": PAYLOAD,
                                        }
                                    ],
                                },
                            }
                        }
                    ],
                },
                "patient": {"resourceType": "Patient", "gender": PAYLOAD, "birthDate": PAYLOAD},
            },
        },
    ):
        r = client.post("/cds-services/infobutton-patient-view", json=body)
        assert_not_reflected(r)
    assert_not_reflected(client.post("/cds-services/" + PAYLOAD, json={}))


@pytest.mark.parametrize("name", ["atom", "json", "jsonp", "fhir", "html"])
def test_untrusted_titles_and_reasons_on_every_format(name):
    """Reasons quote the caller's words and titles come from catalogues: escaped on every format."""
    request = replace(cases.REQUEST, callback="cb")
    matches = [
        cases.match(cases.link_only(title=PAYLOAD), Provenance.AUTOMATIC, f"matched '{PAYLOAD}'", from_text=True),
        cases.match(
            cases.upstream(title=PAYLOAD, summary_html="<p>ok</p>", source="upstream:" + PAYLOAD),
            Provenance.UPSTREAM,
            PAYLOAD,
        ),
    ]
    body = FORMATS[name].render(request, matches, RenderContext(base_url="https://ib.example.org/"))
    assert b"<script" not in body.lower() and b"<img" not in body.lower()


def test_untrusted_titles_and_reasons_on_cards():
    match = cases.match(cases.link_only(title=PAYLOAD), Provenance.CURATED, PAYLOAD)
    answer = cds_cards.cards([(Subject("Condition", PAYLOAD, (cases.CRITERION,)), [match])], "https://ib.example.org/")
    detail = answer["cards"][0]["detail"]
    assert detail.count("\\<script\\>") == 3  # condition, title and reason, each escaped Markdown
    assert (
        re.search(
            r"(?<!\\)[<>\[\]]", detail.replace("](https://medlineplus.gov/leukemia.html)", "").replace("- **[", "- **")
        )
        is None
    )
