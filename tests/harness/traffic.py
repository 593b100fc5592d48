"""Helpers for the tests that try a journey the way real traffic does: a dev server that
suggests continue-as-new early, floods of signals sent concurrently, and readers of a
journey's whole history (every run of its chain) for the things those tests count."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from contracts.messages import MessageRequest, SendReceipt
from contracts.owners import AssignOwnerRequest, OwnerAssignment
from lab.drive import signal_patiently
from lab.histories import journey_runs
from replay import record
from tests.harness.privacy_keys import CONVERTER
from tests.harness.support import journey_worker
from workflows.onboarding import OnboardingWorkflow

ROOT = Path(__file__).resolve().parents[2]
SERVER_CAUSED = ("WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND", "WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND")


@asynccontextmanager
async def dev_server(suggest_continue_as_new_after: int) -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal dev server (in memory) that suggests continue-as-new once a run's history
    has this many events (production's default is 4,096 on a 51,200-event limit): the corpus
    recorder's (replay/record.py), with the suite's codec."""
    env = await record.dev_server(CONVERTER, suggest_continue_as_new_after=suggest_continue_as_new_after)
    try:
        yield env
    finally:
        await env.shutdown()


Signal = tuple[str, Sequence[Any]]  # a signal name and its raw arguments, as a CLI would send them


async def send_all(handle: WorkflowHandle, signals: Iterable[Signal], *, concurrency: int = 32) -> int:
    """Send every signal, `concurrency` at a time (as many producers would); returns how many."""
    gate = asyncio.Semaphore(concurrency)
    sent = 0

    async def one(name: str, args: Sequence[Any]) -> None:
        nonlocal sent
        async with gate:
            await signal_patiently(handle, name, args)
            sent += 1

    pending: set[asyncio.Task[None]] = set()
    for name, args in signals:
        if len(pending) >= concurrency * 4:  # bounded memory for very long floods
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        pending.add(asyncio.create_task(one(name, args)))
    for finished in asyncio.as_completed(pending):
        await finished
    return sent


async def paced(
    handle: WorkflowHandle, signals: Sequence[Signal], *, batch: int = 80, answer_within: float = 30.0
) -> float:
    """Send in batches, asking the journey's `status` after each (so fewer signals than the
    100 the server buffers during one workflow task pile up); returns the slowest answer in
    seconds. A query that is not answered within `answer_within` fails the caller."""
    slowest = 0.0
    for start in range(0, len(signals), batch):
        await send_all(handle, signals[start : start + batch], concurrency=16)
        asked = asyncio.get_running_loop().time()
        await asyncio.wait_for(handle.query(OnboardingWorkflow.status), answer_within)
        slowest = max(slowest, asyncio.get_running_loop().time() - asked)
    return slowest


@dataclass
class Chain:
    """Every run of one journey, first to last."""

    runs: list[WorkflowHistory]

    @property
    def events(self) -> list[Any]:
        return [e for run in self.runs for e in run.events]

    def task_failures(self) -> list[str]:
        """Every failed workflow task, as "<cause>: <message>" (a journey must never have one)."""
        return [
            f"{WorkflowTaskFailedCause.Name(a.cause)}: {a.failure.message}"
            for e in self.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            for a in [e.workflow_task_failed_event_attributes]
        ]

    def worker_task_failures(self) -> list[str]:
        """Failed workflow tasks other than the two the server causes under a flood of signals
        and retries at once: `UNHANDLED_COMMAND` (the journey closed or continued as new while
        new signals arrived) and `FORCE_CLOSE_COMMAND` (more signals buffered during one task
        than the server holds). Anything else is the journey's code failing."""
        return [f for f in self.task_failures() if not f.startswith(SERVER_CAUSED)]

    def carried_sizes(self) -> list[int]:
        """Bytes of the JourneyInput (JSON) each run handed to the next."""
        return [
            sum(len(p.data) for p in e.workflow_execution_continued_as_new_event_attributes.input.payloads)
            for e in self.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        ]

    def carried(self) -> list[dict[str, Any]]:
        return [
            json.loads(e.workflow_execution_continued_as_new_event_attributes.input.payloads[0].data)
            for e in self.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        ]

    def messages(self) -> list[dict[str, Any]]:
        """The input of every `send_message` the journey scheduled (one per message; retries
        of an activity are not new events)."""
        found = []
        for e in self.events:
            if e.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                continue
            attrs = e.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == "send_message":
                found.append(json.loads(attrs.input.payloads[0].data))
        return found

    def customer_messages(self) -> list[str]:
        """The kinds (direction, clarify, help, ...) of the customer messages, in order."""
        return [m["kind"] for m in self.messages() if m["audience"] == "customer"]

    def escalation_tasks(self) -> int:
        return sum(
            1
            for e in self.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_type.name == "create_escalation_task"
        )

    def signal_names(self) -> list[str]:
        return [
            e.workflow_execution_signaled_event_attributes.signal_name
            for e in self.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        ]


