import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from infobutton.content.medlineplus_xml import (
    InvalidCatalogue,
    parse,
    read_catalogue,
    topic_id,
    write_catalogue,
)
from infobutton.models import Site, Topic

DATA = Path(__file__).resolve().parents[1] / "data" / "catalogue"


def test_reads_every_field_of_a_health_topic():
    catalogue = read_catalogue(DATA / "small.xml")
    assert catalogue.total == 4 and catalogue.date_generated == "2026-11-24T00:00:00"
    leukemia = catalogue.topics[0]
    assert (leukemia.id, leukemia.language, leukemia.title) == ("leukemia", "en", "Leukemia")
    assert leukemia.also_called == ("Leukaemia",)
    assert leukemia.groups[0].title == "Cancers"
    assert leukemia.mesh_headings == (("D007938", "Leukemia"),)
    assert leukemia.primary_institute.title == "National Cancer Institute"
    assert leukemia.related[0].id == "chronicmyeloidleukemia"
    assert leukemia.see_references == ("Blood Cancer",)
    assert leukemia.twin.id == "leukemia-es" and leukemia.twin.title == "Leucemia"
    assert leukemia.date_created == "2001-10-22"
    start_here, handout = leukemia.sites
    assert start_here.category == "Start Here"
    assert start_here.organization == "Mayo Foundation for Medical Education and Research"
    assert start_here.language_mapped_url.startswith("https://www.mayoclinic.org/es/")
    assert leukemia.encyclopedia == (handout,)
    assert '<a href="https://medlineplus.gov/chronicmyeloidleukemia.html"' in leukemia.summary_html
    assert catalogue.topics[1].language == "es"


def test_topic_id_is_the_url_stem_with_es_for_spanish():
    assert topic_id("https://medlineplus.gov/spanish/leukemia.html") == "leukemia-es"
    assert topic_id("https://medlineplus.gov/Leukemia.html") == "leukemia"


def test_zip_with_one_xml_member_is_accepted(tmp_path):
    path = tmp_path / "mplus_topics_compressed_2026-11-24.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(DATA / "small.xml", "mplus_topics_2026-11-24.xml")
    assert [t.id for t in read_catalogue(path).topics] == [t.id for t in parse(str(DATA / "small.xml"))]


def test_zip_with_several_xml_members_is_refused(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(DATA / "small.xml", "a.xml")
        archive.write(DATA / "small.xml", "b.xml")
    with pytest.raises(InvalidCatalogue, match="exactly one .xml"):
        read_catalogue(path)


def test_zip_bomb_is_stopped_by_the_byte_cap(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.xml", b"<health-topics>" + b" " * 5_000_000 + b"</health-topics>")
    assert path.stat().st_size < 100_000
    with pytest.raises(InvalidCatalogue, match="limit"):
        read_catalogue(path, max_bytes=1_000_000)


def test_plain_file_over_the_cap_is_refused():
    with pytest.raises(InvalidCatalogue, match="limit"):
        read_catalogue(DATA / "small.xml", max_bytes=1000)


def test_billion_laughs_is_refused_without_expanding():
    with pytest.raises(InvalidCatalogue, match="DTD or entities"):
        read_catalogue(DATA / "billion-laughs.xml")


def test_external_entity_is_refused(tmp_path):
    path = tmp_path / "xxe.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        '<health-topics total="0" date-generated="11/24/2026">&e;</health-topics>'
    )
    with pytest.raises(InvalidCatalogue, match="DTD"):
        read_catalogue(path)


def test_truncated_file_is_refused_with_its_position():
    with pytest.raises(InvalidCatalogue, match=r"not well-formed XML .* line \d+.*truncated"):
        read_catalogue(DATA / "truncated.xml")


def test_wrong_root_is_refused():
    with pytest.raises(InvalidCatalogue, match="root element is <rss>"):
        read_catalogue(DATA / "wrong-root.xml")


def test_scripts_and_handlers_are_removed_from_summaries():
    (topic,) = read_catalogue(DATA / "script-summary.xml").topics
    html = topic.summary_html
    for bad in ("<script", "alert(", "onclick", "onerror", "javascript:", "<iframe", "<img"):
        assert bad not in html
    assert "Leukemia is a cancer." in html


def test_total_must_match_the_topics_found():
    text = (DATA / "small.xml").read_bytes().replace(b'total="4"', b'total="5"')
    with pytest.raises(InvalidCatalogue, match="total=5 but holds 4"):
        read_catalogue(io.BytesIO(text))


def test_date_generated_is_required():
    text = (DATA / "small.xml").read_bytes().replace(b'date-generated="11/24/2026 00:00:00"', b"")
    with pytest.raises(InvalidCatalogue, match="date-generated"):
        read_catalogue(io.BytesIO(text))


def test_duplicate_topic_urls_are_refused():
    text = (DATA / "small.xml").read_bytes().replace(b"asthma.html", b"leukemia.html")
    with pytest.raises(InvalidCatalogue, match="appears twice"):
        read_catalogue(io.BytesIO(text))


def test_empty_catalogue_is_refused():
    with pytest.raises(InvalidCatalogue, match="no health topics"):
        read_catalogue(io.BytesIO(b'<health-topics total="0" date-generated="11/24/2026"/>'))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidCatalogue, match="cannot read"):
        read_catalogue(tmp_path / "nope.xml")


