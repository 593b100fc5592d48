"""`onboarding db upgrade|status` and `onboarding tasks`, run as the console script, on both
engines."""

from __future__ import annotations

import asyncio
import json
import os
import sysconfig
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.escalations import CloseEscalationTask, TaskOpening
from records import migrate
from records.database import Database
from records.tasks import TaskStore

ONBOARDING = Path(sysconfig.get_path("scripts")) / "onboarding"
AT = datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC)


async def onboarding(*args: str, url: str, tmp_path: Path) -> tuple[int, str, str]:
    env = {**os.environ, "ONBOARDING_DATABASE_URL": url, "ONBOARDING_DATA_DIR": str(tmp_path / "unused")}
    proc = await asyncio.create_subprocess_exec(
        str(ONBOARDING), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


def opening(deal: str, escalation: int, assignee: str, level: int = 1, **kw) -> TaskOpening:
    values = dict(
        workflow_id=f"onboarding-{deal}",
        escalation=escalation,
        deal_id=deal,
        account_name=f"{deal} Inc",
        milestone="first_action",
        level=level,
        level_name="owner",
        assignee=assignee,
        assignee_name=assignee.title(),
        reason="customer asked for help: SSO",
        at=AT + timedelta(hours=escalation),
    )
    values.update(kw)
    return TaskOpening.model_validate(values)


async def test_db_upgrade_fresh_then_again_then_status(records_url, tmp_path):
    code, out, err = await onboarding("db", "upgrade", url=records_url, tmp_path=tmp_path)
    assert code == 0, err
    assert f"upgraded from an empty database to revision {migrate.head()}" in out
    code, out, _ = await onboarding("db", "upgrade", url=records_url, tmp_path=tmp_path)
    assert code == 0 and f"already at revision {migrate.head()}" in out
    code, out, _ = await onboarding("db", "status", url=records_url, tmp_path=tmp_path)
    assert code == 0 and f"revision: {migrate.head()}" in out and "unknown_outcomes 0" in out
    assert "password" not in out and not (tmp_path / "unused").exists()


async def test_db_upgrade_from_revision_1(records_url, tmp_path):
    db = Database.from_settings(records_url, tmp_path)
    await migrate.upgrade(db.engine, "0001")
    await db.dispose()
    code, out, err = await onboarding("db", "upgrade", url=records_url, tmp_path=tmp_path)
    assert code == 0, err
    assert f"upgraded from 0001 to revision {migrate.head()}" in out


async def test_tasks_lists_filters_and_prints_json(records_db, records_url, tmp_path):
    store = TaskStore(records_db)
    await store.open(opening("D-1", 1, "maya"))
    await store.open(opening("D-1", 2, "maya"))
    await store.open(opening("D-2", 1, "maya"))
    await store.open(opening("D-3", 1, "leo"))
    await store.open(opening("D-3", 1, "dana", level=2, level_name="manager"))
    await store.close(
        CloseEscalationTask(
            key="onboarding-D-1:escalation-1",
            outcome="resolved",
            decision="skip",
            by="maya",
            note="done offline",
            at=AT + timedelta(days=1),
        )
    )

    code, out, err = await onboarding(
        "tasks", "--open", "--owner", "maya", "--deal", "D-1", url=records_url, tmp_path=tmp_path
    )
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split() == [
        "task",
        "deal",
        "account",
        "milestone",
        "level",
        "assignee",
        "status",
        "decision",
        "by",
        "opened",
        "closed",
        "reason",
    ]
    assert len(rows) == 1 and rows[0].startswith("onboarding-D-1:escalation-2 ") and " open " in rows[0]

    code, out, _ = await onboarding("tasks", "--json", url=records_url, tmp_path=tmp_path)
    tasks = [json.loads(line) for line in out.splitlines()]
    assert [t["id"] for t in tasks] == [  # newest first
        "onboarding-D-1:escalation-2",
        "onboarding-D-1:escalation-1",
        "onboarding-D-2:escalation-1",
        "onboarding-D-3:escalation-1",
    ]
    resolved = next(t for t in tasks if t["id"] == "onboarding-D-1:escalation-1")
    assert (resolved["status"], resolved["decision"], resolved["closed_by"], resolved["note"]) == (
        "resolved",
        "skip",
        "maya",
        "done offline",
    )
    moved = next(t for t in tasks if t["id"] == "onboarding-D-3:escalation-1")
    assert (moved["level"], moved["level_name"], moved["assignee"]) == (2, "manager", "dana")

    code, out, _ = await onboarding("tasks", "--owner", "leo", url=records_url, tmp_path=tmp_path)
    assert code == 0 and out.strip() == "no escalation tasks match"  # moved up to dana


async def test_bad_database_url_is_refused_naming_the_variable(tmp_path):
    code, out, err = await onboarding("tasks", url="mysql://u:secret@h/db", tmp_path=tmp_path)
    assert code == 2 and "ONBOARDING_DATABASE_URL" in err and "secret" not in err + out
    code, out, err = await onboarding("db", "status", url="postgresql://u:secret@127.0.0.1:1/db", tmp_path=tmp_path)
    assert code == 2 and "not usable" in err and "secret" not in err + out
