"""One async engine for the records, brought to the newest schema before first use."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import structlog
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from records import migrate
from records.config import database_url, describe

log = structlog.get_logger(__name__)


def create_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        Path(path).parent.mkdir(parents=True, exist_ok=True)

        async def connect() -> aiosqlite.Connection:
            connection = aiosqlite.connect(path, timeout=30)
            # aiosqlite serves each connection from its own thread; a pooled connection that
            # nobody closes (a test's worker, an interrupted command) must not hold the
            # interpreter open at exit. Committed data is in the database file either way.
            connection._thread.daemon = True
            return await connection

        engine = create_async_engine(url, async_creator=connect, pool_size=2, max_overflow=8)
        _sqlite_transactions(engine)
        return engine
    return create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)


def _sqlite_transactions(engine: AsyncEngine) -> None:
    """SQLite takes the write lock at BEGIN IMMEDIATE, so two writers queue on busy_timeout
    instead of one failing at once with "database is locked" when a read turns into a write
    (the recipe from SQLAlchemy's aiosqlite notes). This also serializes migrations."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver emits no BEGIN of its own
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The records' database. `ready()` applies pending migrations once per process (the
    worker and the HTTP service call it at start; every store calls it before use)."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self.engine = create_engine(url)
        self._ready = False
        self._lock: asyncio.Lock | None = None

    @classmethod
    def from_settings(cls, configured_url: str | None, data_dir: Path) -> Database:
        return cls(database_url(configured_url, data_dir))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __repr__(self) -> str:
        return f"Database({describe(self.url)})"

    async def ready(self) -> None:
        if self._ready:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._ready:
                revision = await migrate.upgrade(self.engine)
                log.info("records.ready", database=describe(self.url), revision=revision)
                self._ready = True

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A transaction on the migrated schema, committed on success."""
        await self.ready()
        async with self.engine.begin() as connection:
            yield connection

    async def dispose(self) -> None:
        await self.engine.dispose()
