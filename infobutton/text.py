"""Text folding shared by search, topic-page parsing and matching."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case without diacritics (crónica → cronica), the same for documents and queries."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
