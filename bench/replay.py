"""Replay throughput: how many journey histories per second the replay gate gets through.

    python -m bench.replay [--histories 1000] [--unsandboxed]

The recorded corpus (every version) is cycled up to --histories histories, each under its
own workflow id, and streamed through the same path `onboarding replay` uses (one
Replayer, the pydantic converter, the sandboxed runner). Histories are built in memory
first so only replay is timed. Prints histories/s and events/s. `--unsandboxed` replays
without the workflow sandbox, to show what the sandbox costs (the gate never does that)."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import platform
import time
from collections.abc import AsyncIterator

from temporalio.client import WorkflowHistory
from temporalio.worker import UnsandboxedWorkflowRunner

from replay.corpus import corpus_files, load_history, replay_all


async def bench(count: int, unsandboxed: bool = False) -> dict[str, float]:
    corpus = [load_history(p) for p in corpus_files()]
    histories = [
        (f"{h.workflow_id}-{n}", WorkflowHistory(f"{h.workflow_id}-{n}", h.events))
        for n, h in zip(range(count), itertools.cycle(corpus))
    ]
    events = sum(len(h.events) for _, h in histories)

    async def stream() -> AsyncIterator[tuple[str, WorkflowHistory]]:
        for item in histories:
            yield item

    failures = 0
    started = time.perf_counter()
    runner = UnsandboxedWorkflowRunner() if unsandboxed else None
    async for _label, _history, problem in replay_all(stream(), runner=runner):
        failures += problem is not None
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{failures} histories did not replay: run the replay gate first")
    return {
        "histories": count,
        "distinct": len(corpus),
        "events": events,
        "seconds": elapsed,
        "per_second": count / elapsed,
        "events_per_second": events / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--histories", type=int, default=1000)
    parser.add_argument("--unsandboxed", action="store_true", help="replay without the workflow sandbox")
    args = parser.parse_args()
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    r = asyncio.run(bench(args.histories, args.unsandboxed))
    print(
        f"replayed {r['histories']:.0f} histories ({r['distinct']:.0f} distinct corpus histories cycled, "
        f"{r['events']:.0f} events) in {r['seconds']:.1f} s, {'without' if args.unsandboxed else 'with'} the sandbox"
    )
    print(
        f"{r['per_second']:.0f} histories/s, {r['events_per_second']:.0f} events/s "
        f"(Python {platform.python_version()}, {os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
