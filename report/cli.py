"""`onboarding report`: the friction report from the journeys' moments.

    onboarding report [--out report.html] [--json FILE] [--csv FILE]
                      [--since DATE] [--until DATE] [--segment S] [--product P]
                      [--playbook NAME] [--owner ID]

Reads the records database (ONBOARDING_DATABASE_URL, or the SQLite file under
ONBOARDING_DATA_DIR); the journeys are those started in [--since, --until). Targets come from
the playbook files (ONBOARDING_PLAYBOOKS_DIR). Links go to TEMPORAL_UI_URL (default
http://localhost:8233), namespace TEMPORAL_NAMESPACE (default `default`). `-` as a file
writes to standard output."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from records.cli import database_for
from records.config import DatabaseUrlError, describe
from records.database import Database
from report import compute, csv_out, page, query
from report.journeys import fold
from report.links import Links
from report.models import Filters, Report


def add_command(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report",
        help="the friction report (HTML, JSON, CSV) from the journeys' moments",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("--out", default="report.html", help="the HTML page (default report.html; '' for none)")
    report.add_argument("--json", default=None, help="also write the figures as JSON")
    report.add_argument("--csv", default=None, help="also write the figures as CSV")
    report.add_argument(
        "--since", default=None, help="journeys started at or after (ISO date or time, UTC unless given)"
    )
    report.add_argument("--until", default=None, help="journeys started before (ISO date or time)")
    report.add_argument("--segment", default=None)
    report.add_argument("--product", default=None)
    report.add_argument("--playbook", default=None, help="playbook name")
    report.add_argument("--owner", default=None, help="journeys this owner (roster id) held")
    report.add_argument("--now", default=None, help="the time 'waiting now' is measured at (default: now)")
    report.add_argument(
        "--playbooks-dir",
        type=Path,
        default=None,
        help="playbook files for the targets (default: ONBOARDING_PLAYBOOKS_DIR)",
    )
    report.add_argument("--ui-url", default=os.environ.get("TEMPORAL_UI_URL", "http://localhost:8233"))
    report.add_argument("--namespace", default=os.environ.get("TEMPORAL_NAMESPACE", "default"))
    report.add_argument(
        "--database-url",
        default=None,
        help="records database (default: ONBOARDING_DATABASE_URL, else SQLite under ONBOARDING_DATA_DIR)",
    )
    report.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="data dir for the SQLite default (default: ONBOARDING_DATA_DIR or .data)",
    )


def clock() -> datetime:
    """The generation time the page and the JSON show."""
    return datetime.now(UTC)


def _when(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--{field}: {value!r} is not an ISO date or time (e.g. 2026-11-02 or 2026-11-02T09:00+01:00)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def build(
    db: Database, filters: Filters, *, links: Links, now: datetime, playbooks_dir: Path | None = None
) -> Report:
    moments = await query.count(db, filters)
    assignees = await query.assignees(db, filters)
    return await compute.build(
        fold(query.moment_rows(db, filters)),
        moments=moments,
        filters=filters,
        targets=compute.read_targets(playbooks_dir),
        links=links,
        now=now,
        generated_at=clock(),
        assignees=assignees,
    )


def _open(path: str, out: TextIO):
    return _Stdout(out) if path == "-" else open(path, "w", encoding="utf-8", newline="")


class _Stdout:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __enter__(self) -> TextIO:
        return self.out

    def __exit__(self, *_: object) -> None:
        self.out.flush()


async def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        filters = Filters(
            since=_when(args.since, "since"),
            until=_when(args.until, "until"),
            segment=args.segment,
            product=args.product,
            playbook=args.playbook,
            owner=args.owner,
        )
        now = _when(args.now, "now") or datetime.now(UTC)
        db = database_for(args)
    except (ValueError, ValidationError, DatabaseUrlError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    started = time.perf_counter()
    try:
        report = await build(
            db, filters, links=Links(args.ui_url, args.namespace), now=now, playbooks_dir=args.playbooks_dir
        )
    except (OSError, SQLAlchemyError) as exc:
        print(f"error: the records database {describe(db.url)} is not usable: {exc}", file=err)
        return 2
    finally:
        await db.dispose()
    written = []
    if args.json:
        with _open(args.json, out) as f:
            f.write(report.model_dump_json(indent=2) + "\n")
        written.append(args.json)
    if args.csv:
        with _open(args.csv, out) as f:
            csv_out.write(report, f)
        written.append(args.csv)
    if args.out:
        with _open(args.out, out) as f:
            f.write(page.render(report))
        written.append(args.out)
    print(
        f"{report.journeys.n} journeys, {report.moments} moments in {time.perf_counter() - started:.1f} s; wrote "
        + (", ".join(w for w in written if w != "-") or "nothing"),
        file=err,
    )
    return 0
