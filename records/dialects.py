"""The one statement that differs between SQLite and PostgreSQL: insert unless the key exists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_new(dialect: str, table: Table, index: list[str], values: dict[str, Any] | list[dict[str, Any]]) -> Any:
    """INSERT ... ON CONFLICT (index) DO NOTHING RETURNING index: a row back means inserted.
    A list of rows is one multi-row statement; the rows back are the ones inserted."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .values(values)
        .on_conflict_do_nothing(index_elements=index)
        .returning(*(table.c[name] for name in index))
    )
