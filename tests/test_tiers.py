"""The tiers cannot be forgotten: a test that uses a real service's fixture without that tier's
marker fails collection, and one that reaches it at run time without the marker fails."""

import pytest

CONFTEST = """
from tests.conftest import pytest_collection_modifyitems, pytest_runtest_setup, postgres_server, postgres_url, redis_url
"""


@pytest.fixture
def suite(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    postgres: p\n    redis: r\n")
    return pytester


def test_a_test_using_postgres_without_the_marker_fails_collection(suite):
    suite.makepyfile(
        test_x="""
import pytest

def test_forgot(postgres_url):
    pass

@pytest.mark.postgres
def test_remembered(postgres_url):
    pass

def test_pure():
    pass
"""
    )
    result = suite.runpytest_inprocess("--collect-only", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = "\n".join(result.errlines)
    assert "test_x.py::test_forgot: uses the fixture 'postgres_url' without @pytest.mark.postgres" in errors
    assert "test_remembered" not in errors and "test_pure" not in errors


def test_a_redis_fixture_under_a_module_mark_is_collected(suite):
    suite.makepyfile(
        test_y="""
import pytest

pytestmark = pytest.mark.redis

def test_shared(redis_url):
    pass
"""
    )
    result = suite.runpytest_inprocess("--collect-only", "-q", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*test_y.py::test_shared*"])


def test_reaching_postgres_at_run_time_without_the_marker_fails_the_test(suite):
    suite.makepyfile(
        test_z="""
def test_sneaky(request):
    request.getfixturevalue("postgres_url")
"""
    )
    result = suite.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_sneaky needs @pytest.mark.postgres*"])
