"""`onboarding simulate` and `onboarding backtest`: the journey lab's commands.

Exit codes: 0 done; 1 `--check` found an expectation that does not hold, a stuck walk
among them (or a backtest could not replay a journey); 2 bad input (persona, deal, playbook, roster, arguments) or
Temporal unreachable, and nothing ran."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from lab.arguments import duration, moment
from lab.errors import LabError
from playbooks.loader import PlaybookError
from runtime.arguments import add_server_arguments

SIMULATE_HELP = """Walk personas through a playbook on the real journey workflow, in virtual time:
each persona's timeline (every message with its subject, its one call to action and its
recipient; owner tasks; escalations and their level; state changes) in the customer's
local time and UTC, its outcome, and its expectations. Nothing is sent to anyone."""


def add_simulate(commands: argparse._SubParsersAction) -> None:
    sim = commands.add_parser(
        "simulate",
        help="walk personas through a playbook in virtual time (the journey lab)",
        description=SIMULATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sim.add_argument(
        "personas",
        nargs="*",
        type=Path,
        help="persona files or folders (default: each playbook's own, personas/<playbook name>/ beside the playbooks)",
    )
    sim.add_argument(
        "--playbook",
        type=Path,
        help="the playbook file to walk, with the personas of the playbook of its name (default: every playbook "
        "with its own personas; personas given by hand: the playbook each one's deal selects)",
    )
    sim.add_argument(
        "--playbooks",
        type=Path,
        help="folder to select playbooks from (default: ONBOARDING_PLAYBOOKS_DIR or playbooks/)",
    )
    sim.add_argument("--roster", type=Path, help="owner roster (default: ONBOARDING_ROSTER or owners/owners.yaml)")
    sim.add_argument("--deal", type=Path, help="a deal (JSON or YAML, the deal-closed body) every persona starts from")
    sim.add_argument("--segment", help="the deal's segment")
    sim.add_argument("--product", help="the deal's product")
    sim.add_argument("--amount", type=float, help="the deal's amount")
    sim.add_argument("--timezone", help="the customer's IANA time zone")
    sim.add_argument(
        "--closed-at",
        type=moment,
        help="when the deal closes (ISO 8601 with offset; its weekday and local time are kept)",
    )
    sim.add_argument(
        "--variant",
        action="append",
        metavar="NAME",
        help="walk this variant of the playbook's experiment (repeat for several; 'all': every variant); "
        "default: every variant side by side, or the playbook as written when it declares none",
    )
    sim.add_argument("--horizon", type=duration, help="how long to follow each journey (default: the persona's, 30d)")
    sim.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when an expectation does not hold, naming persona, expectation and what happened",
    )
    sim.add_argument("--json", action="store_true", help="print the whole result as JSON")
    sim.add_argument("--html", type=Path, help="write one self-contained page with a swimlane timeline per persona")
    sim.add_argument("--summary", action="store_true", help="print only the table across personas")
    sim.add_argument(
        "--stall-seconds",
        type=float,
        default=None,
        help="real seconds the lab's clock may stand still before the walk holding it is abandoned and "
        "reported stuck (default 120)",
    )


BACKTEST_HELP = """Replay what real customers did through a candidate playbook: histories stream from
the Temporal service (listed page by page, fetched --jobs at a time); each journey's
behaviour (product signals and staff updates, at their times after the start) is played
through the candidate on the real journey workflow in virtual time, and the two paths are
compared. A counterfactual: customers told differently might have acted differently.
Without --playbook each journey replays on the playbook it really ran (no difference
expected: a check of the lab itself)."""


def add_backtest(commands: argparse._SubParsersAction) -> None:
    bt = commands.add_parser(
        "backtest",
        help="replay real journeys' behaviour through a candidate playbook (the journey lab)",
        description=BACKTEST_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_server_arguments(bt)
    bt.add_argument("--query", default=None, help="visibility query (default: journeys started in the last 90 days)")
    bt.add_argument("--playbook", type=Path, help="the candidate playbook (default: each journey's own, unchanged)")
    bt.add_argument(
        "--roster", type=Path, help="owner roster for owners the candidate assigns that the journey never had"
    )
    bt.add_argument("--jobs", type=int, default=4, help="journeys fetched and replayed at once (default 4)")
    bt.add_argument(
        "--tolerance", default="1m", help="a message moved by less than this is the same message (default 1m)"
    )
    bt.add_argument("--json", action="store_true", help="one JSON line per journey that differs, then the totals")
    bt.add_argument("--all", action="store_true", help="show every journey, not only those that differ")
    bt.add_argument(
        "--progress-every", type=float, default=2.0, help="seconds between progress lines on stderr (default 2)"
    )
    bt.add_argument(
        "--stall-seconds",
        type=float,
        default=None,
        help="real seconds the lab's clock may stand still before the replay holding it is abandoned and "
        "reported stuck (default 120)",
    )


async def simulate_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lab import report as text  # the lab's heavier imports load only when used
    from lab.deals import DealFlags, read_deal
    from lab.owned import own_personas, plan_own
    from lab.personas import load_personas
    from lab.runtime import STALL_SECONDS
    from lab.simulate import plan, simulate
    from owners.roster import load_roster
    from playbooks import loader

    try:
        if args.stall_seconds is not None and args.stall_seconds <= 0:
            raise LabError(f"--stall-seconds: more than 0 seconds, got {args.stall_seconds:g}")
        roster = load_roster(args.roster)
        base = read_deal(args.deal) if args.deal else None
        flags = DealFlags(
            segment=args.segment,
            product=args.product,
            amount=args.amount,
            timezone=args.timezone,
            closed_at=args.closed_at,
        )
        if args.personas:  # personas given by hand: each on --playbook, or the one its deal selects
            plans = plan(
                load_personas(args.personas),
                playbook=args.playbook,
                playbooks_dir=args.playbooks,
                base_deal=base,
                flags=flags,
                horizon_seconds=args.horizon,
                all_personas=False,
                variant=args.variant,
            )
        else:  # each playbook (or --playbook) with its own personas
            plans = plan_own(
                own_personas(args.playbooks, args.playbook),
                base_deal=base,
                flags=flags,
                horizon_seconds=args.horizon,
                variant=args.variant,
                selection=None if args.playbook else loader.load_all(args.playbooks),
            )
    except (LabError, PlaybookError, ValidationError) as exc:
        print(f"simulate: {exc}", file=err)
        return 2
    arms = {p.variant for p in plans if p.variant}
    each = f" x {len(arms)} variant(s): {len(plans)} journeys" if arms else ""
    print(f"walking {len({p.file.path for p in plans})} persona(s){each} in virtual time...", file=err, flush=True)
    try:
        report = await simulate(
            plans,
            roster,
            progress=lambda line: print(f"  {line}", file=err, flush=True),
            stall_seconds=args.stall_seconds or STALL_SECONDS,
        )
    except LabError as exc:  # no time-skipping test server to walk on
        print(f"simulate: {exc}", file=err)
        return 2
    if args.json:
        print(json.dumps(report.model_dump(mode="json"), indent=2), file=out)
    else:
        if not args.summary:
            for persona in report.personas:
                text.write_persona(persona, out)
        text.write_summary(report, out)
    if args.html:
        from lab import html

        html.write(report, args.html)
        print(f"wrote {args.html}", file=err)
    if args.check and report.failed:
        print(f"\n{len(report.failed)} expectation(s) do not hold:", file=err)
        text.write_failures(report, err)
        return 1
    if args.check:
        print(f"all {sum(len(p.verdicts) for p in report.personas)} expectations hold", file=err)
    return 0


def add_command(commands: argparse._SubParsersAction) -> None:
    add_simulate(commands)
    add_backtest(commands)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    if args.command == "simulate":
        return asyncio.run(simulate_command(args, sys.stdout, sys.stderr))
    from lab.backtest import backtest_command

    return asyncio.run(backtest_command(args, sys.stdout, sys.stderr))
