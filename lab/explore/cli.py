"""`onboarding explore`: generated journeys against the journey's promises.

Exit codes: 0 every promise held; 1 a promise broke (the broken promise, the step, and the
persona file that replays it are printed); 2 bad input (playbook, roster, arguments)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lab.errors import LabError
from playbooks.loader import PlaybookError

HELP = """Generate whole journeys (the deal, the customer, owners and staff, the playbook), walk
each through the real journey workflow in virtual time, and check the journey's promises after
every step and at the end (docs/lab.md, "The explorer's contract"). A broken promise is shrunk
to one minimal journey, printed and written as a persona file (and its playbook) that
`onboarding simulate` walks again. Nothing is sent to anyone."""


def add_command(commands: argparse._SubParsersAction) -> None:
    cmd = commands.add_parser(
        "explore",
        help="generated journeys against the journey's promises (the journey explorer)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("--examples", type=int, default=200, help="journeys to generate and walk (default 200)")
    cmd.add_argument("--seed", type=int, default=0, help="the generator's seed: the same seed walks the same journeys")
    cmd.add_argument(
        "--playbook", type=Path, help="the playbook to start from and vary (default: playbooks/default.yaml)"
    )
    cmd.add_argument("--roster", type=Path, help="owner roster (default: ONBOARDING_ROSTER or owners/owners.yaml)")
    cmd.add_argument(
        "--out",
        type=Path,
        default=Path("explore-findings"),
        help="where a failing persona is written (default ./explore-findings)",
    )
    cmd.add_argument(
        "--tolerate",
        type=int,
        action="append",
        default=[],
        metavar="PROMISE",
        help="count breaches of this promise (1-9) without failing on them; repeatable",
    )
    cmd.add_argument("--batch", type=int, default=12, help="journeys walked side by side in one lab (default 12)")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.ERROR)
    from lab.explore.run import explore
    from lab.explore.scenario import SHIPPED_PLAYBOOK
    from owners.roster import load_roster

    bad = [p for p in args.tolerate if not 1 <= p <= 9]
    if args.examples < 1 or args.batch < 1 or bad:
        print(
            "explore: --examples and --batch are at least 1; --tolerate takes a promise 1-9",
            file=sys.stderr,
        )
        return 2
    try:
        roster = load_roster(args.roster)
        result = explore(
            args.examples,
            args.seed,
            roster,
            playbook=args.playbook or SHIPPED_PLAYBOOK,
            out=args.out,
            skip=args.tolerate,
            batch=args.batch,
            progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True),
        )
    except (LabError, PlaybookError) as err:
        print(f"explore: {err}", file=sys.stderr)
        return 2
    print(
        f"explored {result.generated} journeys in {result.batches} batches, {result.seconds:.0f} s "
        f"({result.journeys} walks with shrinking); seed {args.seed}"
    )
    if result.stalled:
        print(
            f"{len(result.stalled)} journey(s) stopped the test server's clock every time they walked, with no "
            f"failed workflow task: not walked, not judged; their personas are in {args.out / 'stalled'}"
        )
    for promise, n in sorted(result.tolerated.items()):
        print(f"tolerated: promise {promise} broken in {n} place(s) (--tolerate {promise})")
    if result.finding is None:
        print("every promise held")
        return 0
    finding = result.finding
    for broken in finding.broken:
        print(f"BROKEN {broken}")
    if finding.written is not None:
        print(f"\npersona: {finding.written.persona}\nreplay:  {finding.written.command}\n")
        print(finding.written.text)
    return 1
