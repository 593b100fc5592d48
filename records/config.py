"""Where the records live: ONBOARDING_DATABASE_URL, or a SQLite file under the data dir."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

SQLITE_FILE = "onboarding.sqlite3"
ENV = "ONBOARDING_DATABASE_URL"


class DatabaseUrlError(ValueError):
    """ONBOARDING_DATABASE_URL cannot be used; the message names the variable and never the password."""


def database_url(configured: str | None, data_dir: Path) -> URL:
    """The async SQLAlchemy URL for the records.

    unset or empty       -> sqlite+aiosqlite:///<data_dir>/onboarding.sqlite3
    sqlite:///PATH       -> sqlite+aiosqlite:///PATH
    postgresql://...     -> postgresql+asyncpg://... (also postgres://; sslmode= becomes ssl=)
    """
    if not configured or not configured.strip():
        path = (Path(data_dir) / SQLITE_FILE).resolve()
        return URL.create("sqlite+aiosqlite", database=str(path))
    try:
        url = make_url(configured.strip())
    except ArgumentError:
        raise DatabaseUrlError(
            f"{ENV} is not a database URL (expected postgresql://user@host/db or sqlite:///path)"
        ) from None
    backend, _, driver = url.drivername.partition("+")
    if backend == "postgres":
        backend = "postgresql"
    if backend == "sqlite":
        if driver not in ("", "aiosqlite"):
            raise DatabaseUrlError(f"{ENV}: SQLite is used through aiosqlite, not {driver!r}")
        if not url.database or url.database == ":memory:":
            raise DatabaseUrlError(f"{ENV}: SQLite needs a file path (sqlite:///path/to/file.sqlite3)")
        return url.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        if driver not in ("", "asyncpg"):
            raise DatabaseUrlError(f"{ENV}: PostgreSQL is used through asyncpg, not {driver!r}")
        if not url.database:
            raise DatabaseUrlError(f"{ENV}: name the database (postgresql://user@host:5432/onboarding)")
        query = dict(url.query)
        if "sslmode" in query:  # libpq's spelling; asyncpg calls it ssl
            query["ssl"] = query.pop("sslmode")
        return url.set(drivername="postgresql+asyncpg", query=query)
    raise DatabaseUrlError(f"{ENV}: unsupported database {backend!r}; use postgresql://... or sqlite:///...")


def describe(url: URL) -> str:
    """For logs and messages: the URL without its password."""
    return url.render_as_string(hide_password=True)
