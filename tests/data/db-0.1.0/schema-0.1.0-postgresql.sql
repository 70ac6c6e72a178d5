-- The PostgreSQL schema release 0.1.0 made (commit 12735fe), statement for statement: store/schema.py
-- SCHEMA and the history, tokens, usage, rejections and cds_feedback SCHEMA strings ({id} as
-- BIGSERIAL PRIMARY KEY), search.py's topic_search, and migrate()'s meta counters.
-- tests/store/test_migrations.py builds a 0.1.0 database from it.
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
    id BIGSERIAL PRIMARY KEY,
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
CREATE TABLE IF NOT EXISTS mapping_versions (
    n INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    rule_count INTEGER NOT NULL,
    rules TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mapping_audit (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    mapping_id INTEGER,
    before TEXT,
    after TEXT,
    reason TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS mapping_audit_mapping ON mapping_audit (mapping_id);
CREATE INDEX IF NOT EXISTS mapping_audit_version ON mapping_audit (version);
CREATE TABLE IF NOT EXISTS admin_tokens (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
CREATE TABLE IF NOT EXISTS admin_signin_failures (
    client TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS admin_signin_failures_client ON admin_signin_failures (client, at);
CREATE TABLE IF NOT EXISTS mapping_usage (
    day TEXT NOT NULL,
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    unmatched INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, code_system, code)
);
CREATE TABLE IF NOT EXISTS suggestion_rejections (
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (code_system, code, topic_id)
);
CREATE TABLE IF NOT EXISTS suggestion_audit (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS cds_feedback (
    id BIGSERIAL PRIMARY KEY,
    service_id TEXT NOT NULL,
    card_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    accepted_suggestions INTEGER NOT NULL DEFAULT 0,
    override_system TEXT,
    override_code TEXT,
    outcome_timestamp TEXT,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cds_feedback_card ON cds_feedback (card_id);
CREATE TABLE IF NOT EXISTS topic_search ( id TEXT PRIMARY KEY REFERENCES topics (id) ON DELETE CASCADE, document tsvector NOT NULL);
CREATE INDEX IF NOT EXISTS topic_search_document ON topic_search USING GIN (document);
INSERT INTO meta (key, value) VALUES ('mapping_version', '0');
INSERT INTO meta (key, value) VALUES ('topic_version', '0');
