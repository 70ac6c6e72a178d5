"""Mapping rules limited to a context: audience, task, care setting, language, age group.

``mapping_rules`` gains one column per limit (URL-IG §2.1.2–2.1.3: informationRecipient,
taskContext.c.c, encounter.c.c, the language, ageGroup.v.c), each the limit's codes as canonical
text (sorted, separated by single spaces), '' for any; every existing rule gets '' and so keeps
matching what it matched. ``mapping_rules_unique`` takes the five columns, so two rules that differ
only by a limit can both exist. Plain DDL, like 0001-0004; ``ALTER TABLE … ADD COLUMN`` with a
constant default needs no table rebuild on SQLite or PostgreSQL. Idempotent: a column already
there is not added again.

Downgrade removes the columns and restores 0.1.0's index. A rule with a limit cannot be written
without it (it would then answer every context: precision over recall), so those rules are
deleted first; every mapping version's snapshot keeps them, and after upgrading again a restore of
that version brings them back.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = ("audiences", "tasks", "settings", "languages", "age_groups")
ADD_COLUMN = "ALTER TABLE mapping_rules ADD COLUMN {name} TEXT NOT NULL DEFAULT ''"
UNIQUE = """CREATE UNIQUE INDEX mapping_rules_unique ON mapping_rules (
    code_system, code, topic_id, scope,
    COALESCE(min_age, -1), COALESCE(max_age, -1), COALESCE(gender, ''),
    audiences, tasks, settings, languages, age_groups
)"""
# 0.1.0's index, as 0001 wrote it (without IF NOT EXISTS: it was just dropped)
UNIQUE_0001 = """CREATE UNIQUE INDEX mapping_rules_unique ON mapping_rules (
    code_system, code, topic_id, scope,
    COALESCE(min_age, -1), COALESCE(max_age, -1), COALESCE(gender, '')
)"""


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("mapping_rules")}


def upgrade() -> None:
    present = _columns()
    for name in COLUMNS:
        if name not in present:
            op.execute(ADD_COLUMN.format(name=name))
    op.execute("DROP INDEX IF EXISTS mapping_rules_unique")
    op.execute(UNIQUE)


def downgrade() -> None:
    present = [name for name in COLUMNS if name in _columns()]
    op.execute("DROP INDEX IF EXISTS mapping_rules_unique")
    if present:
        op.execute("DELETE FROM mapping_rules WHERE " + " OR ".join(f"{name} <> ''" for name in present))
    for name in present:
        op.execute(f"ALTER TABLE mapping_rules DROP COLUMN {name}")
    op.execute(UNIQUE_0001)
