"""hosts: the one test before anything is credited to MedlinePlus."""

import pytest

from infobutton.hosts import host, on_medlineplus


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://medlineplus.gov/leukemia.html", "medlineplus.gov"),
        ("https://www.Cancer.gov/types/leukemia", "cancer.gov"),
        ("http://[::1", ""),  # an unclosed IPv6 bracket: urlsplit raises, the host is unknown
        ("", ""),
        ("leukemia.html", ""),
    ],
)
def test_host_is_the_lower_case_name_without_www(url, expected):
    assert host(url) == expected


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://medlineplus.gov/leukemia.html", True),
        ("https://www.medlineplus.gov/spanish/leukemia.html", True),
        ("https://connect.medlineplus.gov/service", True),
        ("https://medlineplus.gov.example.com/leukemia.html", False),
        ("https://notmedlineplus.gov/leukemia.html", False),
        ("https://example.com/?u=https://medlineplus.gov/", False),
        ("https://medlineplus.gov@example.com/", False),
    ],
)
def test_only_medlineplus_and_its_subdomains_are_medlineplus(url, expected):
    assert on_medlineplus(url) is expected
