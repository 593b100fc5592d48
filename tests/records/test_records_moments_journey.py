"""Moments recorded from workflow code (workflows/moments.py) land exactly once across a
worker restart, a continue-as-new and a replay, on both engines (dev server)."""

from __future__ import annotations

import asyncio
import uuid

from temporalio.worker import Replayer, Worker

from activities.moments import MomentActivities
from activities.settings import ActivitySettings
from contracts.moments import MomentKind
from playbooks import loader
from records.database import Database
from runtime.sandbox import workflow_runner
from tests.harness.moments_probe import MomentsProbe, ProbeInput
from tests.harness.support import make_deal


def probe_worker(client, task_queue: str, db: Database, tmp_path) -> Worker:
    activities = MomentActivities(ActivitySettings(ONBOARDING_DATA_DIR=tmp_path), db)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[MomentsProbe],
        activities=[activities.record_moment, activities.record_moments],
        workflow_runner=workflow_runner(),
    )


async def kinds(db: Database, workflow_id: str) -> list[MomentKind]:
    return [m.kind for m in await MomentActivities(ActivitySettings(), db).store.list(workflow_id=workflow_id)]


async def test_moments_once_across_restart_continue_as_new_and_replay(dev_env, records_db, tmp_path):
    client, task_queue = dev_env.client, f"moments-{uuid.uuid4().hex[:8]}"
    deal = make_deal()
    snapshot = loader.select(loader.load_all(), deal.segment, deal.product)
    workflow_id = f"onboarding-{deal.deal_id}"
    async with probe_worker(client, task_queue, records_db, tmp_path):
        handle = await client.start_workflow(
            MomentsProbe.run, ProbeInput(deal=deal, snapshot=snapshot), id=workflow_id, task_queue=task_queue
        )
        for _ in range(200):  # bounded: until the two moments before the wait are in
            if len(await kinds(records_db, workflow_id)) == 2:
                break
            await asyncio.sleep(0.05)
    first_run = handle.result_run_id
    # A new worker, with nothing cached: it replays the first run before going on.
    async with probe_worker(client, task_queue, records_db, tmp_path):
        await handle.signal(MomentsProbe.acted)
        assert await handle.result() == 2
    assert await kinds(records_db, workflow_id) == [
        MomentKind.started,
        MomentKind.told,
        MomentKind.first_action,
        MomentKind.activated,
    ]
    stored = await MomentActivities(ActivitySettings(), records_db).store.list(workflow_id=workflow_id)
    assert {m.playbook for m in stored} == {snapshot.playbook.name} and {m.playbook_hash for m in stored} == {
        snapshot.digest
    }
    assert stored[1].key == f"{workflow_id}:moment:told:first_action:1"
    # Replaying both runs records nothing more.
    replayer = Replayer(
        workflows=[MomentsProbe], data_converter=client.data_converter, workflow_runner=workflow_runner()
    )
    for run_id in (first_run, None):
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        await replayer.replay_workflow(history)
    assert len(await kinds(records_db, workflow_id)) == 4
