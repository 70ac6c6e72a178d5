"""Answering a knowledge request, with no web framework in sight: the query parsed
(``query``), the links an answer carries built (``links``), and the one use case both web
adapters call (``service.AnswerService``: key → cached or resolved and rendered → observed)."""

from __future__ import annotations

from .query import parse_query, response_format
from .service import Answer, AnswerService

__all__ = ["Answer", "AnswerService", "parse_query", "response_format"]
