"""Alembic, run from code: `upgrade` brings the records to the newest revision (or to a
given one), safely when several processes start at once."""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key: "onboarding records migrations", any fixed 64-bit number will do.
LOCK_KEY = 0x6F6E62726563


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(config()).get_current_head() or ""


def revisions() -> list[str]:
    """Every revision, oldest first."""
    return [s.revision for s in reversed(list(ScriptDirectory.from_config(config()).walk_revisions()))]


def _lock(connection: Connection) -> None:
    """Two processes starting at once: the second waits, then finds nothing to do.
    PostgreSQL: a transaction-scoped advisory lock. SQLite: the BEGIN IMMEDIATE the engine
    issues (records.database) already holds the database's write lock."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    else:
        connection.execute(text("SELECT 1"))  # starts the transaction, and with it the lock


def _upgrade(connection: Connection, revision: str) -> str | None:
    _lock(connection)
    command.upgrade(config(connection), revision)
    return MigrationContext.configure(connection).get_current_revision()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


# Alembic keeps its running migration in module globals (`alembic.context`, `alembic.op`),
# and a migration awaits the database between its steps: two in one process at once (two
# workers in one test process, say) would run on each other's connection. One at a time per
# event loop; the database lock above orders processes.
_in_process: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> str | None:
    """Apply pending migrations in one transaction; returns the revision now in place."""
    lock = _in_process.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock, engine.connect() as connection:
        current = await connection.run_sync(_upgrade, revision)
        await connection.commit()
    return current


async def current(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)
