"""Real customers for the persona learning's tests: personas walked through the real
journey workflow on the time-skipping server (the lab's world), with the engine's own
moment activities writing to a records database, so each walk leaves both a history and its
moments, as a production journey does."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path

from temporalio import activity
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.moments import MomentActivities
from activities.settings import ActivitySettings
from lab.persona_run import PersonaRun
from lab.personas import PersonaFile
from lab.runtime import Lab
from lab.simulate import plan
from lab.world import JourneySetup, World
from owners.roster import load_roster
from records.database import Database
from runtime.sandbox import workflow_runner
from workflows.onboarding import OnboardingWorkflow


@activity.defn(dynamic=True)
async def nothing_else(args: Sequence[RawValue]) -> None:
    """What the lab's world does not model (release_owner, close_escalation_task): nothing."""
    return None


async def walk_customers(
    env: WorkflowEnvironment, customers: list[PersonaFile], db: Database, data_dir: Path
) -> list[str]:
    """Walk every customer side by side; their moments land in `db`. The journeys' workflow
    ids, in the customers' order."""
    task_queue = f"learn-{uuid.uuid4().hex[:8]}"
    world = World(env.client, task_queue, load_roster())
    moments = MomentActivities(ActivitySettings(ONBOARDING_DATA_DIR=data_dir), db)
    activities = [a for a in world.activities() if a != world.anything_else]
    activities += [moments.record_moment, moments.record_moments, nothing_else]
    plans = plan(customers, all_personas=False)
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[OnboardingWorkflow, PersonaRun],
        activities=activities,
        workflow_runner=workflow_runner(),
    ):
        with env.auto_time_skipping_disabled():
            await env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
            try:
                lab = Lab(env.client, world, task_queue)
                await asyncio.gather(*(lab.walk(p.script, JourneySetup(playbook=p.snapshot)) for p in plans))
            finally:
                await env.client.test_service.lock_time_skipping(LockTimeSkippingRequest())
    return [p.script.workflow_id for p in plans]


async def export_histories(env: WorkflowEnvironment, workflow_ids: list[str], folder: Path) -> None:
    """Each journey's history as `temporal workflow show --output json` writes it: its
    payloads as the server holds them (encrypted by the suite's codec)."""
    folder.mkdir(parents=True, exist_ok=True)
    for workflow_id in workflow_ids:
        history = await env.client.get_workflow_handle(workflow_id).fetch_history()
        (folder / f"{workflow_id}.json").write_text(history.to_json())
