"""JSON text that is safe wherever it lands: ``<``, ``>`` and ``&`` as ``\\u003c`` …, so a request
value echoed in JSON, JSONP or FHIR can never close a ``<script>`` or open markup, even when a
client pastes the body into a page (the same rule as Jinja's ``htmlsafe_json_dumps``)."""

from __future__ import annotations

from pydantic_core import to_json

_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",  # valid JSON, but they end a JavaScript line (JSONP)
    "\u2029": "\\u2029",
}
_TABLE = str.maketrans(_ESCAPES)


def escape(text: str) -> str:
    """Escape already-serialised JSON text (the escapes only occur inside strings)."""
    return text.translate(_TABLE)


# The same escapes on UTF-8 bytes: each is found by itself (UTF-8 never starts a character inside
# another), so a byte-wise replace cannot split one.
_BYTE_ESCAPES = tuple((key.encode(), value.encode()) for key, value in _ESCAPES.items())


def dumps(value) -> bytes:
    """Compact UTF-8 JSON with the escapes above; parses back to exactly ``value``. Written by
    pydantic-core (there with pydantic), byte for byte what ``json.dumps(value,
    ensure_ascii=False, separators=(",", ":"))`` writes for JSON values, some 4× faster."""
    body = to_json(value)
    for unsafe, escaped in _BYTE_ESCAPES:
        if unsafe in body:
            body = body.replace(unsafe, escaped)
    return body
