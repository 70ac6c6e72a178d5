"""The schema of release 0.1.0, as its hand-written DDL made it on SQLite and PostgreSQL.

A frozen snapshot: these statements are 0.1.0's, word for word (``IF NOT EXISTS`` included, so a
database an earlier development build left without a later table is completed, not refused).
A database 0.1.0 made has every table already and is stamped at this revision instead.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "BIGSERIAL PRIMARY KEY"}

TABLES = [
    """CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS topics (
    id TEXT PRIMARY KEY,
    language TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    data TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    updated_at TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS topics_url ON topics (url)",
    """CREATE TABLE IF NOT EXISTS mapping_rules (
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
)""",
    """CREATE UNIQUE INDEX IF NOT EXISTS mapping_rules_unique ON mapping_rules (
    code_system, code, topic_id, scope,
    COALESCE(min_age, -1), COALESCE(max_age, -1), COALESCE(gender, '')
)""",
    "CREATE INDEX IF NOT EXISTS mapping_rules_code ON mapping_rules (code_system, code)",
    # Mapping management: history, tokens, usage counts.
    """CREATE TABLE IF NOT EXISTS mapping_versions (
    n INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    rule_count INTEGER NOT NULL,
    rules TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS mapping_audit (
    id {id},
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    mapping_id INTEGER,
    before TEXT,
    after TEXT,
    reason TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS mapping_audit_mapping ON mapping_audit (mapping_id)",
    "CREATE INDEX IF NOT EXISTS mapping_audit_version ON mapping_audit (version)",
    """CREATE TABLE IF NOT EXISTS admin_tokens (
    id {id},
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
)""",
    """CREATE TABLE IF NOT EXISTS admin_signin_failures (
    client TEXT NOT NULL,
    at REAL NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS admin_signin_failures_client ON admin_signin_failures (client, at)",
    """CREATE TABLE IF NOT EXISTS mapping_usage (
    day TEXT NOT NULL,
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    unmatched INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, code_system, code)
)""",
    # Suggested mappings: rejections and their audit.
    """CREATE TABLE IF NOT EXISTS suggestion_rejections (
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (code_system, code, topic_id)
)""",
    """CREATE TABLE IF NOT EXISTS suggestion_audit (
    id {id},
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
)""",
    # CDS Hooks feedback.
    """CREATE TABLE IF NOT EXISTS cds_feedback (
    id {id},
    service_id TEXT NOT NULL,
    card_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    accepted_suggestions INTEGER NOT NULL DEFAULT 0,
    override_system TEXT,
    override_code TEXT,
    outcome_timestamp TEXT,
    received_at TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS cds_feedback_card ON cds_feedback (card_id)",
]

# Free-text search over topics (store/search.py), kept in step by the topic store.
SEARCH = {
    "sqlite": [
        "CREATE VIRTUAL TABLE IF NOT EXISTS topics_fts USING fts5("
        "title, also_called, summary, tokenize = 'porter unicode61 remove_diacritics 2')",
    ],
    "postgresql": [
        "CREATE TABLE IF NOT EXISTS topic_search ("
        " id TEXT PRIMARY KEY REFERENCES topics (id) ON DELETE CASCADE,"
        " document tsvector NOT NULL)",
        "CREATE INDEX IF NOT EXISTS topic_search_document ON topic_search USING GIN (document)",
    ],
}

# The version counters every worker compares; '0' until the first change.
COUNTERS = ("mapping_version", "topic_version")


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    for statement in TABLES:
        op.execute(statement.format(id=_ID[dialect]))
    for statement in SEARCH[dialect]:
        op.execute(statement)
    for key in COUNTERS:
        op.execute(
            f"INSERT INTO meta (key, value) SELECT '{key}', '0'"
            f" WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = '{key}')"
        )


def downgrade() -> None:
    raise NotImplementedError("0001 is the first schema: there is nothing older to go back to")
