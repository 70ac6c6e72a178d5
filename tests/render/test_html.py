"""The click page renderer: content, language, links that keep the request, sanitising."""

import itertools
from urllib.parse import parse_qsl

import pytest
from lxml import html as lxml_html

from infobutton.models import (
    Code,
    CodeSystem,
    Criterion,
    KnowledgeRequest,
    Provenance,
    Site,
    Topic,
    TopicMatch,
    TopicRef,
)
from infobutton.render import RenderContext, html
from infobutton.request import parse

from ..conftest import icd
from . import cases

CTX = RenderContext(base_url="https://ib.example.org/")


def doc(body: bytes):
    return lxml_html.fromstring(body)


def topic(**extra) -> Topic:
    values = {
        "id": "leukemia",
        "title": "Leukemia",
        "url": "https://medlineplus.gov/leukemia.html",
        "language": "en",
        "summary_html": "<p>Leukemia is a cancer.</p>",
        "also_called": ("Leukaemia",),
        "sites": (
            Site("Start", "https://example.org/start", "Start Here", "Org A"),
            Site("Test", "https://example.org/test", "Diagnosis and Tests", "Org B"),
            Site("Start 2", "https://example.org/start2", "Start Here", "Org C"),
        ),
        "related": (TopicRef("cll", "Chronic Lymphocytic Leukemia", "https://medlineplus.gov/cll.html"),),
        "primary_institute": TopicRef("", "National Cancer Institute", "https://www.cancer.gov"),
        "twin": TopicRef("leukemia-es", "Leucemia", "https://medlineplus.gov/spanish/leukemia.html"),
        "source": "medlineplus",
    }
    values.update(extra)
    return Topic(**values)


def match(t: Topic, request: KnowledgeRequest) -> TopicMatch:
    return TopicMatch(t, request.criteria[0], None, 0)


def test_page_shows_title_summary_also_called_sections_related_and_attribution():
    request = parse(icd("C91.00").items())
    page = doc(html.render(request, [match(topic(), request)], CTX))
    assert page.get("lang") == "en"
    assert page.findtext(".//h1").startswith("Health topics for ICD-10-CM C91.00")
    article = page.find(".//article")
    assert article.get("lang") == "en"
    assert article.findtext(".//h2/a") == "Leukemia"
    assert "Leukaemia" in article.find(".//p[@class='also-called']").text_content()
    assert article.find(".//div[@class='summary']/p").text == "Leukemia is a cancer."
    sections = [h.text for h in article.findall(".//div[@class='link-group']/h4")]
    assert sections == ["Start Here", "Diagnosis and Tests"]  # grouped, in first-seen order
    start_links = article.findall(".//div[@class='link-group']")[0].findall(".//li/a")
    assert [a.text for a in start_links] == ["Start", "Start 2"]
    assert [a.text for a in article.findall(".//section[@class='related']//a")] == ["Chronic Lymphocytic Leukemia"]
    assert "From MedlinePlus.gov" in article.find(".//p[@class='attribution']").text_content()
    assert page.find(".//link[@rel='stylesheet']").get("href") == "https://ib.example.org/static/page.css"


def test_headings_are_in_order_and_landmarks_present():
    request = parse(icd("C91.00").items())
    page = doc(html.render(request, [match(topic(), request)], CTX))
    levels = [int(e.tag[1]) for e in page.iter("h1", "h2", "h3", "h4")]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(levels))
    for tag in ("header", "main", "footer", "nav"):
        assert page.find(f".//{tag}") is not None


