"""`onboarding backtest`: replay what real customers did through a candidate playbook.

    onboarding backtest [--address HOST:PORT] [--namespace NS] [--query Q] [--playbook FILE] [--jobs N]

Histories stream from the Temporal service (listed page by page, fetched `--jobs` at a
time, at most 2 x `--jobs` waiting in memory); each journey's behaviour is read out of its
history and played, at the same times after the start, through the candidate playbook on
the real journey workflow in virtual time; the two paths are compared and only running
counts are kept. Without `--playbook` each journey replays on the playbook it really ran,
which shows what the lab reproduces (no difference expected).

Exit codes: 0 done; 1 some journeys could not be replayed; 2 bad arguments, a playbook
that does not validate, or Temporal unreachable."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from contracts.playbook import PlaybookSnapshot
from lab.arguments import duration
from lab.behaviour import behaviour_of
from lab.compare import COUNTERFACTUAL, JourneyDiff, Totals, compare, describe
from lab.errors import LabError
from lab.histories import WHERE_THE_KEY_IS, journey_runs, unreadable_key
from lab.record import read_journey
from lab.runtime import STALL_SECONDS, Lab
from owners.roster import Roster, load_roster
from playbooks import loader
from privacy.keys import FILE_VARIABLE, KEYS_VARIABLE, CodecConfigError

Journey = tuple[str, list[WorkflowHistory]]


def default_query(now: datetime | None = None, days: int = 90) -> str:
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    return f"WorkflowType = 'OnboardingWorkflow' AND StartTime > '{since:%Y-%m-%dT%H:%M:%SZ}'"


async def listed_journeys(client: Client, query: str, jobs: int, skipped: list[str]) -> AsyncIterator[Journey]:
    """Every journey matching `query`, each with all its runs, `jobs` fetched at once."""
    queue: asyncio.Queue[Journey | None] = asyncio.Queue(maxsize=2 * jobs)
    slots = asyncio.Semaphore(jobs)
    seen: set[str] = set()  # a journey that continued as new is listed once per run

    async def fetch(workflow_id: str, run_id: str) -> None:
        try:
            await queue.put((workflow_id, await journey_runs(client, workflow_id, run_id)))
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:
                raise
            skipped.append(workflow_id)
        finally:
            slots.release()

    async def produce() -> None:
        try:
            async with asyncio.TaskGroup() as group:
                async for execution in client.list_workflows(query, page_size=min(1000, 10 * jobs)):
                    if execution.id in seen:
                        continue
                    seen.add(execution.id)
                    await slots.acquire()
                    group.create_task(fetch(execution.id, execution.run_id))
        finally:
            await queue.put(None)

    producer = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not None:
            yield item
        await producer
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await producer


async def backtest(
    journeys: AsyncIterator[Journey],
    roster: Roster,
    *,
    candidate: Path | PlaybookSnapshot | None,
    jobs: int = 4,
    tolerance_seconds: float = 60.0,
    observed_at: datetime | None = None,
    on_diff=None,  # called with each JourneyDiff as it is ready
    lab: Lab | None = None,
    stall_seconds: float = STALL_SECONDS,
) -> Totals:
    """Replay every journey through the candidate; `jobs` walk at once on one lab. A replay
    that holds the lab's clock is abandoned and counted as a problem naming it; the rest go on."""
    totals = Totals()
    observed_at = observed_at or datetime.now(UTC)

    async def one(lab: Lab, workflow_id: str, runs: list[WorkflowHistory]) -> JourneyDiff:
        if (unreadable := unreadable_key(runs)) is not None:
            return JourneyDiff(workflow_id=workflow_id, problem=unreadable)
        try:
            before = read_journey(workflow_id, runs)
            behaviour = behaviour_of(before, runs, candidate=candidate, observed_at=observed_at)
            walked = await lab.walk(behaviour.script, behaviour.setup)
        except Exception as err:  # one journey that cannot replay does not stop the rest
            return JourneyDiff(workflow_id=workflow_id, problem=f"{type(err).__name__}: {err}")
        if walked.stuck:
            return JourneyDiff(workflow_id=workflow_id, problem=f"stuck: {walked.stuck}")
        return compare(workflow_id, before, walked.record, tolerance_seconds, behaviour.unplaced)

    async def run(lab: Lab) -> None:
        slots = asyncio.Semaphore(jobs)
        async with asyncio.TaskGroup() as group:
            async for workflow_id, runs in journeys:
                await slots.acquire()

                async def walk(wid: str = workflow_id, rs: list[WorkflowHistory] = runs) -> None:
                    try:
                        diff = await one(lab, wid, rs)
                        totals.add(diff)
                        if on_diff:
                            on_diff(diff)
                    finally:
                        slots.release()

                group.create_task(walk())

    if lab is not None:
        await run(lab)
    else:
        async with Lab.open(roster, stall_seconds=stall_seconds) as own:
            await run(own)
    return totals


