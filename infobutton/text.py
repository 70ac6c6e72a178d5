"""Text rules shared across the package: folding (search, topic pages, matching) and the
characters no stored or echoed text may hold."""

from __future__ import annotations

import re
import unicodedata

from .models import InvalidRequest

# NUL (PostgreSQL cannot store it) and lone surrogates (UTF-8 cannot carry them).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def fold(text: str) -> str:
    """Lower case without diacritics (crónica → cronica), the same for documents and queries."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def check_storable(value: object, where: str = "") -> None:
    """Refuse NUL and lone surrogates anywhere in parsed JSON, keys included, naming the JSON
    path of the first one (``feedback[0].card``; ``body`` for the document itself) in an
    InvalidRequest. Iterative: any depth the parser accepted is walked."""
    stack = [(value, where)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, str):
            if UNSTORABLE.search(node):
                raise InvalidRequest(at or "body", "must be valid Unicode text without NUL characters")
        elif isinstance(node, dict):
            for key, item in node.items():
                stack.append((key, at))
                named = isinstance(key, str) and len(key) < 40 and not UNSTORABLE.search(key)
                stack.append((item, (f"{at}.{key}" if at else key) if named else at))
        elif isinstance(node, list):
            stack.extend((item, f"{at}[{i}]") for i, item in enumerate(node))
