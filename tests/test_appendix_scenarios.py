"""The example requests of the HL7 Version 3 Implementation Guide: URL-Based Implementations of the
Context-Aware Information Retrieval (Infobutton) Domain, Release 4 (its appendix: a 77-year-old man
with bacterial pneumonia; an 8-year-old Spanish-speaking girl on albuterol), sent to the real app
with the bundled catalogue.

Where they come from: the IG's own text was not at hand. The two requests below are as two
independent implementations transcribe the IG's examples 1 and 2, and the two agree parameter for
parameter: lrasmus/HL7InfobuttonDotNet ``Tests/ParserTests.cs`` (``HL7Guide_Example1``,
``HL7Guide_Example2``, commit 8a15becba22f231ad275b112b7f50ddf409f5173) and toddhibbs/InfoButton
``tests/tests.js`` (``male77WithBacterialPneumonia``, ``female8AlbuterolSulfate``). They are kept
verbatim here, vendor-specific parameters (``holder.assignedEntity.*``,
``performer.healthCareProvider.*``) included, which the IG says a responder ignores.

The bundled catalogue has no pneumonia or asthma topic, so the verbatim requests must parse and
answer nothing wrong (precision over recall). To see the context at work, each scenario is also sent
with a code the catalogue does answer added as a second mainSearchCriteria (URL-IG §2.1: multiple
instances carry an index suffix): the man's chronic lymphocytic leukemia (ICD-10-CM C91.10), the
girl's acute lymphoblastic leukemia (C91.00).
"""

import pytest
from lxml import etree

from infobutton.sites import audience

from .conftest import ICD10CM, validate_if_schema

# IG example 1: a 77-year-old man (age.v.v and the MeSH group Aged, D000368), problem list review,
# bacterial pneumonia coded in MeSH (D018410), asking about therapy (subTopic Q000628).
EXAMPLE_1 = (
    "knowledgeRequestNotification.effectiveTime.v=20060706001023"
    "&holder.assignedEntity.n=Organizationusername&holder.assignedEntity.certificateText=organizationpassword"
    "&patientPerson.administrativeGenderCode.c=M&patientPerson.administrativeGenderCode.dn=Male&"
    "&age.v.v=77&age.v.u=a&ageGroup.v.c=D000368&taskContext.c.c=PROBLISTREV"
    "&subTopic.v.c=Q000628&subTopic.v.cs=2.16.840.1.113883.6.177&subTopic.v.dn=therapy"
    "&mainSearchCriteria.v.c=D018410&mainSearchCriteria.v.cs=2.16.840.1.113883.6.177"
    "&mainSearchCriteria.v.dn=Bacterial+Pneumonia&mainSearchCriteria.v.ot=Pneumonia"
)

# IG example 2: an 8-year-old girl during medication list review; a nurse (performer PROV, English)
# asks for the patient (informationRecipient PAT), who reads Spanish; albuterol coded in NDC.
EXAMPLE_2 = (
    "knowledgeRequestNotification.effectiveTime.v=20060706001023&holder.assignedEntity.n=OrganizationUsername"
    "&holder.assignedEntity.certificateText=organizationpassword&patientPerson.administrativeGenderCode.c=F"
    "&age.v.v=8&age.v.u=a&taskContext.c.c=MEDLISTREV"
    "&performer=PROV&informationRecipient=PAT&performer.languageCode.c=en&informationRecipient.languageCode.c=es"
    "&performer.healthCareProvider.c.c=163W00000X&performer.healthCareProvider.c.dn=Registered+Nurse"
    "&mainSearchCriteria.v.c=49502-693-03&mainSearchCriteria.v.cs=2.16.840.1.113883.6.69"
    "&mainSearchCriteria.v.dn=Albuterol+sulfate+inhalation+solution+1.25+mg&mainSearchCriteria.v.ot=Albuterol+sulfate"
)

WITH_CLL = f"&mainSearchCriteria.v.c1=C91.10&mainSearchCriteria.v.cs1={ICD10CM}"
WITH_ALL = f"&mainSearchCriteria.v.c1=C91.00&mainSearchCriteria.v.cs1={ICD10CM}"


