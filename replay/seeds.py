"""The replay gate under several hash seeds.

Python orders a set of strings (and anything built from iterating one) by the strings'
hashes, and every process hashes with a seed of its own: workflow code that issues commands
while iterating a set issues them in an order that changes from one worker process to the
next. Replayed in one process, such code passes or fails by chance. So the gate replays the
corpus in one process per seed (`PYTHONHASHSEED`), at once, and a history that fails under
some seeds and not others is named with the seeds and the likely cause.

    python -m replay.seeds [--workflow module:Class] [--seeds 0 1 2] [PATH ...]

(default: every recorded history; exits 1 when any does not replay)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from replay.corpus import ReplayProblem, as_text, corpus_files, load_workflow, replay_files

# Enough for a set of two or three strings to be iterated in another order under one of them.
GATE_SEEDS = (0, 1, 2)
DEFAULT_WORKFLOW = "workflows.onboarding:OnboardingWorkflow"
ROOT = Path(__file__).resolve().parent.parent


async def replay_under_seeds(
    paths: Sequence[Path],
    workflow: str = DEFAULT_WORKFLOW,
    seeds: Iterable[int] = GATE_SEEDS,
    python_path: Sequence[Path] = (),
) -> list[ReplayProblem]:
    """Every problem of `paths` under any of `seeds`, one per history (with the seeds it
    failed under); each seed replays in a process of its own, all at once."""
    seeds = list(seeds)
    runs = await asyncio.gather(*(_replay_in_process(paths, workflow, seed, python_path) for seed in seeds))
    by_label: dict[str, ReplayProblem] = {}
    for seed, problems in zip(seeds, runs, strict=True):
        for problem in problems:
            kept = by_label.setdefault(problem.label, problem)
            kept.seeds.append(seed)
    for problem in by_label.values():
        if len(problem.seeds) < len(seeds):
            problem.cause = "hash order"
        problem.of_seeds = len(seeds)
    return sorted(by_label.values(), key=lambda p: p.label)


async def _replay_in_process(
    paths: Sequence[Path], workflow: str, seed: int, python_path: Sequence[Path]
) -> list[ReplayProblem]:
    env = dict(os.environ, PYTHONHASHSEED=str(seed))
    env["PYTHONPATH"] = os.pathsep.join([*map(str, python_path), str(ROOT), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "replay.seeds",
        "--one-process",
        "--workflow",
        workflow,
        *map(str, paths),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode not in (0, 1):
        raise RuntimeError(f"the replay under PYTHONHASHSEED={seed} failed to run:\n{err.decode()[-3000:]}")
    return [ReplayProblem(**fields) for fields in json.loads(out.decode().strip().splitlines()[-1])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m replay.seeds", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="history files (default: the whole corpus)")
    parser.add_argument("--workflow", default=DEFAULT_WORKFLOW, help="workflow class to check, module:Class")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(GATE_SEEDS), help="hash seeds to replay under")
    parser.add_argument("--one-process", action="store_true", help=argparse.SUPPRESS)  # a seed's process
    args = parser.parse_args(argv)
    paths = args.paths or corpus_files()
    if args.one_process:
        problems = asyncio.run(replay_files(paths, [load_workflow(args.workflow)]))
        print(json.dumps([p.fields() for p in problems]), flush=True)
        sys.stderr.flush()
        # The SDK core's threads can outlive the loop and abort the interpreter's finalization
        # (PyGILState_Release), exiting 134 after the answer is written: leave without it, as
        # the recorder does.
        os._exit(1 if problems else 0)
    problems = asyncio.run(replay_under_seeds(paths, args.workflow, args.seeds))
    if problems:
        print(as_text(problems))
        return 1
    print(f"{len(paths)} histories replay under PYTHONHASHSEED={', '.join(map(str, args.seeds))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
