"""Tables, written once for SQLite and PostgreSQL; ``migrate`` is idempotent."""

from __future__ import annotations

from .db import Database

_ID = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "BIGSERIAL PRIMARY KEY"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS topics (
    id TEXT PRIMARY KEY,
    language TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    data TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS topics_url ON topics (url);
CREATE TABLE IF NOT EXISTS mapping_rules (
    id {id},
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT 'descendants',
    priority INTEGER NOT NULL DEFAULT 0,
    min_age REAL,
    max_age REAL,
    gender TEXT,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS mapping_rules_unique ON mapping_rules (
    code_system, code, topic_id, scope,
    COALESCE(min_age, -1), COALESCE(max_age, -1), COALESCE(gender, '')
);
CREATE INDEX IF NOT EXISTS mapping_rules_code ON mapping_rules (code_system, code);
"""


# Later modules append their own DDL strings here (same {id} placeholder convention).
SCHEMAS: list[str] = [SCHEMA]

# Mapping management (issue 5): history, tokens, usage counts.
from . import history, tokens, usage  # noqa: E402

SCHEMAS += [history.SCHEMA, tokens.SCHEMA, usage.SCHEMA]

# Suggested mappings (issue 8): rejections and their audit.
from . import rejections  # noqa: E402

SCHEMAS += [rejections.SCHEMA]


def migrate(db: Database) -> None:
    """Create what is missing; never drops or rewrites data."""
    for script in SCHEMAS:
        db.executescript(script.format(id=_ID[db.dialect]))
    with db.transaction():
        for key in ("mapping_version", "topic_version"):
            if db.scalar("SELECT value FROM meta WHERE key = ?", (key,)) is None:
                db.execute("INSERT INTO meta (key, value) VALUES (?, '0')", (key,))