def test_language_switch_keeps_the_other_parameters():
    params = [
        *icd("C91.00").items(),
        ("mainSearchCriteria.v.c1", "91857003"),
        ("mainSearchCriteria.v.cs1", "2.16.840.1.113883.6.96"),
        ("informationRecipient", "PAT"),
        ("patientPerson.administrativeGenderCode.c", "F"),
        ("age.v.v", "6"),
        ("age.v.u", "mo"),
        ("informationRecipient.languageCode.c", "en"),
        ("taskContext.c.c", "PROBLISTREV"),
    ]
    request = parse(params)
    page = doc(html.render(request, [match(topic(), request)], CTX))
    link = page.find(".//nav[@class='language-switch']/a")
    assert link.get("hreflang") == "es" and link.text == "Ver en español"
    query = dict(parse_qsl(link.get("href").lstrip("?")))
    assert query["informationRecipient.languageCode.c"] == "es"
    assert query["mainSearchCriteria.v.c"] == "C91.00"
    assert query["mainSearchCriteria.v.c1"] == "91857003"
    assert query["mainSearchCriteria.v.cs1"] == "2.16.840.1.113883.6.96"
    assert query["informationRecipient"] == "PAT"
    assert query["patientPerson.administrativeGenderCode.c"] == "F"
    assert query["taskContext.c.c"] == "PROBLISTREV"
    assert parse(parse_qsl(link.get("href").lstrip("?"))).age_years == request.age_years
    assert parse(parse_qsl(link.get("href").lstrip("?"))).language == "es"


def test_spanish_page_is_lang_es_with_spanish_labels():
    request = parse(icd("C91.00", **{"informationRecipient.languageCode.c": "es"}).items())
    t = topic(id="leukemia-es", title="Leucemia", language="es", also_called=("Cáncer",))
    page = doc(html.render(request, [match(t, request)], CTX))
    assert page.get("lang") == "es"
    assert page.findtext(".//h1") == "Temas de salud para ICD-10-CM C91.00"
    assert "También llamado" in page.find(".//p[@class='also-called']").text_content()
    assert "De MedlinePlus.gov" in page.find(".//p[@class='attribution']").text_content()
    assert page.find(".//nav[@class='language-switch']/a").text == "View in English"


def test_english_fallback_topic_on_a_spanish_page_is_marked_english():
    request = parse(icd("C91.00", **{"informationRecipient.languageCode.c": "es"}).items())
    page = doc(html.render(request, [match(topic(twin=None), request)], CTX))
    assert page.get("lang") == "es"
    assert page.find(".//article").get("lang") == "en"


def test_no_match_page_has_a_search_box_to_application():
    request = KnowledgeRequest(criteria=(Criterion(code=None, original_text="leukaemia <b>"),), language="es")
    page = doc(html.render(request, [], CTX))
    assert page.findtext(".//h1").startswith("No se encontraron temas de salud")
    form = page.find(".//form[@role='search']")
    assert form.get("action") == "https://ib.example.org/application"
    field = form.find(".//input[@type='search']")
    assert field.get("name") == "mainSearchCriteria.v.ot"
    assert field.get("value") == "leukaemia <b>"  # a value, escaped in the markup
    assert page.get_element_by_id(field.get("id")) is not None
    assert form.find(".//label").get("for") == field.get("id")
    assert form.find(".//input[@type='hidden']").get("value") == "es"


def test_summaries_are_sanitised_again_at_render():
    request = parse(icd("C91.00").items())
    evil = topic(
        summary_html='<p onclick="x()">Hi<script>alert(1)</script>'
        '<a href="javascript:alert(2)">x</a><img src=x onerror=y></p>'
    )
    body = html.render(request, [match(evil, request)], CTX)
    assert b"<script" not in body and b"onclick" not in body and b"javascript:" not in body
    assert b"onerror" not in body and b'<img src="x"' not in body


def test_request_values_are_escaped():
    request = parse(
        [
            ("mainSearchCriteria.v.ot", '"><script>alert(1)</script>'),
            ("mainSearchCriteria.v.dn", "<img src=x onerror=alert(1)>"),
        ]
    )
    body = html.render(request, [], CTX)
    assert b"<script>alert" not in body and b"<img src=x" not in body
    assert b"&lt;script&gt;" in body


def test_demo_page_has_a_labelled_form_and_api_links():
    page = doc(html.demo("https://ib.example.org/"))
    form = page.find(".//form")
    assert form.get("action") == "https://ib.example.org/application"
    for field in form.iter("input", "select"):
        if field.get("type") != "hidden":
            assert page.find(f".//label[@for='{field.get('id')}']") is not None
    hrefs = [a.get("href") for a in page.findall(".//a")]
    assert any("knowledgeResponseType=application%2Ffhir%2Bjson" in h for h in hrefs)
    assert "https://ib.example.org/cds-services" in hrefs


def test_no_match_search_box_starts_from_the_code_description():
    request = parse(icd("Z99.89").items())
    page = doc(html.render(request, [], CTX))
    assert page.find(".//input[@type='search']").get("value").startswith("Dependence on other enabling")


