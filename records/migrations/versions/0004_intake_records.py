"""The HTTP service's own records: deliveries it refused (kept for staff to retry after a
mapping fix: `onboarding intake`) and the product events it has already delivered (one row
per event id, so a resent event is answered from here instead of signalled again).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "intake_refusals",
        sa.Column("id", sa.String(400), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        sa.Column("deal_id", sa.String(128)),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received", sa.Integer, nullable=False, server_default="1"),
        sa.Column("first_at", WHEN, nullable=False),
        sa.Column("last_at", WHEN, nullable=False),
        sa.Column("retried_at", WHEN),
        sa.Column("retried_by", sa.String(256)),
        sa.Column("outcome", sa.String(300)),
    )
    op.create_index("ix_intake_refusals_status", "intake_refusals", ["status"])
    op.create_index("ix_intake_refusals_source", "intake_refusals", ["source"])
    op.create_table(
        "intake_events",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("answer", sa.JSON),
        sa.Column("at", WHEN, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_events")
    op.drop_index("ix_intake_refusals_source", "intake_refusals")
    op.drop_index("ix_intake_refusals_status", "intake_refusals")
    op.drop_table("intake_refusals")
