"""`onboarding personas --from-history`: personas learned from real customers.

    onboarding personas --from-history DIR [--out DIR] [--max-personas N]
    onboarding personas --from-history --namespace NS [--address HOST:PORT] [--query Q]
    onboarding personas --from-history --records URL [--playbooks DIR]

Exit codes: 0 done; 1 no journey could be read; 2 bad arguments, a persona set that does
not validate, Temporal or the records unreachable."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import structlog
from pydantic import BaseModel, Field, ValidationError, computed_field
from temporalio.service import RPCError

from lab.errors import LabError
from lab.learn.grouping import group
from lab.learn.observed import Observed
from lab.learn.resemblance import Resembling, Uncovered, Walked, resemblance, walk
from lab.learn.signature import Signature
from lab.learn.write import LEARNED_HEADER, persona_for
from playbooks.loader import PlaybookError

HELP = """Read recorded journeys (exported history files, the Temporal service, or the records'
moments), group the customers by what they did per milestone (when they acted: in the
first window, after the clarify, simplify or redirect, after a human, never; whether they
failed or asked for help first), and write a persona file per group with the share of
customers it stands for. Then walk the shipped personas in the lab and say which share of
the real journeys resembles each, and which behaviours none of them covers."""


class LearnedGroup(BaseModel):
    name: str
    file: str
    journeys: int
    share: float
    signature: Signature
    members: list[str]
    absorbed: list[Signature] = Field(default_factory=list)
    walked: Signature | None = None  # the written persona, walked in the lab
    not_walked: str = ""  # why it could not be walked (its deal selects no playbook here, ...)

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented use on a property
    @property
    def reproduces(self) -> bool:
        return self.walked == self.signature


class Learning(BaseModel):
    source: str
    journeys: int
    problems: list[str] = Field(default_factory=list)
    learned: list[LearnedGroup] = Field(default_factory=list)
    shipped: list[Resembling] = Field(default_factory=list)
    uncovered: list[Uncovered] = Field(default_factory=list)

    @property
    def uncovered_journeys(self) -> int:
        return sum(u.journeys for u in self.uncovered)


def add_command(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "personas",
        help="learn personas from real customers' journeys; compare them with the shipped set (the journey lab)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--from-history",
        nargs="?",
        const="",
        metavar="DIR",
        required=True,
        help="read recorded journeys: a folder of exported history files (JSON), or, without DIR, "
        "the Temporal service (--namespace/--address) or the records (--records)",
    )
    p.add_argument("--address", default=None, help="Temporal frontend host:port (default: TEMPORAL_ADDRESS)")
    p.add_argument("--namespace", default=None, help="namespace (default: TEMPORAL_NAMESPACE or default)")
    p.add_argument("--query", default=None, help="visibility query (default: journeys started in the last 90 days)")
    p.add_argument("--jobs", type=int, default=4, help="histories fetched at once (default 4)")
    p.add_argument("--records", metavar="URL", help="the records database (sqlite:///file or postgresql://...)")
    p.add_argument("--out", type=Path, default=Path("learned-personas"), help="folder for the persona files")
    p.add_argument("--max-personas", type=int, default=5, help="at most this many personas (default 5)")
    p.add_argument(
        "--personas", type=Path, default=None, help="the persona set to compare with (default: the shipped one)"
    )
    p.add_argument(
        "--playbooks",
        type=Path,
        default=None,
        help="playbook files: the personas' walks, and the records' journeys by name "
        "(default: ONBOARDING_PLAYBOOKS_DIR or playbooks/)",
    )
    p.add_argument("--roster", type=Path, help="owner roster for the lab (default: ONBOARDING_ROSTER)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


async def read_source(args: argparse.Namespace, problems: list[str], err: TextIO) -> tuple[str, list[Observed]]:
    live = args.namespace is not None or args.address is not None
    chosen = [bool(args.from_history), live, args.records is not None]
    if sum(chosen) != 1:
        raise LabError(
            "--from-history: give one source: a folder of history files, --namespace/--address, or --records URL"
        )
    if args.from_history:
        from lab.learn.sources import file_journeys, observe_journeys

        folder = Path(args.from_history)
        if not folder.exists():
            raise LabError(f"--from-history: {folder} does not exist")
        return f"history files in {folder}", await observe_journeys(
            file_journeys(folder), read_at=None, problems=problems
        )
    if args.records is not None:
        from lab.learn.from_moments import observe_records

        return "the records' moments", await observe_records(args.records, args.playbooks, problems)
    from lab.backtest import default_query
    from lab.learn.sources import observe_journeys, server_journeys
    from runtime.client import connect

    if args.jobs < 1:
        raise LabError("--jobs: at least 1")
    try:
        client = await connect(args.address, args.namespace)
    except Exception as exc:
        raise LabError(f"cannot connect to Temporal: {exc}") from None
    query = args.query or default_query()
    skipped: list[str] = []
    observed = await observe_journeys(
        server_journeys(client, query, args.jobs, skipped), read_at=datetime.now(UTC), problems=problems
    )
    if skipped:
        print(f"{len(skipped)} journeys were gone before they could be fetched", file=err)
    return f"namespace {client.namespace} ({query})", observed


async def learn(args: argparse.Namespace, err: TextIO) -> Learning:
    from lab.personas import load_persona, load_personas
    from lab.runtime import Lab
    from owners.roster import load_roster

    if args.max_personas < 1:
        raise LabError("--max-personas: at least 1")
    shipped_files = load_personas([args.personas] if args.personas else None)
    roster = load_roster(args.roster)
    problems: list[str] = []
    source, observed = await read_source(args, problems, err)
    result = Learning(source=source, journeys=len(observed), problems=problems)
    if not observed:
        return result
    print(f"read {len(observed)} journeys from {source}; grouping...", file=err, flush=True)
    groups = group(observed, args.max_personas)
    args.out.mkdir(parents=True, exist_ok=True)
    for earlier in args.out.glob("*.yaml"):  # a previous run's personas would be walked with these
        if earlier.read_text(errors="replace").startswith(LEARNED_HEADER):
            earlier.unlink()
    written = []
    for g in groups:
        learned = persona_for(g, len(observed))
        path = args.out / f"{learned.name}.yaml"
        path.write_text(learned.text())
        written.append(load_persona(path))
        result.learned.append(
            LearnedGroup(
                name=g.name,
                file=str(path),
                journeys=len(g.members),
                share=len(g.members) / len(observed),
                signature=g.signature,
                members=sorted(o.workflow_id for o in g.members),
                absorbed=g.absorbed,
            )
        )
    print(f"walking {len(shipped_files)} shipped and {len(written)} learned personas in virtual time...", file=err)
    async with Lab.open(roster) as lab:
        shipped_walks: list[Walked] = await walk(shipped_files, lab, playbooks_dir=args.playbooks)
        not_walked: dict[str, str] = {}
        learned_walks = {w.persona: w.signature for w in await walk(written, lab, not_walked, args.playbooks)}
    for item in result.learned:
        item.walked = learned_walks.get(item.name)
        item.not_walked = not_walked.get(item.name, "")
    result.shipped, result.uncovered = resemblance(observed, shipped_walks)
    return result


def share(part: float) -> str:
    return f"{part:>4.0%}"


def write_text(r: Learning, out: TextIO, folder: Path) -> None:
    print(f"{r.journeys} journeys read from {r.source}", file=out)
    for problem in r.problems:
        print(f"  not read: {problem}", file=out)
    if not r.learned:
        return
    print(f"\n{len(r.learned)} personas learned, written to {folder}/:", file=out)
    print(f"  {'share':>5}  {'journeys':>8}  {'persona':<40}  behaviour", file=out)
    for g in r.learned:
        print(f"  {share(g.share):>5}  {g.journeys:>8}  {g.name:<40}  {g.signature}", file=out)
        if g.absorbed:
            print(f"  {'':>5}  {'':>8}  {'':<40}  also: {'; '.join(map(str, g.absorbed))}", file=out)
        if g.walked is not None and not g.reproduces:
            print(f"  {'':>5}  {'':>8}  {'':<40}  walked in the lab it behaves: {g.walked}", file=out)
        if g.not_walked:
            print(f"  {'':>5}  {'':>8}  {'':<40}  not walked: {g.not_walked}", file=out)
    held = sum(g.reproduces for g in r.learned)
    print(f"  walked in the lab, {held} of {len(r.learned)} behave as their group", file=out)
    print("\nshipped personas, walked in the lab: the share of real journeys that behave the same", file=out)
    print(f"  {'share':>5}  {'journeys':>8}  {'persona':<40}  behaviour", file=out)
    for s in r.shipped:
        print(f"  {share(s.share):>5}  {s.journeys:>8}  {s.persona:<40}  {s.signature}", file=out)
    n = r.uncovered_journeys
    print(f"\nno shipped persona behaves like {n} of {r.journeys} journeys ({n / r.journeys:.0%}):", file=out)
    for u in r.uncovered:
        near = f"  (nearest: {u.nearest}, {u.distance} apart)" if u.nearest else ""
        print(f"  {share(u.share):>5}  {u.journeys:>8}  {u.name:<40}  {u.signature}{near}", file=out)


async def personas_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        result = await learn(args, err)
    except (LabError, PlaybookError, ValidationError) as exc:
        print(f"personas: {exc}", file=err)
        return 2
    except (RPCError, ExceptionGroup) as exc:
        print(f"personas: listing or fetching histories failed: {exc!r}", file=err)
        return 2
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2), file=out)
    else:
        write_text(result, out, args.out)
    return 0 if result.journeys else 1


def run(args: argparse.Namespace) -> int:
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    # The command's output is the answer; the records' own info lines would only clutter it.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return asyncio.run(personas_command(args, sys.stdout, sys.stderr))
