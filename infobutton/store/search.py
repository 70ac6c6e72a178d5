"""Free-text search over topics: title, also-called terms and summary text, ranked, per language.

SQLite uses an FTS5 table whose rowid is the topic row's rowid (porter stemming, diacritics
folded, BM25 with title > also-called > summary). PostgreSQL uses a weighted ``tsvector``
(A title, B also-called, C summary) under a GIN index, ranked with ``ts_rank``. The topic store
keeps the index in step inside its own transaction (``put``). Queries are reduced to word
tokens before they reach either engine, so no query syntax from a request is ever interpreted.
Every word of the query must match: a single word shared with a title ("acute", "chronic") is no
reason to send anyone to a page.
"""

from __future__ import annotations

import html
import re

from sqlalchemy import text as sql_text

from ..models import Topic
from ..text import fold
from .codec import from_json
from .db import Database

_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = {
    "a",
    "an",
    "and",
    "of",
    "the",
    "in",
    "on",
    "or",
    "to",
    "for",
    "with",
    "by",
    "is",
    "nos",
    "de",
    "del",
    "la",
    "el",
    "los",
    "las",
    "y",
    "en",
    "con",
    "por",
    "un",
    "una",
}
MAX_TERMS = 12
_PG_CONFIG = {"en": "english", "es": "spanish"}


def plain(summary_html: str) -> str:
    return html.unescape(_TAG.sub(" ", summary_html or ""))


def fields(topic: Topic) -> tuple[str, str, str]:
    """(title, also-called, summary) as folded plain text."""
    return fold(topic.title), fold(" ; ".join(topic.also_called)), fold(plain(topic.summary_html))


def terms(text: str) -> list[str]:
    """Word tokens of a query, stop words dropped (unless nothing else is left), at most 12."""
    words = _WORD.findall(fold(text))
    kept = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(kept))[:MAX_TERMS]


class SqliteTopicIndex:
    def __init__(self, db: Database):
        self.db = db

    def ensure(self) -> None:
        """(Re)build the FTS5 table (a migration creates it) when it disagrees with the topics table."""
        with self.db.transaction():
            indexed = self.db.scalar("SELECT COUNT(*) FROM topics_fts")
            stored = self.db.scalar("SELECT COUNT(*) FROM topics")
            if indexed != stored:
                self.rebuild()

    def rebuild(self) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM topics_fts")
            for rowid, data in self.db.query("SELECT rowid, data FROM topics"):
                self.db.execute(
                    "INSERT INTO topics_fts (rowid, title, also_called, summary) VALUES (?, ?, ?, ?)",
                    (rowid, *fields(from_json(data))),
                )

    def put(self, topic: Topic) -> None:
        """Index (or re-index) one stored topic, inside the caller's transaction."""
        rowid = self.db.scalar("SELECT rowid FROM topics WHERE id = ?", (topic.id,))
        self.db.execute("DELETE FROM topics_fts WHERE rowid = ?", (rowid,))
        self.db.execute(
            "INSERT INTO topics_fts (rowid, title, also_called, summary) VALUES (?, ?, ?, ?)",
            (rowid, *fields(topic)),
        )

    def put_new(self, topics: list[Topic]) -> None:
        """Index topics just stored that have no entry yet, in one statement."""
        self.db.execute(
            sql_text(
                "INSERT INTO topics_fts (rowid, title, also_called, summary)"
                " SELECT rowid, :title, :also_called, :summary FROM topics WHERE id = :id"
            ),
            [dict(zip(("title", "also_called", "summary"), fields(t), strict=True), id=t.id) for t in topics],
        )

    def search(self, text: str, language: str, limit: int) -> list[str]:
        words = terms(text)
        if not words:
            return []
        every_word = " AND ".join('"' + w.replace('"', "") + '"' for w in words)
        rows = self.db.query(
            "SELECT t.id FROM topics_fts f JOIN topics t ON t.rowid = f.rowid"
            " WHERE topics_fts MATCH ? AND t.language = ? AND t.status = 'active'"
            " ORDER BY bm25(topics_fts, 10.0, 5.0, 1.0), t.title LIMIT ?",
            (every_word, language, limit),
        )
        return [r[0] for r in rows]


class PostgresTopicIndex:
    def __init__(self, db: Database):
        self.db = db

    def ensure(self) -> None:
        with self.db.transaction():  # a migration creates topic_search; this fills it where it lags
            indexed = self.db.scalar("SELECT COUNT(*) FROM topic_search")
            stored = self.db.scalar("SELECT COUNT(*) FROM topics")
            if indexed != stored:
                for (data,) in self.db.query("SELECT data FROM topics"):
                    self.put(from_json(data))

    def put(self, topic: Topic) -> None:
        config = _PG_CONFIG.get(topic.language, "simple")
        self.db.execute(
            "INSERT INTO topic_search (id, document) VALUES (?,"
            " setweight(to_tsvector(?::regconfig, ?), 'A') ||"
            " setweight(to_tsvector(?::regconfig, ?), 'B') ||"
            " setweight(to_tsvector(?::regconfig, ?), 'C'))"
            " ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document",
            (topic.id, *[v for field in fields(topic) for v in (config, field)]),
        )

    def put_new(self, topics: list[Topic]) -> None:
        for topic in topics:
            self.put(topic)

    def search(self, text: str, language: str, limit: int) -> list[str]:
        words = terms(text)
        if not words:
            return []
        config = _PG_CONFIG.get(language, "simple")
        rows = self.db.query(
            "SELECT t.id FROM topic_search s JOIN topics t ON t.id = s.id,"
            " to_tsquery(?::regconfig, ?) q"
            " WHERE s.document @@ q AND t.language = ? AND t.status = 'active'"
            " ORDER BY ts_rank(s.document, q) DESC, t.title LIMIT ?",
            (config, " & ".join(words), language, limit),
        )
        return [r[0] for r in rows]


def index_for(db: Database) -> SqliteTopicIndex | PostgresTopicIndex:
    return PostgresTopicIndex(db) if db.dialect == "postgresql" else SqliteTopicIndex(db)
