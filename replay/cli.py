"""`onboarding replay`: replay the histories of journeys on a Temporal service against the
local workflow code, before deploying that code.

    onboarding replay [--address HOST:PORT] [--namespace NS] [--query VISIBILITY_QUERY] [--jobs N]

The default query selects every running OnboardingWorkflow. The payload keys are the
workers' (ONBOARDING_CODEC_KEYS or ONBOARDING_CODEC_KEYS_FILE); with neither set, `make run`'s
dev key file (.data/codec-keys, under ONBOARDING_DATA_DIR) is used when it exists. Histories are listed page by
page and fetched a few at a time, so memory stays bounded however many journeys match;
they are replayed in --jobs processes (default: one per CPU; docs/performance.md).
Exits 0 when every history replays, 1 when any does not (their workflow ids are printed),
2 when the service cannot be reached or the arguments are wrong."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TextIO

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from privacy.keys import FILE_VARIABLE, KEYS_VARIABLE, CodecConfigError
from replay.corpus import GUIDE, ReplayProblem, explain, load_workflow, replay_all
from replay.parallel import JobConfig, JobFailed, replay_in_jobs
from runtime.arguments import add_server_arguments
from runtime.client import connect
from runtime.replayer import hidden_warnings

DEFAULT_QUERY = "WorkflowType = 'OnboardingWorkflow' AND ExecutionStatus = 'Running'"
DEFAULT_WORKFLOW = "workflows.onboarding:OnboardingWorkflow"


async def histories(
    client: Client, query: str, concurrency: int, skipped: list[str]
) -> AsyncIterator[tuple[str, WorkflowHistory]]:
    """(workflow id, history) for every match, fetching up to `concurrency` at once; at most
    2 x `concurrency` histories wait in memory."""
    queue: asyncio.Queue[tuple[str, WorkflowHistory] | None] = asyncio.Queue(maxsize=2 * concurrency)
    slots = asyncio.Semaphore(concurrency)

    async def fetch(workflow_id: str, run_id: str) -> None:
        try:
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            await queue.put((workflow_id, history))
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:
                raise
            skipped.append(workflow_id)  # deleted between listing and fetching
        finally:
            slots.release()

    async def produce() -> None:
        try:
            async with asyncio.TaskGroup() as group:
                async for execution in client.list_workflows(query, page_size=min(1000, 10 * concurrency)):
                    await slots.acquire()
                    group.create_task(fetch(execution.id, execution.run_id))
        finally:
            await queue.put(None)  # the consumer stops, then learns why from `producer`

    producer = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not None:
            yield item
        await producer  # raise what the listing raised
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await producer


class Progress:
    def __init__(self, out: TextIO, every: float) -> None:
        self.out, self.every = out, every
        self.started = self.last = time.monotonic()
        self.ok = self.failed = 0

    def count(self, problem: ReplayProblem | None, *, force: bool = False) -> None:
        if problem is None:
            self.ok += 1
        else:
            self.failed += 1
        self.show(force=force)

    def show(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= self.every:
            self.last = now
            done = self.ok + self.failed
            rate = done / max(now - self.started, 1e-9)
            print(f"replayed {done} ({self.ok} ok, {self.failed} failed), {rate:.0f}/s", file=self.out, flush=True)


def use_dev_keys(env: dict[str, str] | os._Environ[str] = os.environ) -> Path | None:
    """`make run`'s key file when no key is configured: the local stack's histories are
    encrypted with it. Set in `env` (the replay jobs inherit it); None when keys are configured
    or there is no such file."""
    if env.get(KEYS_VARIABLE, "").strip() or env.get(FILE_VARIABLE, "").strip():
        return None
    path = Path(env.get("ONBOARDING_DATA_DIR", "").strip() or ".data") / "codec-keys"
    if not path.is_file():
        return None
    env[FILE_VARIABLE] = str(path)
    return path


async def replay_command(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        workflow = load_workflow(args.workflow)
    except (ImportError, AttributeError) as exc:
        print(f"cannot load workflow {args.workflow!r}: {exc}", file=err)
        return 2
    if (dev_keys := use_dev_keys()) is not None:
        print(f"payload keys: {dev_keys} (`make run`'s; set {KEYS_VARIABLE} for another service's)", file=err)
    try:
        client = await connect(args.address, args.namespace)
    except CodecConfigError as exc:
        print(f"cannot decrypt the histories: {exc}", file=err)
        return 2
    except Exception as exc:  # any connection problem is reported the same way
        print(f"cannot connect to Temporal: {exc}", file=err)
        return 2
    print(f"replaying histories matching: {args.query}", file=out, flush=True)
    progress = Progress(err, args.progress_every)
    problems: list[tuple[ReplayProblem, WorkflowHistory | None]] = []
    skipped: list[str] = []
    try:
        if args.jobs > 1:
            config = JobConfig(args.workflow, args.address, args.namespace, ahead=max(2, args.concurrency // args.jobs))
            async for verdict in replay_in_jobs(client, args.query, config, args.jobs):
                if verdict.gone:
                    skipped.append(verdict.workflow_id)
                    continue
                problem = None
                if verdict.mismatch is not None:
                    problem = ReplayProblem(verdict.workflow_id, verdict.run_id, verdict.mismatch, "")
                    problems.append((problem, None))  # fetched again below to name the event
                progress.count(problem)
        else:
            async for _id, history, problem in replay_all(
                histories(client, args.query, args.concurrency, skipped), [workflow], converter=client.data_converter
            ):
                progress.count(problem)
                if problem is not None:
                    # keep the history only for the first few, to name the event; ids for all
                    problems.append((problem, history if len(problems) < args.explain else None))
    except (RPCError, ExceptionGroup, JobFailed) as exc:
        print(f"listing, fetching or replaying histories failed: {exc!r}", file=err)
        return 2
    progress.show(force=True)
    for index, (problem, kept) in enumerate(problems):
        if kept is None and index < args.explain:  # a job's verdict: fetch that one history again
            with contextlib.suppress(RPCError):
                kept = await client.get_workflow_handle(problem.label, run_id=problem.run_id).fetch_history()
        if kept is not None:
            await explain(problem, kept, [workflow], client.data_converter)
        else:
            problem.event = "(not located; raise --explain to locate more)"
    total = progress.ok + progress.failed
    print(
        f"{total} histories replayed: {progress.ok} compatible, {progress.failed} incompatible"
        + (f", {len(skipped)} gone before they could be fetched" if skipped else ""),
        file=out,
    )
    if problems:
        print("\nIncompatible with this code:", file=out)
        for problem, _ in problems:
            print(f"  {problem.label} (run {problem.run_id})", file=out)
        print("", file=out)
        for problem, _ in problems:
            print(problem.message(), file=out)
            print("", file=out)
        print(f"Do not deploy this code: see {GUIDE}.", file=out)
        _hidden(err)
        return 1
    _hidden(err)
    return 0


def _hidden(err: TextIO) -> None:
    if count := hidden_warnings():
        print(
            f"({count} SDK warnings about the failing workflow tasks were not printed: the report says what failed)",
            file=err,
        )


def add_command(commands: argparse._SubParsersAction) -> None:
    replay = commands.add_parser(
        "replay",
        help="replay journeys' histories against the local workflow code",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_server_arguments(replay)
    replay.add_argument(
        "--query",
        default=os.environ.get("ONBOARDING_REPLAY_QUERY", DEFAULT_QUERY),
        help=f"visibility query (default: {DEFAULT_QUERY})",
    )
    replay.add_argument(
        "--workflow",
        default=DEFAULT_WORKFLOW,
        help=f"workflow class to check, module:Class (default: {DEFAULT_WORKFLOW})",
    )
    replay.add_argument("--concurrency", type=int, default=8, help="histories fetched at once (default 8)")
    replay.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="processes replaying at once (default: one per CPU; 1 replays in this process)",
    )
    replay.add_argument(
        "--explain", type=int, default=20, help="locate the failing event for this many failures (default 20)"
    )
    replay.add_argument(
        "--progress-every", type=float, default=2.0, help="seconds between progress lines on stderr (default 2)"
    )


def run(args: argparse.Namespace) -> Coroutine[Any, Any, int]:
    return replay_command(args)