def one_topic(attributes: str, body: str = "") -> bytes:
    return (
        f'<health-topics total="1" date-generated="11/24/2026 00:00:00"><health-topic title="Asthma" '
        f'url="https://medlineplus.gov/asthma.html" language="English" {attributes}>{body}'
        "</health-topic></health-topics>"
    ).encode()


def test_the_export_is_medlineplus_and_a_shipped_file_may_say_otherwise():
    assert {t.source for t in read_catalogue(DATA / "small.xml").topics} == {"medlineplus"}
    (link_only,) = read_catalogue(io.BytesIO(one_topic('source="index"'))).topics
    assert (link_only.source, link_only.summary_html) == ("index", "")
    (local,) = read_catalogue(io.BytesIO(one_topic('source="local"'))).topics
    assert local.source == "local"


@pytest.mark.parametrize("source", ["upstream:example.org", "nlm", ""])
def test_an_unknown_declared_source_is_refused(source):
    with pytest.raises(InvalidCatalogue, match="declares source"):
        read_catalogue(io.BytesIO(one_topic(f'source="{source}"')))


@pytest.mark.parametrize(
    "attributes, body",
    [
        ('source="index" meta-desc="Words."', ""),
        ('source="index"', "<full-summary>&lt;p&gt;Words.&lt;/p&gt;</full-summary>"),
        ('source="index"', "<see-reference>Wheeze</see-reference>"),
        (
            'source="index"',
            '<site title="x" url="https://example.org/"><information-category>Start Here</information-category></site>',
        ),
    ],
)
def test_a_link_only_topic_with_text_is_refused(attributes, body):
    with pytest.raises(InvalidCatalogue, match="link-only"):
        read_catalogue(io.BytesIO(one_topic(attributes, body)))


def test_a_link_only_topic_may_carry_its_also_called_names():
    (topic,) = read_catalogue(
        io.BytesIO(one_topic('source="index"', "<also-called>Wheeze</also-called><also-called>RAD</also-called>"))
    ).topics
    assert (topic.source, topic.also_called, topic.summary_html) == ("index", ("Wheeze", "RAD"), "")


def test_every_topic_is_dated_by_its_file():
    (topic,) = read_catalogue(io.BytesIO(one_topic(""))).topics
    assert topic.catalogue_date == "2026-11-24"  # date-generated="11/24/2026 00:00:00"
    assert (topic.date_created, topic.date_updated, topic.date_reviewed) == ("", "", "")  # none of its own


def test_topic_image_is_read_only_over_https():
    (topic,) = read_catalogue(
        io.BytesIO(one_topic('image-url="https://medlineplus.gov/images/asthma.jpg" image-alt="Airways"'))
    ).topics
    assert (topic.image_url, topic.image_alt) == ("https://medlineplus.gov/images/asthma.jpg", "Airways")
    (topic,) = read_catalogue(io.BytesIO(one_topic('image-url="javascript:alert(1)"'))).topics
    assert topic.image_url == ""


def test_written_catalogue_reads_back_as_the_same_topics(tmp_path):
    topics = read_catalogue(DATA / "small.xml").topics + [
        Topic(
            id="asthmainchildren",
            title="Asthma in Children",
            url="https://medlineplus.gov/asthmainchildren.html",
            language="en",
            source="index",
        ),
        Topic(
            id="allergy",
            title="Allergy",
            url="https://medlineplus.gov/allergy.html",
            language="en",
            summary_html="<p>A &amp; B</p>",
            date_updated="2026-03-03",
            date_reviewed="2025-02-14",
            image_url="https://medlineplus.gov/images/allergy.jpg",
            image_alt="Pollen",
            source="local",
            sites=(
                Site("What -- Why", "https://example.org/a?b=1&c=2", "Start Here", "Org", "", "PDF; Also in Spanish"),
            ),
        ),
    ]
    path = tmp_path / "written.xml"
    path.write_text(
        write_catalogue(
            topics, date_generated="2026-11-25", comment="Made by a test.", medlineplus_ids={"asthma": "4"}
        ),
        encoding="utf-8",
    )
    catalogue = read_catalogue(path)
    assert catalogue.topics == [replace(t, catalogue_date="2026-11-25") for t in topics]  # the file's date
    assert (catalogue.total, catalogue.date_generated) == (len(topics), "2026-11-25T00:00:00")
    text = path.read_text(encoding="utf-8")
    assert text.index("Made by a test.") < text.index("<health-topics")
    assert 'url="https://medlineplus.gov/asthma.html" id="4"' in text


