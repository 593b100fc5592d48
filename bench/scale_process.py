"""The worker process `bench.scale` measures: the real onboarding worker (`worker.build_worker`,
JSON logs as in production) or the floor's bare worker, sandboxed or not.

It runs in its own process so its CPU time (utime + stime from /proc) and RSS are its own:
the load generator, the SMTP sink and the dev server run elsewhere. The machine is shared:
the process reads its spec from the environment (nothing in its command line for a broad
`pkill -f` to match), ignores SIGTERM, stops on SIGINT from the benchmark and dies with it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import mmap
import os
import signal
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from privacy.converter import data_converter


@dataclass(frozen=True)
class WorkerSpec:
    kind: str  # journeys | floor | floor-unsandboxed
    address: str
    task_queue: str
    log_file: Path
    data_dir: Path
    smtp_url: str = ""
    playbooks: Path | None = None
    roster: Path | None = None
    max_cached_workflows: int | None = None
    counter: Path | None = None  # the floor's completed activities, shared with the benchmark
    # telemetry (--telemetry): the worker's Prometheus endpoint here; traces to a discarding
    # exporter (what making the spans costs the worker, without a collector's network)
    metrics_address: str = ""
    traced: bool = False

    def to_json(self) -> str:
        return json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()})

    @classmethod
    def from_json(cls, text: str) -> WorkerSpec:
        data = json.loads(text)
        paths = {"log_file", "data_dir", "playbooks", "roster", "counter"}
        return cls(**{k: Path(v) if k in paths and v is not None else v for k, v in data.items()})


class SharedCounter:
    """One int64 in a memory-mapped file: the worker increments it, the benchmark reads it
    (no messages, no locks: one writer)."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        if create:
            path.write_bytes(bytes(8))
        self._file = open(path, "r+b")  # noqa: SIM115  (mapped for the life of the object)
        self._map = mmap.mmap(self._file.fileno(), 8)

    @property
    def value(self) -> int:
        return struct.unpack_from("q", self._map)[0]

    def add(self, n: int = 1) -> None:
        struct.pack_into("q", self._map, 0, self.value + n)


async def build(client: Client, spec: WorkerSpec) -> Worker:
    options: dict[str, Any] = {}
    if spec.max_cached_workflows is not None:
        options["max_cached_workflows"] = spec.max_cached_workflows
    if spec.kind == "journeys":
        from activities.settings import ActivitySettings
        from owners.roster import load_roster
        from worker import build_worker, records_database

        settings = ActivitySettings(SMTP_URL=spec.smtp_url or None, ONBOARDING_DATA_DIR=spec.data_dir)
        records = records_database(settings)  # SQLite in the data dir, as `make run`
        await records.ready()
        roster_path = spec.roster
        return build_worker(
            client,
            settings,
            task_queue=spec.task_queue,
            playbooks=spec.playbooks,
            roster=lambda: load_roster(roster_path),
            records=records,
            **options,
        )
    from bench.floor import BareWorkflow, Noop

    assert spec.counter is not None
    done = SharedCounter(spec.counter)

    runner = UnsandboxedWorkflowRunner() if spec.kind == "floor-unsandboxed" else SandboxedWorkflowRunner()
    return Worker(
        client,
        task_queue=spec.task_queue,
        workflows=[BareWorkflow],
        activities=[Noop(done.add).noop],
        workflow_runner=runner,
        **options,
    )


async def run(spec: WorkerSpec) -> None:
    # The journeys' worker encrypts as production does (privacy.converter); the floor is the
    # SDK's bare default, so what the codec costs is counted as ours.
    converter = data_converter() if spec.kind == "journeys" else pydantic_data_converter
    telemetry: dict[str, Any] = {}
    if spec.metrics_address:
        from telemetry.worker_metrics import prometheus_runtime

        telemetry["runtime"] = prometheus_runtime(spec.metrics_address)
    if spec.traced:
        telemetry["interceptors"] = discarded_traces()
    client = await Client.connect(spec.address, data_converter=converter, **telemetry)
    worker = await build(client, spec)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with worker:
        print("ready", flush=True)  # the benchmark waits for this line
        await stop.wait()


def discarded_traces() -> list[Any]:
    """The tracing interceptor, its spans batched and exported to nowhere: what tracing costs
    the process that makes the spans (telemetry/tracing.py), without a collector."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from telemetry.tracing import Tracing

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    return list(Tracing.with_processor("bench", BatchSpanProcessor(Discard())).interceptors())


SPEC_VARIABLE = "BENCH_SCALE_SPEC"


def main() -> None:
    """`BENCH_SCALE_SPEC=... python -m bench.scale_process`: logs as the real worker does, to a file."""
    from worker import configure_logging

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    spec = WorkerSpec.from_json(os.environ[SPEC_VARIABLE])
    log = open(spec.log_file, "a", buffering=1)  # noqa: SIM115  (lives as long as the process)
    configure_logging(logging.INFO, stream=log)
    asyncio.run(run(spec))
    log.flush()
    os._exit(0)  # as worker.main: skip interpreter teardown (temporalio/sdk-python#300)


if __name__ == "__main__":
    main()
