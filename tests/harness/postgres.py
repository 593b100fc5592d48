"""A real PostgreSQL for the suite: Debian's binaries, initdb + pg_ctl into a temp dir on a
free loopback port, run as the `postgres` user when the suite runs as root. Fixtures:

    postgres       (session) the server's base URL, postgresql://postgres@127.0.0.1:PORT
    records_url    a fresh database per test, parametrized over SQLite and PostgreSQL
    records_db     a migrated records Database on that URL
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from devstack.testing import free_port
from records.database import Database


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


@contextmanager
def postgres_server() -> Iterator[str]:
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries not found (/usr/lib/postgresql/*/bin/initdb): apt-get install postgresql")
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="onboarding-pg-"))
    if as_postgres:
        shutil.chown(root, "postgres")
    port = free_port()
    try:
        subprocess.run(
            [*as_postgres, str(bin_dir / "initdb"), "-D", str(root / "db"), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(root / "db"), "-o", options, "-l", str(root / "log"),
             "-w", "-t", "60", "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(root / "db"), "-m", "immediate", "-w", "stop"],
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


async def create_database(base_url: str) -> str:
    """A new empty database on the server; returns its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(f"{base_url}/postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{base_url}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def records_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """ONBOARDING_DATABASE_URL for a fresh, empty database on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'records.sqlite3'}"
    else:
        yield await create_database(request.getfixturevalue("postgres"))


@pytest_asyncio.fixture
async def records_db(records_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    db = Database.from_settings(records_url, tmp_path)
    await db.ready()
    try:
        yield db
    finally:
        await db.dispose()


__all__ = ["create_database", "postgres", "postgres_server", "records_db", "records_url"]
