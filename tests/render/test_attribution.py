"""Credit lines and layer names shared by every surface: a table of origins."""

import pytest

from infobutton.models import Provenance
from infobutton.render import attribution

from . import cases


@pytest.mark.parametrize(
    "topic,sentence,author,nlm",
    [
        (cases.medlineplus(), cases.NLM_EN, ("National Library of Medicine", "https://medlineplus.gov"), True),
        (
            cases.medlineplus(language="es"),
            cases.NLM_ES,
            ("National Library of Medicine", "https://medlineplus.gov"),
            True,
        ),
        (
            cases.medlineplus(summary_html="", meta_desc="Only a description."),
            cases.NLM_EN,
            ("National Library of Medicine", "https://medlineplus.gov"),
            True,
        ),
        (
            cases.medlineplus(summary_html=" ", meta_desc=""),
            "Links to the MedlinePlus.gov page for this topic",
            None,
            False,
        ),
        (cases.link_only(), "Links to the MedlinePlus.gov page for this topic", None, False),
        (cases.link_only(language="es"), "Enlace a la página de este tema en MedlinePlus.gov", None, False),
        (
            cases.upstream(),
            "Summary from responder.example.org",
            ("responder.example.org", "https://responder.example.org"),
            False,
        ),
        (cases.upstream(summary_html=""), "Links to the page for this topic on health.example.org", None, False),
        (
            cases.upstream(source="upstream:not a host"),
            "Links to the page for this topic on health.example.org",
            None,
            False,
        ),
        (
            cases.link_only(summary_html="<p>x</p>", source="local"),
            "Summary written by this service, not by MedlinePlus",
            (attribution.SERVICE_NAME, ""),
            False,
        ),
        (
            cases.link_only(summary_html="<p>x</p>", source=""),
            "Links to the MedlinePlus.gov page for this topic",
            None,
            False,
        ),
        (
            cases.link_only(url="https://www.cancer.gov/x", source="index"),
            "Links to the page for this topic on cancer.gov",
            None,
            False,
        ),
    ],
)
def test_credit(topic, sentence, author, nlm):
    assert attribution.credit(topic) == attribution.Credit(sentence, author, nlm)


@pytest.mark.parametrize(
    "provenance,from_text,reason,language,expected",
    [
        (Provenance.CURATED, False, "rule", "en", "Curated mapping \u2014 rule"),
        (Provenance.AUTOMATIC, True, "display", "en", "Automatic match (on the words sent) \u2014 display"),
        (Provenance.FREE_TEXT, True, "", "en", "Search for the words sent"),
        (Provenance.UPSTREAM, False, "", "es", "Respuesta de otro servicio infobutton"),
        (Provenance.CURATED, False, "rule", "fr", "Curated mapping \u2014 rule"),
    ],
)
def test_why(provenance, from_text, reason, language, expected):
    match = cases.match(cases.link_only(), provenance, reason, from_text)
    assert attribution.why(match, language) == expected


def test_only_medlineplus_connect_answering_about_a_medlineplus_page_is_credited_to_nlm():
    connect = cases.upstream(url="https://medlineplus.gov/asthma.html", source="upstream:connect.medlineplus.gov")
    assert attribution.credit(connect).nlm and attribution.credit(connect).author == attribution.NLM
    elsewhere = cases.upstream(source="upstream:connect.medlineplus.gov")  # a page on another site
    assert not attribution.credit(elsewhere).nlm
    look_alike = cases.upstream(
        url="https://medlineplus.gov/asthma.html", source="upstream:medlineplus.gov.evil.example"
    )
    assert attribution.credit(look_alike).sentence == "Summary from medlineplus.gov.evil.example"
    other = cases.upstream(url="https://medlineplus.gov/asthma.html", source="upstream:localhost")
    assert attribution.credit(other).sentence == "Summary from localhost" and attribution.credit(other).author == (
        "localhost",
        "https://localhost",
    )


def test_the_shipped_professional_topics_link_to_cancer_gov_and_credit_no_one():
    from infobutton import bundled

    professional = [t for t in bundled.load_topics() if t.audience == "professional"]
    assert len(professional) == 9
    for topic in professional:
        assert attribution.credit(topic) == attribution.Credit(
            "Links to the page for this topic on cancer.gov", None, False
        ), topic.id
        assert attribution.site(topic.url) == "cancer.gov"
