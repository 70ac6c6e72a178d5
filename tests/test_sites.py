"""A topic's links ordered for the patient's age: table-driven."""

import pytest

from infobutton import sites
from infobutton.models import KnowledgeRequest, Site

ALL_ADULT = "Adult Acute Lymphoblastic Leukemia Treatment (PDQ®)—Patient Version"
ALL_CHILD = "Childhood Acute Lymphoblastic Leukemia Treatment (PDQ®)—Patient Version"


@pytest.mark.parametrize(
    "title,audience",
    [
        (ALL_ADULT, "adult"),
        ("Acute Myeloid Leukemia in Adults", "adult"),
        ("Leukemia -- for adults", "adult"),
        ("Leucemia linfoblástica aguda en adultos", "adult"),
        (ALL_CHILD, "child"),
        ("Leukemia in Children", "child"),
        ("Pediatric Leukemia", "child"),
        ("Leukemia in Teens", "child"),
        ("Tratamiento de la leucemia linfoblástica aguda infantil", "child"),
        ("La leucemia en los niños", "child"),
        ("Adolescents and Young Adults with Cancer", ""),  # both named: suits both
        ("Adult T-Cell Leukemia/Lymphoma", ""),  # a disease's name, not an audience
        ("Adult T cell leukemia", ""),
        ("Blood Transfusion", ""),
        ("Adulthood and leukemia survivorship", ""),
    ],
)
def test_audience_from_the_title(title, audience):
    assert sites.audience(title) == audience


def request(**values) -> KnowledgeRequest:
    return KnowledgeRequest(criteria=(), **values)


@pytest.mark.parametrize(
    "values,child",
    [
        ({}, None),
        ({"age_years": 6.0}, True),
        ({"age_years": 0.5}, True),
        ({"age_years": 17.9}, True),
        ({"age_years": 18.0}, False),
        ({"age_years": 40.0}, False),
        ({"age_group": "D007231"}, True),  # Infant, Newborn
        ({"age_group": "D002675"}, True),  # Child, Preschool
        ({"age_group": "D002648"}, True),  # Child
        ({"age_group": "D000293"}, True),  # Adolescent (13-18)
        ({"age_group": "D055815"}, False),  # Young Adult
        ({"age_group": "D000328"}, False),  # Adult
        ({"age_group": "D000369"}, False),  # Aged, 80 and over
        ({"age_years": 40.0, "age_group": "D002648"}, False),  # age.v.v wins, as in the resolver
    ],
)
def test_who_is_a_child(values, child):
    assert sites.patient_is_child(request(**values)) is child


def site(title: str) -> Site:
    return Site(title, "https://example.org/" + title.replace(" ", "-"), "Treatments and Therapies")


LINKS = [
    site(ALL_ADULT),
    site("Blood Transfusion"),
    site(ALL_CHILD),
    site("Leukemia in Adults"),
    site("Immunotherapy"),
    site("Leukemia in Children"),
]


@pytest.mark.parametrize(
    "child,expected",
    [
        (
            True,
            ["Blood Transfusion", ALL_CHILD, "Immunotherapy", "Leukemia in Children", ALL_ADULT, "Leukemia in Adults"],
        ),
        (
            False,
            [ALL_ADULT, "Blood Transfusion", "Leukemia in Adults", "Immunotherapy", ALL_CHILD, "Leukemia in Children"],
        ),
        (None, [s.title for s in LINKS]),
    ],
)
def test_order_moves_the_other_audience_last_and_keeps_the_rest(child, expected):
    assert [s.title for s in sites.order(LINKS, child)] == expected
