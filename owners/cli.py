"""`onboarding roster-sync`: bring the owner roster in line with the journeys that run
(owners/sync.py says what it repairs and when to run it)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Coroutine
from typing import Any, TextIO

from playbooks.loader import PlaybookError
from runtime.arguments import add_server_arguments
from runtime.client import connect


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sync = commands.add_parser(
        "roster-sync",
        help="count running journeys in the owner roster, free places of ended ones",
        description=roster_sync_doc(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_server_arguments(sync)
    sync.add_argument("--task-queue", default="onboarding", help="the journeys' task queue (default: onboarding)")
    sync.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")


def run(args: argparse.Namespace) -> Coroutine[Any, Any, int]:
    return roster_sync_command(args)


def roster_sync_doc() -> str:
    from owners import sync as roster_sync  # keeps `onboarding --help` fast

    return roster_sync.__doc__ or ""


async def roster_sync_command(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from owners.roster import load_roster
    from owners.sync import sync_roster

    try:
        roster = load_roster()
    except PlaybookError as exc:
        print(f"cannot read the roster: {exc}", file=err)
        return 2
    try:
        client = await connect(args.address, args.namespace)
    except Exception as exc:  # any connection problem is reported the same way
        print(f"cannot connect to Temporal: {exc}", file=err)
        return 2
    report = await sync_roster(client, roster, args.task_queue, dry_run=args.dry_run)
    for journey_id, owner in sorted(report.added.items()):
        print(f"added     {journey_id} -> {owner}", file=out)
    for journey_id, owner in sorted(report.released.items()):
        print(f"released  {journey_id} (was {owner})", file=out)
    for journey_id, why in sorted(report.skipped.items()):
        print(f"skipped   {journey_id}: {why}", file=out)
    print(("dry run, nothing changed: " if args.dry_run else "") + report.summary(), file=out)
    return 0
