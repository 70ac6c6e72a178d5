"""subTopic.v.c → MedlinePlus link sections: which qualifiers count, and which links they keep."""

import pytest
from werkzeug.datastructures import MultiDict

from infobutton import subtopics
from infobutton.models import Site
from infobutton.request import parse

from .conftest import icd
from .render.cases import SECTION_SITES

MESH = "2.16.840.1.113883.6.177"
SNOMED = "2.16.840.1.113883.6.96"


def selection(*pairs: tuple[str, str]) -> subtopics.Selection:
    return subtopics.selection(parse(MultiDict([*icd("C91.00").items(), *pairs]).items(multi=True)))


@pytest.mark.parametrize(
    "pairs,ids",
    [
        ((), ()),
        ((("subTopic.v.c", "Q000628"),), ("Q000628",)),
        ((("subtopic.v.c", "q000175"),), ("Q000175",)),  # names and codes in any case
        ((("subTopic.v.c", "Q000628"), ("subTopic.v.cs", MESH), ("subTopic.v.dn", "treatment")), ("Q000628",)),
        ((("subTopic.v.c", "Q000628"), ("subTopic.v.cs", "MeSH")), ("Q000628",)),
        ((("subTopic.v.c", "Q000175"), ("subTopic.v.c1", "Q000628")), ("Q000175", "Q000628")),
        ((("subTopic.v.c", "Q000628"), ("subTopic.v.c1", "Q000188")), ("Q000628", "Q000188")),
        ((("subTopic.v.c", "Q000628"), ("subTopic.v.c1", "Q000628")), ("Q000628",)),  # once
        ((("subTopic.v.c", "Q999999"),), ()),  # unknown: ignored
        ((("subTopic.v.c", "Q000517"),), ()),  # prevention & control: no section named in a source
        ((("subTopic.v.c", "Q000150"),), ()),  # complications: no single section
        ((("subTopic.v.dn", "therapy"),), ()),  # words are not codes
        ((("subTopic.v.ot", "Q000628"),), ()),
        ((("subTopic.v.c", "Q000628"), ("subTopic.v.cs", SNOMED)), ()),  # another system's code
        ((("subTopic.v.c", "Q000628"), ("subTopic.v.cs", "not a system")), ()),
        ((("subTopic.v.c", "Q000628"), ("subTopic.v.cs", SNOMED), ("subTopic.v.cs1", MESH)), ("Q000628",)),
    ],
)
def test_which_qualifiers_count(pairs, ids):
    chosen = selection(*pairs)
    assert tuple(q.id for q in chosen.qualifiers) == ids
    assert bool(chosen) is bool(ids)


@pytest.mark.parametrize(
    "code,name,section",
    [
        ("Q000175", "diagnosis", "Diagnosis and Tests"),
        ("Q000000981", "diagnostic imaging", "Diagnosis and Tests"),
        ("Q000628", "therapy", "Treatments and Therapies"),
        ("Q000188", "drug therapy", "Treatments and Therapies"),
        ("Q000601", "surgery", "Treatments and Therapies"),
        ("Q000235", "genetics", "Genetics"),
        ("Q000453", "epidemiology", "Statistics and Research"),
    ],
)
def test_each_qualifier_names_its_mesh_name_and_section(code, name, section):
    qualifier = subtopics.QUALIFIERS[code]
    assert (qualifier.name, qualifier.sections) == (name, (section,))


def titles(found) -> list[str]:
    return [s.title.split(" Lymphoblastic")[0] for s in found]


@pytest.mark.parametrize(
    "codes,expected",
    [
        (["Q000628"], ["Childhood Acute", "Adult Acute", "Blood Transfusion"]),
        (["Q000175"], ["Bone Marrow Test", "Tumor Marker Tests"]),
        # the union, in the topic's order (not the request's)
        (
            ["Q000628", "Q000175"],
            ["Bone Marrow Test", "Tumor Marker Tests", "Childhood Acute", "Adult Acute", "Blood Transfusion"],
        ),
        (["Q000235"], ["Do We Know What Causes Chronic Myelomonocytic Leukemia?"]),
        (["Q000453"], ["Cancer Statistics: Leukemia"]),
    ],
)
def test_sites_are_the_sections_asked_for(codes, expected):
    pairs = [(f"subTopic.v.c{i or ''}", code) for i, code in enumerate(codes)]
    chosen = selection(*pairs)
    found = chosen.sites(SECTION_SITES)
    assert titles(found) == expected
    assert [q.id for q in chosen.answered(found)] == codes
    assert chosen.missing(found) == ()


def test_nothing_asked_keeps_every_link():
    assert subtopics.NONE.sites(SECTION_SITES) == SECTION_SITES
    assert subtopics.NONE.missing(()) == () and subtopics.NONE.sections == ()


def test_a_section_without_links_is_missing_and_unanswered():
    chosen = selection(("subTopic.v.c", "Q000175"), ("subTopic.v.c1", "Q000628"))
    only_diagnosis = tuple(s for s in SECTION_SITES if s.category != "Treatments and Therapies")
    found = chosen.sites(only_diagnosis)
    assert titles(found) == ["Bone Marrow Test", "Tumor Marker Tests"]
    assert [q.id for q in chosen.answered(found)] == ["Q000175"]
    assert chosen.missing(found) == ("Treatments and Therapies",)
    assert chosen.missing(chosen.sites(())) == ("Diagnosis and Tests", "Treatments and Therapies")


def test_only_web_links_are_selected():
    links = (
        Site("Script", "javascript:alert(1)", "Treatments and Therapies"),
        Site("Relative", "/treatment.html", "Treatments and Therapies"),
        Site("Plain", "http://example.org/t", "Treatments and Therapies"),
    )
    assert [s.title for s in selection(("subTopic.v.c", "Q000628")).sites(links)] == ["Plain"]
