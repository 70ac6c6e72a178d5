import json

from infobutton.render import safe_json


def test_markup_characters_are_escaped_and_parse_back():
    value = {"a": "</script><b>&amp;", "b": "line\u2028sep", "c": "ñ"}
    text = safe_json.dumps(value)
    assert b"<" not in text and b">" not in text and b"&" not in text
    assert "\u2028".encode() not in text
    assert "ñ".encode() in text  # UTF-8, not \u escapes, for ordinary text
    assert json.loads(text) == value