@pytest.mark.parametrize("source", ["", "upstream:responder.example.org"])
def test_a_topic_whose_source_a_file_cannot_declare_is_not_written(source):
    # Written without the attribute, "" would read back as the export's: unknown text credited to NLM.
    topic = Topic(
        id="x",
        title="X",
        url="https://example.org/x.html",
        language="en",
        summary_html="<p>Of unknown origin.</p>",
        source=source,
    )
    with pytest.raises(ValueError, match="cannot be written"):
        write_catalogue([topic], date_generated="2026-11-25")


def test_encyclopedia_entries_must_be_sites_to_be_written():
    entry = Site("Leukemia", "https://medlineplus.gov/ency/article/001299.htm", "Medical Encyclopedia")
    topic = Topic(
        id="leukemia",
        title="Leukemia",
        url="https://medlineplus.gov/leukemia.html",
        language="en",
        encyclopedia=(entry,),
        source="medlineplus",
    )
    with pytest.raises(ValueError, match="encyclopedia"):
        write_catalogue([topic], date_generated="2026-11-25")


def test_a_topic_may_declare_it_is_written_for_health_professionals():
    (everyone,) = read_catalogue(io.BytesIO(one_topic('source="index"'))).topics
    assert everyone.audience == ""
    (professional,) = read_catalogue(io.BytesIO(one_topic('source="index" audience="professional"'))).topics
    assert professional.audience == "professional"
    assert {t.audience for t in read_catalogue(DATA / "small.xml").topics} == {""}  # the export never says


@pytest.mark.parametrize("audience", ["Professional", "patient", "PROV", "professional clinician"])
def test_an_unknown_audience_is_refused_naming_the_topic(audience):
    with pytest.raises(InvalidCatalogue, match=r"'https://medlineplus.gov/asthma.html' declares audience"):
        read_catalogue(io.BytesIO(one_topic(f'audience="{audience}"')))


def test_a_file_may_name_a_topic_id_where_the_url_stem_is_no_unique_name():
    (default,) = read_catalogue(io.BytesIO(one_topic(""))).topics
    assert default.id == "asthma"
    (named,) = read_catalogue(io.BytesIO(one_topic('topic-id="nci-pdq-asthma-hp"'))).topics
    assert (named.id, named.url) == ("nci-pdq-asthma-hp", "https://medlineplus.gov/asthma.html")


@pytest.mark.parametrize("named", ["", "Upper", "with space", "-leading", "trailing-", "a/b", "x" * 65])
def test_a_topic_id_that_is_no_plain_name_is_refused(named):
    with pytest.raises(InvalidCatalogue, match="declares topic-id"):
        read_catalogue(io.BytesIO(one_topic(f'topic-id="{named}"')))


def test_audience_and_a_named_id_are_written_and_read_back(tmp_path):
    topics = [
        Topic(
            id="nci-pdq-cll-hp",
            title="Chronic Lymphocytic Leukemia Treatment (PDQ\u00ae)\u2013Health Professional Version",
            url="https://www.cancer.gov/types/leukemia/hp/cll-treatment-pdq",
            language="en",
            source="index",
            audience="professional",
        ),
        Topic(id="asthma", title="Asthma", url="https://medlineplus.gov/asthma.html", language="en", source="index"),
    ]
    text = write_catalogue(topics, date_generated="2026-11-25")
    assert 'audience="professional" topic-id="nci-pdq-cll-hp"' in text
    assert text.count("audience=") == 1 and text.count("topic-id=") == 1  # only where they say something
    path = tmp_path / "written.xml"
    path.write_text(text, encoding="utf-8")
    assert read_catalogue(path).topics == [replace(t, catalogue_date="2026-11-25") for t in topics]


@pytest.mark.parametrize(
    "change, message",
    [({"audience": "patient"}, "audience 'patient' cannot be written"), ({"id": "Not An Id"}, "not an id")],
)
def test_an_audience_or_id_a_file_cannot_carry_is_not_written(change, message):
    topic = Topic(id="asthma", title="Asthma", url="https://medlineplus.gov/asthma.html", language="en", source="index")
    with pytest.raises(ValueError, match=message):
        write_catalogue([replace(topic, **change)], date_generated="2026-11-25")
