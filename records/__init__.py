"""The engine's own records in a database: the delivery ledger (one per deployment, shared
by every worker), escalation tasks with their lifecycle, and the journey's business moments.

SQLite under the data dir by default; PostgreSQL when ONBOARDING_DATABASE_URL says so.
Schema changes are Alembic migrations in `records/migrations`, applied at start by the
worker and the HTTP service, or by `onboarding db upgrade`. See docs/records.md."""
