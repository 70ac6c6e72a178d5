"""Free-text requests through the HTTP endpoint: only .v.ot/.v.dn, or a code
that is not valid in its system, search titles, also-called terms and summaries, ranked, in the
requested language."""

from tests.conftest import ICD10CM, SNOMEDCT


def titles(response):
    assert response.status_code == 200, response.data
    return [e["title"]["_value"] for e in response.json["feed"]["entry"]]


def test_original_text_finds_cml_first(client):
    response = client.get(
        "/infobutton?mainSearchCriteria.v.ot=chronic%20myeloid%20leukemia&knowledgeResponseType=application/json"
    )
    assert titles(response)[0] == "Chronic Myeloid Leukemia"


def test_atom_answer_for_free_text_names_the_whole_topic_only(client):
    """The words hold two topic names, CML and Leukemia: the more specific one stands alone."""
    response = client.get("/infobutton?mainSearchCriteria.v.ot=chronic%20myeloid%20leukemia")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "chronicmyeloidleukemia.html" in body
    assert "https://medlineplus.gov/leukemia.html" not in body


def test_one_word_topic_name_comes_first_for_that_word(client):
    """`ot=leukemia` answers the Leukemia topic first (it used to miss the top three)."""
    response = client.get(
        "/infobutton", query_string={"mainSearchCriteria.v.ot": "leukemia", "knowledgeResponseType": "application/json"}
    )
    assert titles(response)[0] == "Leukemia"


def test_display_name_alone_is_searched(client):
    response = client.get(
        "/infobutton",
        query_string={"mainSearchCriteria.v.dn": "Acute myeloid leukemia", "knowledgeResponseType": "application/json"},
    )
    assert titles(response)[0] == "Acute Myeloid Leukemia"


def test_free_text_sent_as_a_code_is_searched(client):
    response = client.get(
        "/infobutton",
        query_string={
            "mainSearchCriteria.v.c": "chronic lymphocytic leukemia",
            "mainSearchCriteria.v.cs": SNOMEDCT,
            "knowledgeResponseType": "application/json",
        },
    )
    assert titles(response)[0] == "Chronic Lymphocytic Leukemia"


def test_spanish_request_gets_spanish_topics(client, synced_catalogue):
    response = client.get(
        "/infobutton",
        query_string={
            "mainSearchCriteria.v.ot": "leucemia mieloide crónica",
            "informationRecipient.languageCode.c": "es",
            "knowledgeResponseType": "application/json",
        },
    )
    assert titles(response)[0] == "Leucemia mieloide crónica"


def test_unknown_words_find_nothing_but_answer(client):
    response = client.get(
        "/infobutton",
        query_string={"mainSearchCriteria.v.ot": "zzqx wwvk", "knowledgeResponseType": "application/json"},
    )
    assert titles(response) == []


def test_a_valid_unmapped_code_is_not_replaced_by_its_text(client):
    # A real ICD-10-CM code with no mapping stays unanswered rather than matching on words.
    response = client.get(
        "/infobutton",
        query_string={
            "mainSearchCriteria.v.c": "R69",  # Illness, unspecified: no topic answers it
            "mainSearchCriteria.v.cs": ICD10CM,
            "mainSearchCriteria.v.ot": "asthma",
            "knowledgeResponseType": "application/json",
        },
    )
    assert titles(response) == []