def feed(client, query: str) -> dict:
    response = client.get(f"/infobutton?{query}&knowledgeResponseType=application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["feed"]


def topic_ids(answer: dict) -> list[str]:
    return [entry["id"]["_value"].rsplit("/", 1)[-1] for entry in answer["entry"]]


def titles(answer: dict) -> list[str]:
    return [entry["title"]["_value"] for entry in answer["entry"]]


def categories(answer: dict) -> set[tuple[str, str]]:
    return {(c["scheme"], c["term"]) for c in answer["category"]}


@pytest.mark.parametrize("example", [EXAMPLE_1, EXAMPLE_2])
def test_the_ig_examples_parse_and_answer_in_valid_atom(client, example):
    response = client.get(f"/infobutton?{example}")
    assert response.status_code == 200
    validate_if_schema(etree.fromstring(response.data))


def test_example_1_the_77_year_old_man_with_bacterial_pneumonia(client, services):
    answer = feed(client, EXAMPLE_1)
    # his context is echoed as sent (URL-IG §2.1: the response categories)
    assert {
        ("patientPerson.administrativeGenderCode.c", "M"),
        ("ageGroup.v.c", "D000368"),
        ("taskContext.c.c", "PROBLISTREV"),
        ("subTopic.v.c", "Q000628"),
        ("mainSearchCriteria.v.c", "D018410"),
    } <= categories(answer)
    assert answer["lang"] == "en"
    # Nothing in the bundled catalogue is about pneumonia: whatever is answered names it, and no
    # topic on the words alone (Lung Cancer is in the catalogue and is not his disease).
    assert all("pneumonia" in title.lower() for title in titles(answer))
    assert "lungcancer" not in topic_ids(answer)


def test_example_1_gets_pneumonia_from_a_rule_never_from_a_qualified_display_name(client, services):
    # MedlinePlus's Pneumonia topic is in the starter catalogue (link-only)
    assert services.topics.get("pneumonia").title == "Pneumonia"
    # MeSH is a code system we carry no terminology for, so the EHR's display name is read; but
    # 'Bacterial Pneumonia' is not the topic's name as a whole, and a name inside a longer text is no
    # evidence for a live answer.
    assert feed(client, EXAMPLE_1)["entry"] == []
    services.mapping_admin.create(
        {"code_system": "MeSH", "code": "D018410", "topic_id": "pneumonia", "reason": "MeSH Pneumonia, Bacterial"},
        "test",
    )
    answer = feed(client, EXAMPLE_1)
    assert topic_ids(answer) == ["pneumonia"]
    [entry] = answer["entry"]
    assert entry["source"]["_value"] == "curated"
    (reason,) = [c["term"] for c in entry["category"] if c["scheme"] == "strengthOfRecommedation"]
    assert "curated rule for MeSH D018410" in reason


def test_example_2_the_8_year_old_spanish_speaking_girl_on_albuterol(client):
    answer = feed(client, EXAMPLE_2)
    assert answer["lang"] == "es"  # the recipient's language, not the performer's
    assert {
        ("informationRecipient", "PAT"),
        ("performer", "PROV"),
        ("informationRecipient.languageCode.c", "es"),
        ("taskContext.c.c", "MEDLISTREV"),
        ("mainSearchCriteria.v.c", "49502-693-03"),
    } <= categories(answer)
    assert all("albuterol" in title.lower() for title in titles(answer))


def test_the_77_year_old_man_with_leukemia_never_gets_a_childhood_topic(client, services):
    services.mapping_admin.create(
        {"code_system": "MeSH", "code": "D018410", "topic_id": "pneumonia", "reason": "MeSH Pneumonia, Bacterial"},
        "test",
    )
    answer = feed(client, EXAMPLE_1 + WITH_CLL)
    ids = topic_ids(answer)
    # his pneumonia (the first criterion), then for chronic lymphocytic leukemia the CLL page
    # (ICD-10-CM C91.1), then the overview: criteria take turns
    assert ids == ["pneumonia", "chroniclymphocyticleukemia", "leukemia"]
    assert "childhoodleukemia" not in ids
    assert not any(audience(title) == "child" for title in titles(answer))
    # nobody said he or his reader is a health professional: no professional summary for him
    assert all(services.topics.get(i).audience != "professional" for i in ids)
    # the same with the age group alone, and with a group that contradicts his age (age.v.v wins)
    for group in ("ageGroup.v.c=D000368", "ageGroup.v.c=D002648&age.v.v=77&age.v.u=a"):
        query = f"mainSearchCriteria.v.c=C91.10&mainSearchCriteria.v.cs={ICD10CM}&{group}"
        assert "childhoodleukemia" not in topic_ids(feed(client, query))


def test_the_8_year_old_spanish_speaking_girl_with_leukemia_gets_spanish_and_childrens_topics(client, services):
    answer = feed(client, EXAMPLE_2 + WITH_ALL)
    ids = topic_ids(answer)
    assert answer["lang"] == "es"
    # the overview has a Spanish twin in the bundled catalogue: she gets Leucemia, never Leukemia
    assert "leukemia-es" in ids and "leukemia" not in ids
    # children's leukemia before the overview; no adult-only topic first
    assert ids.index("childhoodleukemia") < ids.index("leukemia-es")
    assert audience(titles(answer)[0]) != "adult"
    # she (the recipient) reads it, not the nurse: no professional summary
    assert all(services.topics.get(i).audience != "professional" for i in ids)


def test_with_every_twin_synced_the_girl_gets_every_topic_in_spanish(client, synced_catalogue):
    answer = feed(client, EXAMPLE_2 + WITH_ALL)
    assert [entry["lang"] for entry in answer["entry"]] == ["es"] * len(answer["entry"])
    assert topic_ids(answer)[:3] == ["acutelymphocyticleukemia-es", "childhoodleukemia-es", "leukemia-es"]
