"""The `moments_funnel` view: one row per journey with its funnel's times, for dashboards
(Grafana, Metabase, ...) next to a team's other graphs (docs/report.md, Dashboards).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _first(kind: str) -> str:
    return f"MIN(CASE WHEN kind = '{kind}' THEN at END)"


def _started(column: str) -> str:
    return f"MAX(CASE WHEN kind = 'started' THEN {column} END)"


def _count(kind: str) -> str:
    return f"SUM(CASE WHEN kind = '{kind}' THEN 1 ELSE 0 END)"


def _seconds(later: str, earlier: str, dialect: str) -> str:
    if dialect == "sqlite":  # times are stored as UTC text there
        return f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400.0, 3) AS REAL)"
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    started = _first("started")
    op.execute(f"""
        CREATE VIEW moments_funnel AS
        SELECT
            workflow_id,
            MAX(deal_id) AS deal_id,
            {_started("segment")} AS segment,
            {_started("product")} AS product,
            {_started("playbook")} AS playbook,
            MAX(variant) AS variant,
            {started} AS started_at,
            {_first("first_action")} AS first_action_at,
            {_first("activated")} AS activated_at,
            {_first("closed")} AS closed_at,
            {_seconds(_first("first_action"), started, dialect)} AS seconds_to_first_action,
            {_seconds(_first("activated"), started, dialect)} AS seconds_to_activation,
            {_count("milestone_completed")} AS milestones_completed,
            {_count("escalated")} AS escalations
        FROM moments
        GROUP BY workflow_id
    """)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS moments_funnel")
