"""CDS feedback retention: an index on received_at, so deleting rows older than
INFOBUTTON_CDS_FEEDBACK_DAYS on every write is cheap.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS, like 0001: a database that lost its alembic_version is replayed from 0001.
    op.create_index("cds_feedback_received", "cds_feedback", ["received_at"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("cds_feedback_received", table_name="cds_feedback")
