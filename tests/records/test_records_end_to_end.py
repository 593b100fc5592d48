"""The records as a real journey writes them (issue 9's acceptance), on SQLite and on a real
PostgreSQL, with the real worker and activities on the dev server:

- every moment of a journey driven to activation is in the store exactly once, after a
  continue-as-new, a worker restart and a replay of every run;
- an escalation resolved with `resolve_escalation` (the update the Web UI sends) is
  `resolved` in the store with its decision, person, note and time, as `onboarding tasks`
  shows it.

Business hours are open around the clock so the real clock drives the journeys at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sysconfig
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.worker import Replayer

from activities.settings import ActivitySettings
from contracts.escalations import EscalationTaskRecord, TaskStatus, task_id
from contracts.moments import MomentKind, MomentRequest, Touchpoint, moment_key
from contracts.status import OnboardingState
from owners.workflow import roster_workflow_id
from records.database import Database
from records.moments import MomentStore
from records.tasks import TaskNotFound, TaskStore
from runtime.sandbox import workflow_runner
from tests.harness.support import always_open, make_deal, start_journey, status, told, wait_for_status, write_playbook
from worker import build_worker
from workflows.onboarding import OnboardingWorkflow

ONBOARDING = Path(sysconfig.get_path("scripts")) / "onboarding"
# The dev server and the test read the same machine clock; workflow time has millisecond resolution.
CLOCK = timedelta(milliseconds=10)


@asynccontextmanager
async def records_worker(
    client: Client, tmp_path: Path, records: Database, task_queue: str, playbooks: Path
) -> AsyncIterator[None]:
    """The production worker (real activities) writing into `records`; stopping it is a worker
    going away mid-journey, starting another on the same task queue is its restart."""
    settings = ActivitySettings(ONBOARDING_DATA_DIR=tmp_path / "data")
    async with build_worker(client, settings, task_queue=task_queue, playbooks=playbooks, records=records):
        yield


async def end_leftovers(client: Client, task_queue: str, *workflow_ids: str) -> None:
    """A failed test must not leave its journey or the task queue's roster running."""
    for workflow_id in (*workflow_ids, roster_workflow_id(task_queue)):
        with contextlib.suppress(RPCError):  # it completed, as it should have
            await client.get_workflow_handle(workflow_id).terminate("test over")


async def next_run(handle: WorkflowHandle, runs: list[str]) -> None:
    """Wait (bounded) until the journey has continued as new into a run not in `runs`."""
    deadline = asyncio.get_running_loop().time() + 30
    while (run_id := (await handle.describe()).run_id) in runs:
        assert asyncio.get_running_loop().time() < deadline, "the journey never continued as new"
        await asyncio.sleep(0.05)
    runs.append(run_id)


async def test_every_moment_once_after_continue_as_new_worker_restart_and_replay(dev_env, records_db, tmp_path):
    client, task_queue = dev_env.client, f"e2e-{uuid.uuid4().hex[:8]}"
    playbooks = write_playbook(tmp_path / "playbooks", always_open)
    deal = make_deal()
    wid = f"onboarding-{deal.deal_id}"
    try:
        async with records_worker(client, tmp_path, records_db, task_queue, playbooks):
            # Two transitions per run: the journey continues as new after each kickoff.
            handle = await start_journey(client, task_queue, deal, continue_as_new_after=2)
            runs = [handle.result_run_id or ""]
            await wait_for_status(handle, told("first_action"))
            await next_run(handle, runs)
            await handle.signal(OnboardingWorkflow.action_taken, {"action": "dataset_uploaded", "event_id": "e-1"})
            await wait_for_status(handle, told("first_value"))
            await next_run(handle, runs)
        # The worker is gone mid-journey; the customer acts meanwhile.
        await handle.signal(OnboardingWorkflow.action_taken, {"action": "dashboard_shared", "event_id": "e-2"})
        # A new worker, nothing cached: it replays the run so far (moments included) and goes on.
        async with records_worker(client, tmp_path, records_db, task_queue, playbooks):
            await wait_for_status(handle, told("expansion_check"), seconds=60)
            await next_run(handle, runs)
            await handle.signal(OnboardingWorkflow.action_taken, {"action": "teammates_invited", "event_id": "e-3"})
            result = await handle.result()
            owner = (await status(handle)).owner
    finally:
        await end_leftovers(client, task_queue, wid)

    assert result.state is OnboardingState.activated and result.runs == len(runs) == 4
    first = await client.get_workflow_handle(wid, run_id=runs[0]).fetch_history()
    assert first.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")

    def key(kind: MomentKind, *parts: object) -> str:
        return moment_key(wid, kind, *parts)

    direction = Touchpoint.direction
    expected = [  # (key, kind, milestone, touchpoint), in the order the journey lived them
        (key(MomentKind.started), MomentKind.started, None, None),
        (key(MomentKind.owner_assigned, 1), MomentKind.owner_assigned, None, None),
        (key(MomentKind.told, "first_action", 1), MomentKind.told, "first_action", direction),
        (key(MomentKind.first_action, "first_action"), MomentKind.first_action, "first_action", None),
        (key(MomentKind.milestone_completed, "first_action"), MomentKind.milestone_completed, "first_action", direction),
        (key(MomentKind.told, "first_value", 2), MomentKind.told, "first_value", direction),
        (key(MomentKind.milestone_completed, "first_value"), MomentKind.milestone_completed, "first_value", direction),
        (key(MomentKind.told, "expansion_check", 3), MomentKind.told, "expansion_check", direction),
        (key(MomentKind.milestone_completed, "expansion_check"), MomentKind.milestone_completed, "expansion_check",
         direction),
        (key(MomentKind.activated), MomentKind.activated, None, None),
    ]  # fmt: skip

    def seen(stored: list[MomentRequest]) -> list[tuple[str, MomentKind, str | None, Touchpoint | None]]:
        return [(m.key, m.kind, m.milestone, m.touchpoint) for m in stored]

    store = MomentStore(records_db)
    stored = await store.list(workflow_id=wid)
    assert seen(stored) == expected
    assert {(m.deal_id, m.owner, m.segment, m.product, m.journey_version) for m in stored} == {
        (deal.deal_id, owner, deal.segment, deal.product, stored[0].journey_version)
    }
    assert stored[0].journey_version and len({m.playbook_hash for m in stored}) == 1

    # Replaying every run (the first three ended in continue-as-new) writes nothing more.
    replayer = Replayer(
        workflows=[OnboardingWorkflow], data_converter=client.data_converter, workflow_runner=workflow_runner()
    )
    for run_id in runs:
        await replayer.replay_workflow(await client.get_workflow_handle(wid, run_id=run_id).fetch_history())
    assert await store.list(workflow_id=wid) == stored


