"""The journey lab's cost: the persona walk CS leads run, and backtest throughput.

    python -m bench.lab [--histories 1000] [--jobs 8] [--runs 3]

1. `onboarding simulate --summary` with the six shipped personas on the default playbook,
   as a user runs it (a fresh process: interpreter, imports, its own test server), --runs
   times: wall time and the process's CPU time.
2. Backtest throughput: the recorded corpus (tests/histories, every version; a journey
   that continued as new is one journey of several runs), cycled to --histories journeys,
   each under its own workflow id, read, turned into behaviour and replayed through its
   own recorded playbook in virtual time on one lab, --jobs at once. Side by side, in the
   same process: plain replay of the same histories through the replay gate's path.
   Reported as journeys/s and CPU seconds per journey, and the ratio of the two.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import WorkflowHistory

from lab.backtest import backtest
from lab.compare import JourneyDiff
from lab.runtime import Lab
from owners.roster import load_roster
from replay.corpus import corpus_files, load_history, replay_all

ONBOARDING = Path(sys.executable).parent / "onboarding"
# The corpus was recorded on a dev server's real clock with a cold worker: kickoffs came up
# to 5 s after the start. Differences below that are the recording's latency.
TOLERANCE = 10.0


def simulate_runs(runs: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            [str(ONBOARDING), "simulate", "--summary", "--check"], capture_output=True, text=True, timeout=300
        )
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"simulate failed:\n{done.stdout}\n{done.stderr}")
    return {"wall_median": statistics.median(walls), "wall_max": max(walls), "cpu_median": statistics.median(cpus)}


def corpus_journeys() -> list[tuple[str, list[WorkflowHistory]]]:
    chains: dict[tuple[str, str], list[tuple[str, WorkflowHistory]]] = defaultdict(list)
    for path in corpus_files():
        chains[(path.parent.name, path.stem.split(".")[0])].append((path.name, load_history(path)))
    return [
        (f"{version}-{name}", [h for _, h in sorted(runs, key=lambda r: r[0])])
        for (version, name), runs in sorted(chains.items())
    ]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def throughput(count: int, jobs: int) -> dict[str, float]:
    corpus = corpus_journeys()
    journeys = [
        (f"onboarding-bench-{n}-{name}", [WorkflowHistory(f"onboarding-bench-{n}-{name}", h.events) for h in runs])
        for n, (name, runs) in zip(range(count), itertools.cycle(corpus))
    ]
    histories = [(f"{wid}#{i}", h) for wid, runs in journeys for i, h in enumerate(runs)]

    async def stream() -> AsyncIterator[tuple[str, list[WorkflowHistory]]]:
        for item in journeys:
            yield item

    async def replay_stream() -> AsyncIterator[tuple[str, WorkflowHistory]]:
        for item in histories:
            yield item

    # plain replay of the same histories (the replay gate's path)
    cpu, started = _cpu(), time.perf_counter()
    failures = 0
    async for _label, _history, problem in replay_all(replay_stream()):
        failures += problem is not None
    replay_seconds, replay_cpu = time.perf_counter() - started, _cpu() - cpu
    if failures:
        raise SystemExit(f"{failures} histories did not replay: run the replay gate first")

    differing: list[JourneyDiff] = []
    async with Lab.open(load_roster()) as lab:
        cpu, started = _cpu(), time.perf_counter()
        totals = await backtest(
            stream(),
            load_roster(),
            candidate=None,
            jobs=jobs,
            tolerance_seconds=TOLERANCE,
            lab=lab,
            on_diff=lambda d: differing.append(d) if d.differs or d.problem else None,
        )
        backtest_seconds, backtest_cpu = time.perf_counter() - started, _cpu() - cpu
    return {
        "journeys": count,
        "histories": len(histories),
        "distinct": len(corpus),
        "replay_per_second": count / replay_seconds,
        "replay_cpu_per_journey": replay_cpu / count,
        "backtest_per_second": count / backtest_seconds,
        "backtest_cpu_per_journey": backtest_cpu / count,
        "ratio": (count / backtest_seconds) / (count / replay_seconds),
        "differing": totals.differing,
        "problems": totals.problems,
        "examples": [d.workflow_id + (f": {d.problem}" if d.problem else "") for d in differing[:5]],  # type: ignore[dict-item]
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lab", description=__doc__.split("\n\n")[0])
    parser.add_argument("--histories", type=int, default=1000, help="journeys to backtest (default 1000)")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="simulate runs (default 3)")
    parser.add_argument("--skip-simulate", action="store_true")
    parser.add_argument("--skip-backtest", action="store_true")
    args = parser.parse_args()
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    env = f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    if not args.skip_simulate:
        s = simulate_runs(args.runs)
        print(
            f"simulate, 6 personas x default playbook (fresh process each, {args.runs} runs): "
            f"wall {s['wall_median']:.1f} s median ({s['wall_max']:.1f} s max), CPU {s['cpu_median']:.1f} s ({env})",
            flush=True,
        )
    if args.skip_backtest:
        sys.stdout.flush()
        os._exit(0)
    r = asyncio.run(throughput(args.histories, args.jobs))
    print(
        f"backtest: {r['journeys']} journeys ({r['histories']} histories, {r['distinct']} distinct cycled), --jobs {args.jobs}: "
        f"{r['backtest_per_second']:.1f} journeys/s, {r['backtest_cpu_per_journey'] * 1000:.0f} ms CPU each; "
        f"{r['differing']} differing, {r['problems']} not replayable"
    )
    print(
        f"plain replay of the same histories: {r['replay_per_second']:.1f} journeys/s, {r['replay_cpu_per_journey'] * 1000:.0f} ms CPU each"
    )
    print(f"backtest/replay throughput ratio: {r['ratio']:.2f} ({env})")
    for example in r["examples"]:
        print(f"  e.g. {example}")
    sys.stdout.flush()
    os._exit(0)  # the SDK's native threads can crash interpreter teardown (temporalio/sdk-python#300)


if __name__ == "__main__":
    main()
