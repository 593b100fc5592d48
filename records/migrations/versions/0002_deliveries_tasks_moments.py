"""Deliveries claimed before they are sent (state, attempt, lease, unknown outcomes),
escalation tasks with their lifecycle, and the journey's moments. Rows of the old `sent`
table move into `deliveries` as `sent`, so nothing already sent goes out again.

Revision ID: 0002
Revises: 0001
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc(text: str | None, sqlite: bool) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return moment.replace(tzinfo=None) if sqlite else moment


def upgrade() -> None:
    deliveries = op.create_table(
        "deliveries",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16)),
        sa.Column("message_id", sa.String(200)),
        sa.Column("workflow_id", sa.String(255)),
        sa.Column("activity_id", sa.String(255)),
        sa.Column("attempt", sa.Integer),
        sa.Column("claim", sa.Integer, nullable=False, server_default="1"),
        sa.Column("claimed_at", WHEN),
        sa.Column("lease_until", WHEN),
        sa.Column("sent_at", WHEN),
        sa.Column("unknown_outcomes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(300)),
    )
    op.create_index("ix_deliveries_state", "deliveries", ["state"])
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    old = sa.table("sent", sa.column("key"), sa.column("channel"), sa.column("ref"), sa.column("at"))
    rows = [
        {"key": r.key, "state": "sent", "channel": r.channel, "message_id": r.ref, "sent_at": _utc(r.at, sqlite)}
        for r in bind.execute(sa.select(old))
    ]
    if rows:
        op.bulk_insert(deliveries, rows)
    op.drop_table("sent")

    op.create_table(
        "escalation_tasks",
        sa.Column("id", sa.String(400), primary_key=True),
        sa.Column("workflow_id", sa.String(255), nullable=False),
        sa.Column("escalation", sa.Integer, nullable=False),
        sa.Column("deal_id", sa.String(128), nullable=False),
        sa.Column("account_name", sa.String(256), nullable=False, server_default=""),
        sa.Column("milestone", sa.String(128), nullable=False, server_default=""),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("level_name", sa.String(32), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=False),
        sa.Column("assignee_name", sa.String(256), nullable=False, server_default=""),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("decision", sa.String(32)),
        sa.Column("closed_by", sa.String(256)),
        sa.Column("note", sa.Text),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("closed_at", WHEN),
    )
    for column in ("workflow_id", "deal_id", "assignee", "status"):
        op.create_index(f"ix_escalation_tasks_{column}", "escalation_tasks", [column])

    op.create_table(
        "escalation_task_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(400), sa.ForeignKey("escalation_tasks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("assignee", sa.String(128)),
        sa.Column("by", sa.String(256)),
        sa.Column("detail", sa.Text),
        sa.UniqueConstraint("task_id", "event", "level", name="uq_escalation_task_events_once"),
    )
    op.create_index("ix_escalation_task_events_task_id", "escalation_task_events", ["task_id"])

    op.create_table(
        "moments",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(400), nullable=False, unique=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("workflow_id", sa.String(255), nullable=False),
        sa.Column("deal_id", sa.String(128), nullable=False),
        sa.Column("account_id", sa.String(128)),
        sa.Column("segment", sa.String(64)),
        sa.Column("product", sa.String(64)),
        sa.Column("playbook", sa.String(128)),
        sa.Column("playbook_hash", sa.String(128)),
        sa.Column("journey_version", sa.String(32)),
        sa.Column("variant", sa.String(64)),
        sa.Column("owner", sa.String(128)),
        sa.Column("milestone", sa.String(128)),
        sa.Column("touchpoint", sa.String(16)),
        sa.Column("detail", sa.JSON),
        sa.Column("recorded_at", WHEN, nullable=False),
    )
    for column in ("at", "kind", "workflow_id", "deal_id"):
        op.create_index(f"ix_moments_{column}", "moments", [column])


def downgrade() -> None:
    op.drop_table("moments")
    op.drop_table("escalation_task_events")
    op.drop_table("escalation_tasks")
    op.create_table(
        "sent",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("channel", sa.Text),
        sa.Column("ref", sa.Text),
        sa.Column("at", sa.Text),
    )
    bind = op.get_bind()
    deliveries = sa.table(
        "deliveries",
        sa.column("key"),
        sa.column("state"),
        sa.column("channel"),
        sa.column("message_id"),
        sa.column("sent_at"),
    )
    rows = [
        {
            "key": r.key,
            "channel": r.channel,
            "ref": r.message_id,
            "at": (
                r.sent_at.replace(tzinfo=r.sent_at.tzinfo or UTC).isoformat()
                if isinstance(r.sent_at, datetime)
                else r.sent_at
            ),
        }
        for r in bind.execute(sa.select(deliveries).where(deliveries.c.state == "sent"))
    ]
    if rows:
        op.bulk_insert(
            sa.table("sent", sa.column("key"), sa.column("channel"), sa.column("ref"), sa.column("at")), rows
        )
    op.drop_table("deliveries")
