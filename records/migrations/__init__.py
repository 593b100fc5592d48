"""Alembic migrations of the records (run programmatically: records.migrate)."""
