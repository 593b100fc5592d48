"""`onboarding db ...` and `onboarding tasks`: the records from the command line.

    onboarding db upgrade            apply pending migrations (what the worker does at start)
    onboarding db status             schema revision and the delivery ledger's counts
    onboarding tasks [--open] [--owner ID] [--deal ID] [--json]

The database is ONBOARDING_DATABASE_URL, or the SQLite file under ONBOARDING_DATA_DIR
(default .data/onboarding.sqlite3); `--database-url` overrides both."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TextIO

import structlog
from sqlalchemy.exc import SQLAlchemyError

from contracts.escalations import EscalationTaskRecord
from records import migrate
from records.config import DatabaseUrlError, describe
from records.database import Database
from records.ledger import DeliveryLedger
from records.tasks import TaskStore


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def database_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--database-url",
            default=None,
            help="records database (default: ONBOARDING_DATABASE_URL, else SQLite under ONBOARDING_DATA_DIR)",
        )
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="data dir for the SQLite default (default: ONBOARDING_DATA_DIR or .data)",
        )

    db = commands.add_parser(
        "db",
        help="the records database: migrations and status",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = db.add_subparsers(dest="db_command", required=True)
    database_options(actions.add_parser("upgrade", help="apply pending migrations (idempotent)"))
    database_options(actions.add_parser("status", help="schema revision and delivery counts"))

    tasks = commands.add_parser(
        "tasks",
        help="escalation tasks, newest first",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tasks.add_argument("--open", action="store_true", help="only tasks nobody has closed yet")
    tasks.add_argument("--owner", default=None, help="only tasks assigned to this person (roster id, e.g. maya)")
    tasks.add_argument("--deal", default=None, help="only this deal's tasks (e.g. D-1001)")
    tasks.add_argument("--limit", type=int, default=200, help="at most this many (default 200)")
    tasks.add_argument("--json", action="store_true", help="JSON lines for machines")
    database_options(tasks)


def database_for(args: argparse.Namespace) -> Database:
    url = args.database_url if args.database_url is not None else os.environ.get("ONBOARDING_DATABASE_URL")
    data_dir = args.data_dir or Path(os.environ.get("ONBOARDING_DATA_DIR") or ".data")
    return Database.from_settings(url, data_dir)


async def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    # The command's output is the answer; the records' own info lines would only clutter it.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        db = database_for(args)
    except DatabaseUrlError as exc:
        print(f"error: {exc}", file=err)
        return 2
    try:
        command: Callable[[Database, argparse.Namespace, TextIO], Awaitable[None]]
        command = {"db": _db, "tasks": _tasks}[args.command]
        await command(db, args, out)
        return 0
    except (OSError, SQLAlchemyError) as exc:
        print(f"error: the records database {describe(db.url)} is not usable: {exc}", file=err)
        return 2
    finally:
        await db.dispose()


async def _db(db: Database, args: argparse.Namespace, out: TextIO) -> None:
    if args.db_command == "upgrade":
        before = await migrate.current(db.engine)
        after = await migrate.upgrade(db.engine)
        change = "already at" if before == after else f"upgraded from {before or 'an empty database'} to"
        print(f"{describe(db.url)}: {change} revision {after}", file=out)
        return
    current = await migrate.current(db.engine)
    print(f"database: {describe(db.url)}", file=out)
    print(f"revision: {current or 'none'} (newest: {migrate.head()})", file=out)
    if current == migrate.head():
        counts = await DeliveryLedger(db).counts()
        print("deliveries: " + ", ".join(f"{k} {v}" for k, v in counts.model_dump().items()), file=out)


COLUMNS: list[tuple[str, Callable[[EscalationTaskRecord], object]]] = [
    ("task", lambda t: t.id), ("deal", lambda t: t.deal_id), ("account", lambda t: t.account_name),
    ("milestone", lambda t: t.milestone), ("level", lambda t: f"{t.level} {t.level_name}"),
    ("assignee", lambda t: t.assignee), ("status", lambda t: t.status.value),
    ("decision", lambda t: t.decision or ""), ("by", lambda t: t.closed_by or ""),
    ("opened", lambda t: t.created_at.strftime("%Y-%m-%d %H:%M")),
    ("closed", lambda t: t.closed_at.strftime("%Y-%m-%d %H:%M") if t.closed_at else ""),
    ("reason", lambda t: t.reason if len(t.reason) <= 60 else t.reason[:59] + "…"),
]  # fmt: skip


def table(tasks: Sequence[EscalationTaskRecord]) -> str:
    rows = [[name for name, _ in COLUMNS]] + [[str(get(t)) for _, get in COLUMNS] for t in tasks]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


async def _tasks(db: Database, args: argparse.Namespace, out: TextIO) -> None:
    tasks = await TaskStore(db).list(open_only=args.open, owner=args.owner, deal=args.deal, limit=args.limit)
    if args.json:
        for task in tasks:
            print(json.dumps(task.model_dump(mode="json")), file=out)
        return
    if not tasks:
        print("no escalation tasks match", file=out)
        return
    print(table(tasks), file=out)