def test_attribution_sentence_has_single_full_stops(client):
    """The attribution line joins two sentences; neither language may end up with '..'."""
    for lang in ("en", "es"):
        r = client.get(
            "/application",
            query_string={
                "mainSearchCriteria.v.c": "C91.00",
                "mainSearchCriteria.v.cs": "2.16.840.1.113883.6.90",
                "informationRecipient.languageCode.c": lang,
            },
        )
        assert r.status_code == 200 and b".." not in r.data.replace(b"...", b"")


# Why each topic is here, where its text came from, what its date means, and links for the
# patient's age.


def page_for(*matches, params=None):
    request = parse((params or icd("C91.00")).items())
    return doc(html.render(request, list(matches), CTX))


def articles(page):
    return page.findall(".//article")


def text_of(article, css_class: str) -> str:
    node = article.find(f".//p[@class='{css_class}']")
    return " ".join(node.text_content().split()) if node is not None else ""


def test_every_topic_says_what_it_is_shown_for_in_plain_words():
    snomed = Criterion(code=Code(CodeSystem.SNOMEDCT, "91857003"), display_name="Acute lymphoid leukemia")
    page = page_for(
        cases.match(cases.medlineplus()),
        cases.match(
            cases.link_only(),
            Provenance.AUTOMATIC,
            "matched the ICD-10-CM title 'Leukemia' to the topic name 'Leukemia'",
        ),
        cases.match(cases.upstream(), Provenance.UPSTREAM, "answered by responder.example.org", criterion=snomed),
        cases.match(
            cases.link_only(id="x", url="https://medlineplus.gov/x.html"),
            Provenance.FREE_TEXT,
            "",
            criterion=cases.TEXT_CRITERION,
        ),
    )
    c91_00 = "Acute lymphoblastic leukemia not having achieved remission, ICD-10-CM C91.00"
    assert [text_of(a, "shown-for") for a in articles(page)] == [
        f"Shown for: {c91_00}",  # the code's own name, whatever the layer
        f"Shown for: {c91_00}",
        "Shown for: Acute lymphoid leukemia, SNOMED CT 91857003",  # no name of ours: the EHR's
        "Shown for: \u201cblood cancer\u201d",  # the words sent
    ]
    text = page.text_content()  # the reasons and layers are for machines, not on the page
    for words in ("Why this topic", "curated rule", "Curated mapping", "Automatic match", "matched the"):
        assert words not in text


def test_spanish_page_says_what_it_is_shown_for_in_spanish_and_marks_the_english_name():
    params = icd("C91.00", **{"informationRecipient.languageCode.c": "es"})
    page = page_for(
        cases.match(cases.medlineplus(language="es", title="Leucemia linfocítica aguda")),
        cases.match(
            cases.link_only(language="es"), Provenance.FREE_TEXT, "matched the words", criterion=cases.TEXT_CRITERION
        ),
        params=params,
    )
    first, second = articles(page)
    assert text_of(first, "shown-for") == (
        "Se muestra para: Acute lymphoblastic leukemia not having achieved remission, ICD-10-CM C91.00"
    )
    assert first.find(".//span[@class='subject']").get("lang") == "en"  # ICD-10-CM's English name
    assert text_of(second, "shown-for") == "Se muestra para: \u201cblood cancer\u201d"
    assert second.find(".//span[@class='subject']").get("lang") is None  # the words the caller sent
    assert text_of(first, "attribution") == cases.NLM_ES + "."
    assert text_of(second, "attribution") == "Enlace a la página de este tema en MedlinePlus.gov."


def test_a_link_only_topic_shows_no_names_as_text():
    page = page_for(cases.match(cases.link_only(also_called=("Leukaemia",))))
    assert page.find(".//p[@class='also-called']") is None and "Leukaemia" not in page.text_content()


def test_words_sent_and_title_are_escaped():
    evil = '"><script>alert(1)</script><img src=x onerror=y>'
    criterion = Criterion(code=None, original_text=evil)
    body = html.render(
        parse([("mainSearchCriteria.v.ot", evil)]),
        [cases.match(cases.link_only(title=evil), reason=f"matched '{evil}'", criterion=criterion)],
        CTX,
    )
    assert b"<script" not in body and b"<img src=x" not in body
    assert doc(body).find(".//span[@class='subject']").text == f"\u201c{evil}\u201d"


