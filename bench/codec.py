"""What payload encryption costs the worker: CPU per journey, with and without the codec,
side by side in one run.

    python -m bench.codec [--journeys 60] [--rounds 4]

One in-memory dev server; two worker processes, identical but for their data converter
(pydantic JSON, or pydantic JSON encrypted by privacy.codec), each on its own task queue.
Rounds alternate between them: each round starts --journeys journeys on one worker and
drives every one to `activated` (the three milestones' product events are signalled at
start; the journey sends each milestone's direction and moves on). The worker's process CPU
time (user + system, from /proc) is read before and after each round, so the figure is the
worker's whole cost per journey: workflow tasks, activities (message rendering, the console
outbox, the ledger) and the codec. Prints ms of CPU per journey for each and the ratio."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import yaml

from contracts.deal import sample_deal_body
from privacy.converter import data_converter_for
from privacy.keys import new_key_spec, parse_keys

MODES = ("plain", "encrypted")
EVENTS = ("dataset_uploaded", "dashboard_shared", "teammates_invited")  # one per default milestone


def converter_for(mode: str, spec: str):
    return data_converter_for(parse_keys(spec) if mode == "encrypted" else None)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def write_playbook(directory: Path) -> Path:
    from playbooks.loader import DEFAULT_DIR

    data = yaml.safe_load((DEFAULT_DIR / "default.yaml").read_text())
    data["owner_acknowledgement_hours"] = 0
    data["business_hours"] = {
        "start": "00:00",
        "end": "23:59:59",
        "proactive_per_day": 10,
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    }
    data["channels"] = {"customer": "console", "owner": "console"}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bench.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


async def run_worker(args: argparse.Namespace) -> None:
    from temporalio.client import Client

    from activities.settings import ActivitySettings
    from worker import build_worker

    client = await Client.connect(args.address, data_converter=converter_for(args.mode, args.keys))
    settings = ActivitySettings(ONBOARDING_DATA_DIR=Path(args.data_dir))
    worker = build_worker(client, settings, task_queue=args.task_queue, playbooks=Path(args.playbooks))
    async with worker:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the driver closes stdin


async def drive(client, task_queue: str, journeys: int) -> None:
    from contracts.journey import WORKFLOW_TYPE

    async def one(n: int) -> None:
        deal_id = f"B-{uuid.uuid4().hex[:10]}"
        deal = sample_deal_body(deal_id=deal_id, account={"id": f"ACC-{n}", "timezone": "UTC"})
        handle = await client.start_workflow(
            WORKFLOW_TYPE, {"deal_id": deal_id, "deal": deal}, id=f"onboarding-{deal_id}", task_queue=task_queue
        )
        for i, event in enumerate(EVENTS):
            await handle.signal("action_taken", {"action": event, "event_id": f"{deal_id}-{i}"})
        result = await handle.result()
        if result["state"] != "activated":
            raise RuntimeError(f"{deal_id} ended {result['state']}: {result['reason']}")

    await asyncio.gather(*(one(n) for n in range(journeys)))


async def bench(journeys: int, rounds: int) -> dict[str, float]:
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

    from contracts.search_attributes import ALL
    from devstack.__main__ import temporal_binary

    keys = new_key_spec("bench")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()), search_attributes=list(ALL),
        dev_server_log_level="error",
    )  # fmt: skip
    workers: dict[str, subprocess.Popen[str]] = {}
    cpu = dict.fromkeys(MODES, 0.0)
    done = dict.fromkeys(MODES, 0)
    try:
        address = env.client.service_client.config.target_host
        with tempfile.TemporaryDirectory(prefix="bench-codec-") as work:
            playbooks = write_playbook(Path(work) / "playbooks")
            clients = {}
            for mode in MODES:
                queue = f"bench-{mode}-{uuid.uuid4().hex[:6]}"
                workers[mode] = subprocess.Popen(
                    [sys.executable, "-m", "bench.codec", "worker", "--mode", mode, "--address", address,
                     "--task-queue", queue, "--keys", keys, "--data-dir", str(Path(work) / mode),
                     "--playbooks", str(playbooks)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                )  # fmt: skip
                assert workers[mode].stdout is not None
                if workers[mode].stdout.readline().strip() != "ready":
                    raise RuntimeError(f"{mode} worker did not start")
                # Keep draining its output: a full pipe would stall the worker mid-task.
                threading.Thread(target=workers[mode].stdout.read, daemon=True).start()
                clients[mode] = (await Client.connect(address, data_converter=converter_for(mode, keys)), queue)
            for mode in MODES:  # warm-up: imports, sandbox, first connections; not counted
                await drive(clients[mode][0], clients[mode][1], 5)
            for r in range(rounds):
                for mode in MODES if r % 2 == 0 else reversed(MODES):
                    before = cpu_seconds(workers[mode].pid)
                    await drive(clients[mode][0], clients[mode][1], journeys)
                    cpu[mode] += cpu_seconds(workers[mode].pid) - before
                    done[mode] += journeys
    finally:
        for proc in workers.values():
            if proc.stdin:
                proc.stdin.close()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        await env.shutdown()
    per = {mode: 1000 * cpu[mode] / done[mode] for mode in MODES}
    return {
        "plain_ms": per["plain"],
        "encrypted_ms": per["encrypted"],
        "ratio": per["encrypted"] / per["plain"],
        "journeys_each": done["plain"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.codec", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    w = sub.add_parser("worker")
    w.add_argument("--mode", choices=MODES, required=True)
    for name in ("--address", "--task-queue", "--keys", "--data-dir", "--playbooks"):
        w.add_argument(name, required=True)
    parser.add_argument("--journeys", type=int, default=60, help="journeys per round (default 60)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per worker, alternating (default 4)")
    args = parser.parse_args(argv)
    if args.command == "worker":
        import logging

        logging.basicConfig(level=logging.WARNING)
        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        asyncio.run(run_worker(args))
        os._exit(0)
    started = time.monotonic()
    result = asyncio.run(bench(args.journeys, args.rounds))
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{result['journeys_each']} journeys per worker, {time.monotonic() - started:.0f}s"
    )
    print(f"worker CPU per journey: plain {result['plain_ms']:.1f} ms, encrypted {result['encrypted_ms']:.1f} ms")
    print(f"encrypted/plain = {result['ratio']:.3f}")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
