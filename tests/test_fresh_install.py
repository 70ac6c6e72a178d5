"""A fresh install, with no import and no sync, answers the everyday codes from the shipped
catalogue and crosswalk, each from a curated rule (the crosswalk in mappings/)."""

from __future__ import annotations

import pytest

from .conftest import icd

JSON = {"knowledgeResponseType": "application/json"}


@pytest.mark.parametrize(
    "code, expected_first",
    [
        ("J45.909", {"asthma"}),
        ("J44.9", {"copd"}),
        ("K21.9", {"gerd"}),
        ("E78.5", {"cholesterol"}),
        ("I50.9", {"heartfailure"}),
        ("S72.001A", {"hipinjuriesanddisorders", "fractures"}),
        ("T39.1X1A", {"poisoning"}),
    ],
)
def test_a_fresh_install_answers_everyday_codes_from_the_shipped_crosswalk(client, code, expected_first):
    feed = client.get("/infobutton", query_string=icd(code, **JSON)).get_json()["feed"]
    entry = feed["entry"][0]
    assert entry["link"][0]["href"] in {f"https://medlineplus.gov/{topic}.html" for topic in expected_first}
    assert entry["source"]["_value"] == "curated"


def test_codes_that_differ_only_in_the_encounter_answer_alike_on_a_fresh_install(client):
    answers = {
        seventh: [
            e["link"][0]["href"]
            for e in client.get("/infobutton", query_string=icd(f"S72.002{seventh}", **JSON)).get_json()["feed"][
                "entry"
            ]
        ]
        for seventh in "ADS"
    }
    assert answers["A"] == answers["D"] == answers["S"] != []