async def task_once_written(tasks: TaskStore, ident: str) -> EscalationTaskRecord:
    """The journey shows `escalated` before its task activity has run: wait (bounded) for the row."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        try:
            return await tasks.get(ident)
        except TaskNotFound:
            assert asyncio.get_running_loop().time() < deadline, f"no escalation task {ident} in the store"
            await asyncio.sleep(0.05)


async def onboarding_tasks(records_url: str, tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "ONBOARDING_DATABASE_URL": records_url, "ONBOARDING_DATA_DIR": str(tmp_path / "unused")}
    proc = await asyncio.create_subprocess_exec(
        str(ONBOARDING), "tasks", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_an_escalation_resolved_from_the_ui_is_resolved_in_the_store(dev_env, records_db, records_url, tmp_path):
    client, task_queue = dev_env.client, f"e2e-{uuid.uuid4().hex[:8]}"
    playbooks = write_playbook(tmp_path / "playbooks", always_open)
    deal = make_deal()
    wid = f"onboarding-{deal.deal_id}"
    tasks = TaskStore(records_db)
    note = "walked them through SSO on a call"
    try:
        async with records_worker(client, tmp_path, records_db, task_queue, playbooks):
            handle = await start_journey(client, task_queue, deal)
            await wait_for_status(handle, told("first_action"))
            await handle.signal(OnboardingWorkflow.help_requested, {"message": "stuck on SSO", "event_id": "h-1"})
            escalated = await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated)
            opened = await task_once_written(tasks, task_id(wid, 1))
            assert (opened.status, opened.decision, opened.closed_by, opened.closed_at) == (
                TaskStatus.open,
                None,
                None,
                None,
            )
            assert opened.assignee == escalated.owner

            # As the Web UI sends it: the update's name and its JSON input.
            before = datetime.now(UTC)
            after_update = await handle.execute_update(
                "resolve_escalation", {"decision": "skip", "by": "maya", "note": note}
            )
            after = datetime.now(UTC)
            assert after_update["stage"] == "first_value"
            # The update answers once the journey applied the decision: the store has it now.
            resolved = await tasks.get(task_id(wid, 1))
            await handle.signal(OnboardingWorkflow.cancel, {"reason": "test over"})
            await handle.result()
    finally:
        await end_leftovers(client, task_queue, wid)

    assert (resolved.status, resolved.decision, resolved.closed_by, resolved.note) == (
        TaskStatus.resolved,
        "skip",
        "maya",
        note,
    )
    assert resolved.closed_at is not None and before - CLOCK <= resolved.closed_at <= after + CLOCK
    assert (resolved.id, resolved.milestone, resolved.level) == (opened.id, "first_action", 1)
    # The journey's later cancel leaves the resolved task as it was.
    assert await tasks.get(task_id(wid, 1)) == resolved
    [moment] = [m for m in await MomentStore(records_db).list(workflow_id=wid) if m.kind is MomentKind.resolved]
    assert moment.key == moment_key(wid, MomentKind.resolved, "first_action", 1)
    assert moment.detail == {"outcome": "resolved", "decision": "skip"} and moment.touchpoint is Touchpoint.human

    # What `onboarding tasks` shows, as JSON and as the table staff read.
    [line] = (await onboarding_tasks(records_url, tmp_path, "--deal", deal.deal_id, "--json")).splitlines()
    shown = json.loads(line)
    assert (shown["id"], shown["status"], shown["decision"], shown["closed_by"], shown["note"]) == (
        task_id(wid, 1),
        "resolved",
        "skip",
        "maya",
        note,
    )
    assert datetime.fromisoformat(shown["closed_at"]) == resolved.closed_at
    table = (await onboarding_tasks(records_url, tmp_path, "--deal", deal.deal_id)).splitlines()
    assert table[0].split()[:9] == [
        "task",
        "deal",
        "account",
        "milestone",
        "level",
        "assignee",
        "status",
        "decision",
        "by",
    ]
    assert table[1].split()[:10] == [task_id(wid, 1), deal.deal_id, "Acme", "Corp", "first_action", "1", "owner",
                                     opened.assignee, "resolved", "skip"]  # fmt: skip
    assert table[1].split()[10] == "maya"
    assert not (await onboarding_tasks(records_url, tmp_path, "--deal", deal.deal_id, "--open")).count(wid)
