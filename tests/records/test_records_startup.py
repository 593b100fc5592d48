"""The worker and the HTTP service bring the records' schema up to date at start, also when
several start at once on one PostgreSQL; a bad URL stops them with a clear message."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from records import migrate
from records.database import Database
from starters.app import create_app
from tests.harness.starters_fixtures import serve, settings_for

ROOT = Path(__file__).resolve().parents[2]


async def start_worker(url: str, data_dir: Path) -> tuple[int, str]:
    """`python worker.py` with no Temporal to reach: it migrates, then stops at the connect."""
    env = {
        **os.environ,
        "ONBOARDING_DATABASE_URL": url,
        "ONBOARDING_DATA_DIR": str(data_dir),
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "worker.py", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode()


async def test_workers_starting_together_migrate_once(records_url, tmp_path):
    results = await asyncio.gather(*(start_worker(records_url, tmp_path / f"w{i}") for i in range(3)))
    for _code, out in results:
        assert '"event": "records.ready"' in out, out[-2000:]
        assert "Failed client connect" in out  # got past the records, stopped at Temporal
        assert "refusing to start" not in out
    db = Database.from_settings(records_url, tmp_path)
    try:
        assert await migrate.current(db.engine) == migrate.head()
    finally:
        await db.dispose()


async def test_a_bad_database_url_stops_the_worker_naming_it(tmp_path):
    code, out = await start_worker("postgresql://u:secret@127.0.0.1:1/records", tmp_path)
    assert code == 2 and "refusing to start: the records database" in out and "secret" not in out
    code, out = await start_worker("oracle://x/y", tmp_path)
    assert code == 2 and "ONBOARDING_DATABASE_URL: unsupported database 'oracle'" in out


async def test_the_http_service_migrates_at_start(records_url, tmp_path):
    settings = settings_for("127.0.0.1:1", onboarding_database_url=records_url, onboarding_data_dir=tmp_path)
    app = create_app(settings)
    async with serve(app):
        assert await migrate.current(app.state.records.engine) == migrate.head()
