"""JSON text that is safe wherever it lands: ``<``, ``>`` and ``&`` as ``\\u003c`` …, so a request
value echoed in JSON, JSONP or FHIR can never close a ``<script>`` or open markup, even when a
client pastes the body into a page (the same rule as Jinja's ``htmlsafe_json_dumps``)."""

from __future__ import annotations

import json

_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    ord("\u2028"): "\\u2028",  # valid JSON, but they end a JavaScript line (JSONP)
    ord("\u2029"): "\\u2029",
}


def escape(text: str) -> str:
    """Escape already-serialised JSON text (the escapes only occur inside strings)."""
    return text.translate(_ESCAPES)


def dumps(value, **options) -> bytes:
    """Compact UTF-8 JSON with the escapes above; parses back to exactly ``value``."""
    options.setdefault("separators", (",", ":"))
    return escape(json.dumps(value, ensure_ascii=False, **options)).encode()
