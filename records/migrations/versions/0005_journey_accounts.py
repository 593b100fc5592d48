"""The accounts of the journeys the HTTP service started: which deal is which company, so staff
find a customer by the name they know (`/support/find`, docs/support.md). The account's name
only (a company, as the escalation tasks already keep it), never a person's.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey_accounts",
        sa.Column("deal_id", sa.String(128), primary_key=True),
        sa.Column("workflow_id", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("account_name", sa.String(256), nullable=False),
        # casefolded in Python: SQLite's lower() folds ASCII only
        sa.Column("name_folded", sa.String(256), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_journey_accounts_account_id", "journey_accounts", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_journey_accounts_account_id", "journey_accounts")
    op.drop_table("journey_accounts")
