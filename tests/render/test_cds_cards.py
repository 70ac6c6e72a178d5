"""CDS Hooks cards: size limits, Markdown escaping, no card from text, and per topic why it is
there and where its text came from."""

import json

import pytest

from infobutton.models import Code, CodeSystem, Criterion, Provenance, Subject, Topic, TopicMatch
from infobutton.render import attribution, cds_cards

from . import cases

BASE = "https://ib.example.org/"
SUBJECT = Subject("Condition", "ALL", (cases.CRITERION,))


def test_summary_stays_under_140_characters():
    criterion = Criterion(code=Code(CodeSystem.ICD10CM, "C91.00"))
    matches = [
        TopicMatch(
            Topic(
                id=f"t{i}",
                title="A very long health topic title " * 2,
                url=f"https://medlineplus.gov/t{i}.html",
                language="en",
            ),
            criterion,
            None,
            0,
        )
        for i in range(3)
    ]
    card = cds_cards.card(Subject("Condition", "ALL", (criterion,)), matches, "https://ib.example.org/")
    assert len(card["summary"]) < 140 and card["summary"].endswith("\u2026")
    assert card["links"][-1]["url"].startswith("https://ib.example.org/application?")


def test_markdown_escape():
    assert cds_cards.escape_markdown("*a* [b](c)\n<d> x-ray 1.5") == "\\*a\\* \\[b\\](c) \\<d\\> x-ray 1.5"


TEXT_MATCHES = {
    "free-text": cases.match(
        cases.link_only(), Provenance.FREE_TEXT, "matched the words 'leukemia'", criterion=cases.TEXT_CRITERION
    ),
    "display-name": cases.match(cases.link_only(), Provenance.AUTOMATIC, "matched the display name", from_text=True),
    "no-code": cases.match(cases.link_only(), Provenance.CURATED, criterion=cases.TEXT_CRITERION),
    # The layer alone is enough, whatever the flag says and even with a code (one the
    # terminology does not know, whose text was searched).
    "free-text-with-a-code": cases.match(
        cases.link_only(),
        Provenance.FREE_TEXT,
        "the words 'XYZ'",
        criterion=Criterion(code=Code(CodeSystem.ICD10CM, "XYZ"), raw_code="XYZ"),
    ),
}


@pytest.mark.parametrize("kind", list(TEXT_MATCHES))
def test_a_condition_with_only_text_matches_gets_no_card(kind):
    assert cds_cards.cards([(SUBJECT, [TEXT_MATCHES[kind]])], BASE) == {"cards": []}


def test_text_matches_are_dropped_from_a_card_that_has_others():
    code_match = cases.match(cases.medlineplus())
    automatic = cases.match(
        cases.link_only(id="b", title="B", url="https://medlineplus.gov/b.html"),
        Provenance.AUTOMATIC,
        "matched the ICD-10-CM title",
    )
    (card,) = cds_cards.cards(
        [(SUBJECT, [TEXT_MATCHES["display-name"], code_match, automatic, TEXT_MATCHES["free-text"]])], BASE
    )["cards"]
    assert card["summary"] == "Patient education: Acute Lymphocytic Leukemia, B"
    assert "Leukemia](https://medlineplus.gov/leukemia.html)" not in card["detail"]
    assert [link["url"] for link in card["links"][:2]] == [
        "https://medlineplus.gov/acutelymphocyticleukemia.html",
        "https://medlineplus.gov/b.html",
    ]


def test_upstream_matches_make_cards():
    (card,) = cds_cards.cards(
        [(SUBJECT, [cases.match(cases.upstream(), Provenance.UPSTREAM, "answered by responder.example.org")])], BASE
    )["cards"]
    assert (
        "Why this topic: Another infobutton responder's answer \u2014 answered by responder.example.org"
        in card["detail"]
    )
    assert "  - Summary from responder.example.org." in card["detail"].splitlines()
    assert card["links"][0]["label"] == "Blood cancers (health.example.org)"


def test_detail_says_per_topic_why_and_where_from():
    card = cds_cards.card(
        SUBJECT,
        [
            cases.match(cases.medlineplus()),
            cases.match(cases.link_only(), Provenance.AUTOMATIC, "matched the ICD-10-CM title 'Leukemia'"),
        ],
        BASE,
    )
    lines = card["detail"].splitlines()
    first = lines.index(next(x for x in lines if x.startswith("- **[Acute Lymphocytic Leukemia]")))
    assert lines[first + 1] == (
        "  - Why this topic: Curated mapping \u2014 curated rule for C91 and below: Lymphoid leukemia"
    )
    assert lines[first + 2] == f"  - {cases.NLM_EN}."
    second = lines.index(next(x for x in lines if x.startswith("- **[Leukemia]")))
    assert lines[second + 1] == ("  - Why this topic: Automatic match \u2014 matched the ICD-10-CM title 'Leukemia'")
    assert lines[second + 2] == "  - Links to the MedlinePlus.gov page for this topic."
    assert card["detail"].count("National Library of Medicine") == 1  # the MedlinePlus text only


def test_the_card_source_is_this_service_not_medlineplus():
    card = cds_cards.card(SUBJECT, [cases.match(cases.link_only())], BASE)
    assert card["source"]["label"] == attribution.SERVICE_NAME
    assert card["source"]["url"] == BASE
    assert card["source"]["topic"]["code"] == "leukemia"
    assert "National Library" not in json.dumps(card) and "MedlinePlus.gov," not in json.dumps(card)


def test_no_creation_date_on_a_card():
    card = cds_cards.card(SUBJECT, [cases.match(cases.medlineplus(date_updated=""))], BASE)
    assert cases.CREATED not in json.dumps(card)


def test_reason_is_escaped_markdown():
    evil = "matched '[click](javascript:alert(1))' <script>"
    card = cds_cards.card(SUBJECT, [cases.match(cases.link_only(), reason=evil)], BASE)
    assert "[click](javascript" not in card["detail"] and "<script>" not in card["detail"]
    assert "\\[click\\](javascript:alert(1))" in card["detail"]
