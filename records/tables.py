"""The schema at the newest migration, as SQLAlchemy Core tables (queries use these; the
migrations in records/migrations/versions create them and never import this file)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from records.types import UtcDateTime

metadata = MetaData()

# One row per message key: claimed (`sending`, with the attempt and its lease), then `sent`;
# `failed` when the channel refused it (nothing went out), `unknown` when it may have.
deliveries = Table(
    "deliveries",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("state", String(16), nullable=False, index=True),
    Column("channel", String(16)),
    Column("message_id", String(200)),
    Column("workflow_id", String(255)),
    Column("activity_id", String(255)),
    Column("attempt", Integer),
    Column("claim", Integer, nullable=False, server_default="1"),
    Column("claimed_at", UtcDateTime),
    Column("lease_until", UtcDateTime),
    Column("sent_at", UtcDateTime),
    Column("unknown_outcomes", Integer, nullable=False, server_default="0"),
    Column("last_error", String(300)),
)

escalation_tasks = Table(
    "escalation_tasks",
    metadata,
    Column("id", String(400), primary_key=True),
    Column("workflow_id", String(255), nullable=False, index=True),
    Column("escalation", Integer, nullable=False),
    Column("deal_id", String(128), nullable=False, index=True),
    Column("account_name", String(256), nullable=False, server_default=""),
    Column("milestone", String(128), nullable=False, server_default=""),
    Column("level", Integer, nullable=False),
    Column("level_name", String(32), nullable=False),
    Column("assignee", String(128), nullable=False, index=True),
    Column("assignee_name", String(256), nullable=False, server_default=""),
    Column("reason", Text, nullable=False, server_default=""),
    Column("status", String(24), nullable=False, index=True),
    Column("decision", String(32)),
    Column("closed_by", String(256)),
    Column("note", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
)

escalation_task_events = Table(
    "escalation_task_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("task_id", String(400), ForeignKey("escalation_tasks.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("event", String(24), nullable=False),
    Column("level", Integer, nullable=False),
    Column("assignee", String(128)),
    Column("by", String(256)),
    Column("detail", Text),
    UniqueConstraint("task_id", "event", "level", name="uq_escalation_task_events_once"),
)

moments = Table(
    "moments",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False, unique=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("kind", String(32), nullable=False, index=True),
    Column("workflow_id", String(255), nullable=False, index=True),
    Column("deal_id", String(128), nullable=False, index=True),
    Column("account_id", String(128)),
    Column("segment", String(64)),
    Column("product", String(64)),
    Column("playbook", String(128)),
    Column("playbook_hash", String(128)),
    Column("journey_version", String(32)),
    Column("variant", String(64)),
    Column("owner", String(128)),
    Column("milestone", String(128)),
    Column("touchpoint", String(16)),
    Column("detail", JSON),
    Column("recorded_at", UtcDateTime, nullable=False),
)

# Deliveries the HTTP service could not use (unmapped, invalid): the reason in ids and field
# names, the delivery itself encrypted with the payload codec, until staff retry it.
intake_refusals = Table(
    "intake_refusals",
    metadata,
    Column("id", String(400), primary_key=True),
    Column("source", String(32), nullable=False, index=True),
    Column("ref", String(255), nullable=False),
    Column("deal_id", String(128)),
    Column("reason", String(300), nullable=False),
    Column("fields", JSON, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("received", Integer, nullable=False, server_default="1"),
    Column("first_at", UtcDateTime, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
    Column("retried_at", UtcDateTime),
    Column("retried_by", String(256)),
    Column("outcome", String(300)),
)

# One row per product event id delivered through the HTTP service (`<source>:<event id>`):
# `delivering` while its signal is on its way, then `delivered` with the answer given.
intake_events = Table(
    "intake_events",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("answer", JSON),
    Column("at", UtcDateTime, nullable=False),
)

# The account of each journey the HTTP service (or `make demo`) started: staff find a customer
# by company name (records/accounts.py). Company names only, as in escalation_tasks.
journey_accounts = Table(
    "journey_accounts",
    metadata,
    Column("deal_id", String(128), primary_key=True),
    Column("workflow_id", String(255), nullable=False),
    Column("account_id", String(128), nullable=False, index=True),
    Column("account_name", String(256), nullable=False),
    Column("name_folded", String(256), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)