@pytest.mark.parametrize(
    "topic,credit",
    [
        (cases.medlineplus(), cases.NLM_EN + "."),
        (cases.link_only(), "Links to the MedlinePlus.gov page for this topic."),
        (cases.upstream(), "Summary from responder.example.org."),
        (
            cases.link_only(summary_html="<p>Written here.</p>", source="local"),
            "Summary written by this service, not by MedlinePlus.",
        ),
        (
            cases.link_only(summary_html="<p>Of unknown origin.</p>", source=""),
            "Links to the MedlinePlus.gov page for this topic.",
        ),
    ],
    ids=["medlineplus", "index", "upstream", "local", "unknown"],
)
def test_attribution_names_only_the_real_source(topic, credit):
    page = page_for(cases.match(topic))
    assert text_of(articles(page)[0], "attribution") == credit
    if topic.source != "medlineplus":
        assert "National Library of Medicine" not in page.text_content()  # footer included


def test_a_link_only_topic_has_no_empty_summary_and_reads_more_where_it_links():
    page = page_for(cases.match(cases.link_only()), cases.match(cases.upstream(), Provenance.UPSTREAM))
    link, far = articles(page)
    assert link.find(".//div[@class='summary']") is None
    assert text_of(link, "read-more").startswith("Read the full topic on MedlinePlus")
    assert text_of(far, "read-more").startswith("Read the full topic on health.example.org")


def test_last_updated_shown_only_when_known_and_never_the_creation_date():
    page = page_for(
        cases.match(cases.medlineplus()),
        cases.match(
            cases.medlineplus(id="b", url="https://medlineplus.gov/b.html", date_updated="", date_reviewed="2023-01-01")
        ),
        cases.match(cases.link_only()),
    )
    first, created_only, link = articles(page)
    assert text_of(first, "updated") == f"Last updated: {cases.UPDATED}"
    assert first.find(".//time").get("datetime") == cases.UPDATED
    assert created_only.find(".//p[@class='updated']") is None and link.find(".//p[@class='updated']") is None
    assert cases.CREATED not in page.text_content() and "2023-01-01" not in page.text_content()


LEUKEMIA_SITES = (
    Site(
        "Childhood Acute Lymphoblastic Leukemia Treatment (PDQ®)—Patient Version",
        "https://example.org/c",
        "Treatments and Therapies",
    ),
    Site(
        "Adult Acute Lymphoblastic Leukemia Treatment (PDQ®)—Patient Version",
        "https://example.org/a",
        "Treatments and Therapies",
    ),
    Site("Blood Transfusion", "https://example.org/b", "Treatments and Therapies"),
    Site("Leukemia in Children", "https://example.org/d", "Start Here"),
)


@pytest.mark.parametrize(
    "context,first_treatments,start_here",
    [
        (
            {"age.v.v": "6", "age.v.u": "a"},
            ["Childhood Acute", "Blood Transfusion", "Adult Acute"],
            ["Leukemia in Children"],
        ),
        (
            {"ageGroup.v.c": "D002648"},
            ["Childhood Acute", "Blood Transfusion", "Adult Acute"],
            ["Leukemia in Children"],
        ),
        (
            {"age.v.v": "40", "age.v.u": "a"},
            ["Adult Acute", "Blood Transfusion", "Childhood Acute"],
            ["Leukemia in Children"],
        ),
        ({}, ["Childhood Acute", "Adult Acute", "Blood Transfusion"], ["Leukemia in Children"]),
    ],
)
def test_links_are_ordered_for_the_patients_age(context, first_treatments, start_here):
    page = page_for(cases.match(cases.medlineplus(sites=LEUKEMIA_SITES)), params=icd("C91.00", **context))
    groups = page.findall(".//div[@class='link-group']")
    assert [g.findtext("h4") for g in groups] == ["Treatments and Therapies", "Start Here"]  # topic's order
    titles = [a.text for a in groups[0].findall(".//li/a")]
    assert [t.split(" Lymphoblastic")[0] for t in titles] == first_treatments
    assert [a.text for a in groups[1].findall(".//li/a")] == start_here
