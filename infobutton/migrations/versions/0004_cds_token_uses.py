"""CDS Hooks token ids shared by every worker: a JWT's ``jti`` is accepted once.

``cds_token_uses``: (issuer, jti) until the token expires, so a token replayed to another worker
or instance within its lifetime is refused. Plain DDL, idempotent, like 0001-0003.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CREATE = """CREATE TABLE IF NOT EXISTS cds_token_uses (
    iss TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (iss, jti)
)"""
CREATE_INDEX = "CREATE INDEX IF NOT EXISTS cds_token_uses_expires ON cds_token_uses (expires_at)"


def upgrade() -> None:
    op.execute(CREATE)
    op.execute(CREATE_INDEX)


def downgrade() -> None:
    op.execute("DROP TABLE cds_token_uses")
