import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infobutton.render import safe_json


def test_markup_characters_are_escaped_and_parse_back():
    value = {"a": "</script><b>&amp;", "b": "line\u2028sep", "c": "ñ"}
    text = safe_json.dumps(value)
    assert b"<" not in text and b">" not in text and b"&" not in text
    assert "\u2028".encode() not in text
    assert "ñ".encode() in text  # UTF-8, not \u escapes, for ordinary text
    assert json.loads(text) == value


# Any JSON value the service writes (no floats: scores are rendered as text), any text in it.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(JSON_VALUES)
def test_same_bytes_as_the_standard_library_with_the_escapes(value):
    # the library written by hand: json.dumps compact and in UTF-8, then the escapes on the text
    expected = safe_json.escape(json.dumps(value, ensure_ascii=False, separators=(",", ":"))).encode()
    assert safe_json.dumps(value) == expected
    assert json.loads(safe_json.dumps(value)) == value
    for unsafe in (b"<", b">", b"&", "\u2028".encode(), "\u2029".encode()):
        assert unsafe not in safe_json.dumps(value)
