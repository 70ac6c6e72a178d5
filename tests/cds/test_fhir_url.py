"""fhirServer URLs are compared after normalising, on path-segment boundaries: the bypasses of
string-prefix matching all fail."""

import pytest

from infobutton.cds.fhir_url import BadUrl, normalise, under_any

BASES = (normalise("https://ehr.example.org/fhir/"), normalise("http://127.0.0.1:8080/r4"))


@pytest.mark.parametrize(
    "url",
    [
        "https://ehr.example.org/fhir",
        "https://ehr.example.org/fhir/",
        "https://ehr.example.org/fhir/tenant-1/",
        "HTTPS://EHR.Example.ORG:443/fhir/",  # case and the default port are spelling
        "https://ehr.example.org./fhir/",  # the root dot
        "https://ehr.example.org/fhir/./tenant/../",
        "https://ehr.example.org/%66hir/",  # %66 is f, an unreserved character
        "http://127.0.0.1:8080/r4/",
        "http://0x7f000001:8080/r4/",  # the same address, spelled as the resolver reads it
        "http://127.1:8080/r4",
    ],
)
def test_urls_under_an_allowed_base(url):
    assert under_any(normalise(url), BASES)


@pytest.mark.parametrize(
    "url",
    [
        "https://ehr.example.org/fhirx/",  # not a segment boundary
        "https://ehr.example.org/fhir-admin/",
        "https://ehr.example.org/",
        "https://ehr.example.org/other/../fhi/",
        "https://ehr.example.org.evil.com/fhir/",
        "https://evil.com/ehr.example.org/fhir/",
        "https://ehr.example.org:8443/fhir/",  # another port is another server
        "http://ehr.example.org/fhir/",  # another scheme
        "http://127.0.0.1/r4/",
        "http://localhost:8080/r4/",  # a name, not the allow-listed address
        "http://[::1]:8080/r4/",
        "http://0x7f000001/admin/api/",
        "http://127.0.0.1:8080/admin/api/",  # the service's own admin API on the same host
    ],
)
def test_urls_outside_every_allowed_base(url):
    assert not under_any(normalise(url), BASES)


@pytest.mark.parametrize(
    "url",
    [
        "https://ehr.example.org/fhir/../../internal-admin/",  # climbs above the root
        "https://ehr.example.org/fhir/%2e%2e/%2e%2e/internal-admin/",  # the same, percent-encoded
        "https://ehr.example.org/fhir/..%2f..%2finternal-admin/",  # an encoded slash
        "https://ehr.example.org/fhir\\..\\admin",
        "http://ehr.example.org@other-host/fhir/",  # userinfo
        "http://user:pass@ehr.example.org/fhir/",
        "https://ehr.example.org/fhir/#frag",
        "https://ehr.example.org/fhir/?_format=xml",
        "file:///etc/passwd",
        "gopher://ehr.example.org/fhir",
        "https:///fhir",
        "https://ehr.example.org:99999/fhir",
        "https://ehr.example.org:0/fhir",
        "https://ehr example.org/fhir",
        "https://ehr.example.org/fh\x00ir",
        "https://[::1/fhir",
        "https://ehr_example!.org/fhir",
        "https://ehr.example.org/fhir/..;/admin/",  # a dot segment with path parameters (Tomcat)
        "https://ehr.example.org/fhir/.;x/admin/",
        "https://ehr.example.org/fhir/;/admin/",
        "https://ehr.example.org/fhir/%2e/admin/",  # an encoded dot, resolved or not
        "https://ehr.example.org/fhir/%2E%2E/admin/",
        "https://ehr.example.org/fhir/%252e%252e/admin/",  # double-encoded dots
        "https://ehr.example.org/fhir/%25/",
    ],
)
def test_urls_refused_outright(url):
    with pytest.raises(BadUrl):
        normalise(url)


def test_resolved_dot_segments_inside_the_base_stay_allowed():
    url = normalise("https://ehr.example.org/fhir/a/../b/./c")
    assert url.segments == ("fhir", "b", "c") and url.under(BASES[0])


def test_idna_hosts_and_ipv6_literals_normalise():
    assert normalise("https://bücher.example/fhir").host == "xn--bcher-kva.example"
    assert normalise("http://[0:0:0:0:0:0:0:1]:8080/").host == "::1"
    assert normalise("http://[::1]:8080/").loopback and normalise("http://127.0.0.2/").loopback
    assert normalise("http://localhost/").loopback and not normalise("https://ehr.example.org/").loopback


def test_the_url_fetched_is_the_normalised_one():
    assert normalise("HTTPS://EHR.example.org:443/fhir/x/../").url == "https://ehr.example.org/fhir/"
    assert normalise("http://[::1]:8080/jwks.json").url == "http://[::1]:8080/jwks.json"


@pytest.mark.parametrize("base", ["https://ehr.example.org/fhir", "https://ehr.example.org/fhir/"])
def test_a_base_is_a_directory_with_or_without_its_slash(base):
    joined = normalise(base).join("Patient/p1")
    assert joined.url == "https://ehr.example.org/fhir/Patient/p1"
    assert joined.under(BASES[0])


@pytest.mark.parametrize("relative", ["../admin", "Patient/../../admin", "..;/admin", "%2e%2e/admin", "%252e/x"])
def test_a_joined_path_that_leaves_its_base_is_refused(relative):
    with pytest.raises(BadUrl):
        normalise("https://ehr.example.org/fhir").join(relative)
