"""The suppression list: contacts who unsubscribed, kept after their journey ends and
honoured by every later one (no customer email goes to a suppressed contact).

Behind a small interface: for now a SQLite file under the data dir, shared by the worker
and the HTTP service when they share that dir (`make run`; compose mounts one volume).
The records database (ONBOARDING_DATABASE_URL) is meant to hold it once it lands."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

FILE_NAME = "suppressions.sqlite3"


class Suppression(BaseModel):
    contact_hash: str
    at: datetime
    # The journey whose email carried the link (no address, no name).
    workflow_id: str
    source: str = "list-unsubscribe"


class SuppressionList(Protocol):
    async def add(self, suppression: Suppression) -> bool:
        """Record it; False when the contact was already suppressed (the first record stays)."""
        ...

    async def find(self, contact_hash: str) -> Suppression | None: ...


_SELECT = "SELECT contact_hash, at, workflow_id, source FROM suppressions WHERE contact_hash = ?"


def _suppression(row: tuple[str, str, str, str] | None) -> Suppression | None:
    if row is None:
        return None
    return Suppression(contact_hash=row[0], at=datetime.fromisoformat(row[1]), workflow_id=row[2], source=row[3])


class FileSuppressionList:
    """Writes go to a thread (they may wait for another writer). Lookups, one per webhook and
    one per customer email, are a primary-key read of microseconds on a connection kept
    open, done inline: a thread hop and a new connection each cost far more. In WAL mode a
    reader never waits for a writer and sees every commit at once."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._reader: sqlite3.Connection | None = None
        self._reading: tuple[int, int] | None = None  # (device, inode) of the file it has open

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> FileSuppressionList:
        return cls(data_dir / FILE_NAME)

    def _connect(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS suppressions (contact_hash TEXT PRIMARY KEY, at TEXT NOT NULL, "
            "workflow_id TEXT NOT NULL, source TEXT NOT NULL)"
        )
        return db

    def _add(self, s: Suppression) -> bool:
        with closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO suppressions VALUES (?, ?, ?, ?)",
                (s.contact_hash, s.at.isoformat(), s.workflow_id, s.source),
            )
            return cursor.rowcount == 1

    def _find(self, contact_hash: str) -> Suppression | None:
        if not self._path.exists():
            return None
        with closing(self._connect()) as db:
            return _suppression(db.execute(_SELECT, (contact_hash,)).fetchone())

    def _find_now(self, contact_hash: str) -> Suppression | None:
        try:
            stat = os.stat(self._path)
        except FileNotFoundError:
            self._close_reader()
            return None
        if self._reader is None or self._reading != (stat.st_dev, stat.st_ino):
            self._close_reader()  # first lookup, or the file was replaced
            self._reader = sqlite3.connect(self._path, timeout=0, check_same_thread=False)
            self._reading = (stat.st_dev, stat.st_ino)
        # fetchall ends the statement: no read transaction stays open between lookups
        rows = self._reader.execute(_SELECT, (contact_hash,)).fetchall()
        return _suppression(rows[0] if rows else None)

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader, self._reading = None, None

    async def add(self, suppression: Suppression) -> bool:
        return await asyncio.to_thread(self._add, suppression)

    async def find(self, contact_hash: str) -> Suppression | None:
        try:
            return self._find_now(contact_hash)
        except sqlite3.Error:
            # busy (a file from before WAL, its writer committing), or not set up yet: the
            # patient way, in a thread
            self._close_reader()
            return await asyncio.to_thread(self._find, contact_hash)
