"""Server-side session revocation and atomic failure counting.

``admin_tokens.session_generation``: sign-out and role changes bump it, ending every session
signed with the old value. ``auth_failures``: failed token checks per client and per key id,
counted by one UPSERT each (release 0.1.0's ``admin_signin_failures`` log is left unused).
Written as plain DDL, like 0001, and idempotent: a database that already has either part (a
development build's) is completed, not refused.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ADD_GENERATION = "ALTER TABLE admin_tokens ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0"
CREATE_FAILURES = """CREATE TABLE IF NOT EXISTS auth_failures (
    key TEXT NOT NULL PRIMARY KEY,
    first_at BIGINT NOT NULL,
    failures INTEGER NOT NULL
)"""


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("admin_tokens")}
    if "session_generation" not in columns:
        op.execute(ADD_GENERATION)
    op.execute(CREATE_FAILURES)


def downgrade() -> None:
    op.execute("DROP TABLE auth_failures")
    op.execute("ALTER TABLE admin_tokens DROP COLUMN session_generation")
