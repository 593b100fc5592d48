"""A small durable record of what was sent, keyed by idempotency key, so an activity retry
after a successful send does not reach the customer twice."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path


class SentLedger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, channel TEXT, ref TEXT, at TEXT)"
        )

    def lookup(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT ref FROM sent WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def record(self, key: str, channel: str, ref: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO sent VALUES (?, ?, ?, ?)",
                (key, channel, ref, datetime.now(timezone.utc).isoformat()),
            )
