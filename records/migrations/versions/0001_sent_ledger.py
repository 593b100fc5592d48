"""The sent-ledger as each worker kept it before the records had a database: one row per
message key that went out (key, channel, the Message-ID as ref, ISO time as text).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sent",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("channel", sa.Text),
        sa.Column("ref", sa.Text),
        sa.Column("at", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("sent")