# ------------------------------------------------------------------ the command


async def backtest_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from runtime.client import connect

    try:
        tolerance = duration(args.tolerance)
        candidate = loader.load_playbook(args.playbook) if args.playbook else None
        roster = load_roster(args.roster)
        if args.jobs < 1:
            raise LabError("--jobs: at least 1")
        if args.stall_seconds is not None and args.stall_seconds <= 0:
            raise LabError(f"--stall-seconds: more than 0 seconds, got {args.stall_seconds:g}")
    except (LabError, loader.PlaybookError, argparse.ArgumentTypeError) as exc:
        print(f"backtest: {exc}", file=err)
        return 2
    try:
        client = await connect(args.address, args.namespace)
    except CodecConfigError as exc:  # before connecting: the histories could not be read
        configured = any(os.environ.get(name, "").strip() for name in (KEYS_VARIABLE, FILE_VARIABLE))
        why = f"the key configured cannot be used ({exc})" if configured else "no key is configured"
        print(f"backtest: {why} to read the journeys' histories: {WHERE_THE_KEY_IS}", file=err)
        return 2
    except Exception as exc:
        print(f"backtest: cannot connect to Temporal: {exc}", file=err)
        return 2
    query = args.query or default_query()
    print(COUNTERFACTUAL, file=out)
    print(
        f"candidate: {args.playbook or 'each journey on its own recorded playbook (unchanged)'}; journeys: {query}\n",
        file=out,
        flush=True,
    )
    started, last = time.monotonic(), [time.monotonic()]
    skipped: list[str] = []
    done = [0]

    def show(diff: JourneyDiff) -> None:
        done[0] += 1
        if args.json and (diff.differs or diff.problem or args.all):
            print(json.dumps(diff.model_dump(mode="json")), file=out, flush=True)
        elif not args.json and (diff.differs or diff.problem or args.all):
            print(describe(diff), file=out, flush=True)
        now = time.monotonic()
        if now - last[0] >= args.progress_every:
            last[0] = now
            print(f"replayed {done[0]} journeys, {done[0] / (now - started):.1f}/s", file=err, flush=True)

    try:
        totals = await backtest(
            listed_journeys(client, query, args.jobs, skipped),
            roster,
            candidate=candidate or None,
            jobs=args.jobs,
            tolerance_seconds=tolerance,
            on_diff=show,
            stall_seconds=args.stall_seconds or STALL_SECONDS,
        )
    except (RPCError, ExceptionGroup) as exc:
        print(f"backtest: listing or fetching histories failed: {exc!r}", file=err)
        return 2
    elapsed = time.monotonic() - started
    print(
        f"replayed {totals.journeys} journeys in {elapsed:.1f} s ({totals.journeys / max(elapsed, 1e-9):.1f}/s)",
        file=err,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "totals": totals.model_dump(
                        mode="json",
                        exclude={"first_action_before", "first_action_after", "activation_before", "activation_after"},
                    ),
                    "summary": totals.lines(),
                    "counterfactual": COUNTERFACTUAL,
                }
            ),
            file=out,
        )
    else:
        print("", file=out)
        for line in totals.lines():
            print(line, file=out)
        if skipped:
            print(f"{len(skipped)} journeys were gone before they could be fetched", file=out)
        print(f"\n{COUNTERFACTUAL}", file=out)
    return 1 if totals.problems else 0
