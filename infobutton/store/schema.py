"""Every table, once, as SQLAlchemy Core ``Table`` objects on one ``MetaData``.

The definitions match the DDL release 0.1.0 wrote by hand (names, types, nullability, defaults,
indexes); ``tests/store/test_schema.py`` compares them with that DDL on both engines. The
full-text index (SQLite FTS5 ``topics_fts``, PostgreSQL ``topic_search``) is engine-specific
and lives in ``store.search``. Alembic revisions (``infobutton/migrations``) create and change
the tables; ``tests/store/test_schema.py`` keeps these definitions and the revisions in step.
"""

from __future__ import annotations

from sqlalchemy import (
    REAL,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    literal_column,
    text,
)

metadata = MetaData()
# The context limits of a mapping rule, as ``MappingRule`` names them (revision 0005).
CONSTRAINT_COLUMNS = ("audiences", "tasks", "settings", "languages", "age_groups")
# 0.1.0 declared single-column keys as plain ``PRIMARY KEY`` (no NOT NULL): PostgreSQL implies
# NOT NULL, SQLite does not say it (an INTEGER key is the rowid and never NULL anyway). Kept so.
_PK_NULL = True


def _id() -> Column:
    """INTEGER PRIMARY KEY AUTOINCREMENT on SQLite, BIGSERIAL PRIMARY KEY on PostgreSQL."""
    return Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True, nullable=_PK_NULL
    )


def _default(value: str):
    return text(value)


meta = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True, nullable=_PK_NULL),
    Column("value", Text, nullable=False),
)

topics = Table(
    "topics",
    metadata,
    Column("id", Text, primary_key=True, nullable=_PK_NULL),
    Column("language", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=_default("'active'")),
    Column("data", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Index("topics_url", "url"),
)

mapping_rules = Table(
    "mapping_rules",
    metadata,
    _id(),
    Column("code_system", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("topic_id", Text, nullable=False),
    Column("scope", Text, nullable=False, server_default=_default("'descendants'")),
    Column("priority", Integer, nullable=False, server_default=_default("0")),
    Column("min_age", REAL),
    Column("max_age", REAL),
    Column("gender", Text),
    Column("reason", Text, nullable=False, server_default=_default("''")),
    # Context limits (revision 0005): each a set of codes as canonical text, sorted and separated
    # by single spaces ("PAT PROV"), '' for any; ``store.codec`` reads and writes them.
    *(Column(name, Text, nullable=False, server_default=_default("''")) for name in CONSTRAINT_COLUMNS),
    sqlite_autoincrement=True,
)
Index(
    "mapping_rules_unique",
    mapping_rules.c.code_system,
    mapping_rules.c.code,
    mapping_rules.c.topic_id,
    mapping_rules.c.scope,
    # literal SQL, as 0.1.0 wrote it: a bound -1 would be cast ('-1'::real) in PostgreSQL's index
    func.coalesce(mapping_rules.c.min_age, literal_column("-1")),
    func.coalesce(mapping_rules.c.max_age, literal_column("-1")),
    func.coalesce(mapping_rules.c.gender, literal_column("''")),
    # two rules that differ only by a context limit are two rules (revision 0005)
    *(mapping_rules.c[name] for name in CONSTRAINT_COLUMNS),
    unique=True,
)
Index("mapping_rules_code", mapping_rules.c.code_system, mapping_rules.c.code)

mapping_versions = Table(
    "mapping_versions",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=False, nullable=_PK_NULL),
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=_default("''")),
    Column("rule_count", Integer, nullable=False),
    Column("rules", Text, nullable=False),
)

mapping_audit = Table(
    "mapping_audit",
    metadata,
    _id(),
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("mapping_id", Integer),
    Column("before", Text),
    Column("after", Text),
    Column("reason", Text, nullable=False, server_default=_default("''")),
    Column("version", Integer, nullable=False),
    Index("mapping_audit_mapping", "mapping_id"),
    Index("mapping_audit_version", "version"),
    sqlite_autoincrement=True,
)

admin_tokens = Table(
    "admin_tokens",
    metadata,
    _id(),
    Column("name", Text, nullable=False, unique=True),
    Column("role", Text, nullable=False),
    Column("key_id", Text, nullable=False, unique=True),
    Column("salt", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("last_used_at", Text),
    # Bumped by sign-out and role changes: sessions signed with an older generation are refused.
    Column("session_generation", Integer, nullable=False, server_default=_default("0")),
    sqlite_autoincrement=True,
)

# Failed token checks per key (``client:<address>`` or ``key:<key id>``), counted atomically by
# one UPSERT over a window that starts at the first failure (epoch seconds).
auth_failures = Table(
    "auth_failures",
    metadata,
    Column("key", Text, primary_key=True),
    Column("first_at", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
)

# CDS Hooks token ids (jti) already accepted, each until its token expires (revision 0004): one
# table every worker and instance shares, so a token replayed to another worker is refused.
cds_token_uses = Table(
    "cds_token_uses",
    metadata,
    Column("iss", Text, primary_key=True),
    Column("jti", Text, primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
    Index("cds_token_uses_expires", "expires_at"),
)

# ``at`` is REAL as 0.1.0 wrote it: on PostgreSQL that is a 4-byte float (about two minutes'
# resolution for epoch seconds); a migration may widen it.
admin_signin_failures = Table(
    "admin_signin_failures",
    metadata,
    Column("client", Text, nullable=False),
    Column("at", REAL, nullable=False),
    Index("admin_signin_failures_client", "client", "at"),
)

mapping_usage = Table(
    "mapping_usage",
    metadata,
    Column("day", Text, primary_key=True),
    Column("code_system", Text, primary_key=True),
    Column("code", Text, primary_key=True),
    Column("requests", Integer, nullable=False, server_default=_default("0")),
    Column("unmatched", Integer, nullable=False, server_default=_default("0")),
)

suggestion_rejections = Table(
    "suggestion_rejections",
    metadata,
    Column("code_system", Text, primary_key=True),
    Column("code", Text, primary_key=True),
    Column("topic_id", Text, primary_key=True),
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=_default("''")),
)

suggestion_audit = Table(
    "suggestion_audit",
    metadata,
    _id(),
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("code_system", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("topic_id", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=_default("''")),
    sqlite_autoincrement=True,
)

cds_feedback = Table(
    "cds_feedback",
    metadata,
    _id(),
    Column("service_id", Text, nullable=False),
    Column("card_id", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("accepted_suggestions", Integer, nullable=False, server_default=_default("0")),
    Column("override_system", Text),
    Column("override_code", Text),
    Column("outcome_timestamp", Text),
    Column("received_at", Text, nullable=False),
    Index("cds_feedback_card", "card_id"),
    Index("cds_feedback_received", "received_at"),  # retention deletes (revision 0002)
    sqlite_autoincrement=True,
)