async def chain(client: Client, handle: WorkflowHandle) -> Chain:
    """Every run of the journey `handle` names, first to last, its payloads decrypted with the
    client's codec (lab/histories.py) so the tests read what the journey carried and sent."""
    return Chain(await journey_runs(client, handle.id))


class Held:
    """One activity replaced by name with the real one behind a door the test opens and
    closes, so a signal or update can be sent exactly while the journey awaits it."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self.waiting = asyncio.Event()  # set while a call waits behind the closed door
        self.calls: list[Any] = []

    def close(self) -> None:
        self._open.clear()
        self.waiting.clear()

    def open(self) -> None:
        self._open.set()

    async def _through(self, request: Any) -> None:
        self.calls.append(request)
        if not self._open.is_set():
            self.waiting.set()
            await self._open.wait()


class HeldSend(Held):
    def __init__(self, real: Any) -> None:
        super().__init__()
        self._real = real  # the worker's own `send_message`

    @activity.defn(name="send_message")
    async def send_message(self, request: MessageRequest) -> SendReceipt:
        await self._through(request)
        return await self._real(request)


class HeldAssign(Held):
    """`assign_owner` held only for a staff member's explicit choice (reassign)."""

    def __init__(self, real: Any) -> None:
        super().__init__()
        self._real = real  # the worker's own `assign_owner`

    @activity.defn(name="assign_owner")
    async def assign_owner(self, request: AssignOwnerRequest) -> OwnerAssignment:
        if request.preferred:
            await self._through(request)
        return await self._real(request)


@asynccontextmanager
async def held_worker(
    client: Client, tmp_path: Path, playbooks: Path, *, smtp_url: str | None = None
) -> AsyncIterator[tuple[str, HeldSend, HeldAssign]]:
    """A journey worker (own task queue, real effects: tests/harness/support.py
    `journey_worker`) whose `send_message` and `assign_owner` can be held."""
    held: dict[str, Any] = {}

    def hold(real: list[Any]) -> list[Any]:
        by_name = {a.__name__: a for a in real}
        held["send"], held["assign"] = HeldSend(by_name["send_message"]), HeldAssign(by_name["assign_owner"])
        replaced = {"send_message", "assign_owner"}
        return [
            *(a for a in real if a.__name__ not in replaced),
            held["send"].send_message,
            held["assign"].assign_owner,
        ]

    async with journey_worker(client, tmp_path, playbooks=playbooks, smtp_url=smtp_url, wrap=hold) as task_queue:
        yield task_queue, held["send"], held["assign"]


class WorkerProcess:
    """`python -m worker` with its log in a file; started, waited for, SIGKILLed."""

    def __init__(self, env: dict[str, str], log_dir: Path, cwd: Path = ROOT) -> None:
        """`cwd`: the checkout whose worker runs (another build's: give its PYTHONPATH too)."""
        self._env, self._log_dir, self._cwd = env, log_dir, cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = self.kills = 0

    async def start(self) -> None:
        self.starts += 1
        log = self._log_dir / f"worker-{self.starts}.log"
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "worker"], cwd=self._cwd, env=self._env, stdout=out, stderr=out
            )
        deadline = time.monotonic() + 60
        while b'"worker.started"' not in log.read_bytes():
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the worker did not start within a minute"
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.kills += 1
        self.proc = None
