"""Two product lines on the real worker (time-skipping server, real activities, the owner
roster workflow, the records): one product's broken playbook stops only its own journeys,
which go to a human with the reason; a CRM's capitalised labels find their playbook and an
owner; a deal no playbook claims goes to a human, or to the declared fallback, visibly."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

import worker
from activities.settings import ActivitySettings
from contracts.escalations import TaskStatus
from contracts.search_attributes import ESCALATION_LEVEL, STATE
from contracts.signals import Cancel
from contracts.staff import ResolveEscalation
from contracts.status import OnboardingState
from records.database import Database
from records.tasks import TaskStore
from runtime.sandbox import workflow_runner
from tests.harness.support import (
    MINUTE,
    _terminate_leftovers,
    advance_until,
    always_open,
    assert_replays,
    close_and_replay,
    default_playbook,
    escalated,
    make_deal,
    refused,
    start_journey,
    told,
)
from workflows import versions
from workflows.onboarding import OnboardingWorkflow

PAYROLL_ACTION = "Run your first payroll"
SOON = timedelta(hours=1)  # everything here happens at once (business hours open around the clock)


def playbook(name: str, segments: list[str], products: list[str], **extra: Any) -> dict[str, Any]:
    data = default_playbook()
    always_open(data)
    data.update(name=name, applies_to={"segments": segments, "products": products}, **extra)
    return data


def payroll(*, broken: bool = False) -> dict[str, Any]:
    data = playbook("payroll", ["mid-market"], ["payroll"])
    data["milestones"][0]["action"]["title"] = PAYROLL_ACTION
    if broken:  # the CS lead's mistake: a milestone without its direction message
        data["milestones"][0].pop("direction")
    return data


def write(directory: Path, file: str, data: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / file).write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


def two_products(directory: Path, *, broken: bool = False) -> Path:
    write(directory, "analytics.yaml", playbook("analytics", ["*"], ["analytics"]))
    return write(directory, "payroll.yaml", payroll(broken=broken))


async def tasks_of(tmp_path: Path, workflow_id: str):
    db = Database.from_settings(None, tmp_path / "data")
    try:
        return [t for t in await TaskStore(db).list() if t.workflow_id == workflow_id]
    finally:
        await db.dispose()


async def patched(handle, patch_id: str) -> bool:
    """The journey's history carries that patch's marker."""
    history = await handle.fetch_history()
    return any(
        patch_id.encode() in e.SerializeToString()
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    )


async def test_a_broken_product_playbook_stops_only_its_own_journeys(ts_env, tmp_path, json_logs, journeys):
    client = ts_env.client
    playbooks = two_products(tmp_path / "playbooks", broken=True)
    async with journeys(client, playbooks=playbooks) as task_queue:
        analytics = await start_journey(client, task_queue, make_deal(product="analytics"))
        stuck = await start_journey(client, task_queue, make_deal(segment="Mid-Market", product="Payroll"))

        # product A: started and told as if nothing were wrong
        told_a = await advance_until(ts_env, analytics, told("first_action"), step=MINUTE, limit=SOON)
        assert told_a.playbook == "analytics" and told_a.next_action.title == "Upload your first dataset"

        # product B: a human has it, with the reason, at once (not an activity retried forever)
        held = await advance_until(ts_env, stuck, escalated, step=MINUTE, limit=SOON)
        reason = (
            "the playbook for segment 'Mid-Market' / product 'Payroll' (payroll.yaml) is broken: "
            "milestones.0.direction: Field required"
        )
        assert held.reason == reason and held.waiting_on == "human" and held.escalation_level == 3
        assert held.eligible_touchpoints == ["resolve_escalation"] and held.playbook == ""
        assert held.owner in {"maya", "leo"} and held.next_action.due_at is not None
        assert not [e for e in held.timeline if e.event.startswith("sent")]  # nothing reached the customer
        [task] = await tasks_of(tmp_path, stuck.id)
        assert (task.assignee, task.level_name, task.status) == ("dana", "manager", TaskStatus.open)
        assert reason in task.reason and "onboarding playbooks" in task.reason
        listed = (await stuck.describe()).typed_search_attributes  # what staff filter lists by
        assert listed.get(STATE) == "escalated" and listed.get(ESCALATION_LEVEL) == 3

        # only retry or close apply; a skip is refused with why
        why = await refused(stuck, OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="skip", by="dana"))
        assert "'skip' does not apply: no playbook can run this journey yet" in why

        # the CS lead fixes the file; the manager retries: the journey starts on payroll's playbook
        write(playbooks, "payroll.yaml", payroll())
        after = await stuck.execute_update(
            OnboardingWorkflow.resolve_escalation,
            ResolveEscalation(decision="retry", by="dana", note="payroll.yaml fixed"),
        )
        assert after.state is OnboardingState.awaiting_action
        told_b = await advance_until(ts_env, stuck, told("first_action"), step=MINUTE, limit=SOON)
        assert told_b.playbook == "payroll" and told_b.next_action.title == PAYROLL_ACTION
        assert told_b.owner == held.owner  # the place it held all along
        [task] = await tasks_of(tmp_path, stuck.id)
        assert (task.status, task.decision, task.closed_by) == (TaskStatus.resolved, "retry", "dana")
        assert await patched(stuck, versions.PLAYBOOK_UNAVAILABLE)
        assert not await patched(analytics, versions.PLAYBOOK_UNAVAILABLE)
        await close_and_replay(analytics)
        await close_and_replay(stuck)

    out = json_logs.getvalue()
    lines = [json.loads(line) for line in out.splitlines()]
    [broken] = [line for line in lines if line["event"] == "playbook.broken"]  # once, however many journeys
    assert broken["level"] == "error" and broken["file"] == "payroll.yaml"
    assert broken["problems"] == ["milestones.0.direction: Field required"]
    refusals = [line for line in lines if line["event"] == "playbook.none_for_journey"]
    assert refusals and all(line["files"] == ["payroll.yaml"] for line in refusals)
    for text in ("ana@acme.example", "Ana Ruiz", "Acme Corp"):
        assert text not in out


async def test_a_capitalised_crm_deal_gets_its_products_playbook_and_an_owner(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, playbooks=two_products(tmp_path / "playbooks")) as task_queue:
        handle = await start_journey(client, task_queue, make_deal(segment="Mid-Market", product="Payroll"))
        state = await advance_until(ts_env, handle, told("first_action"), step=MINUTE, limit=SOON)
        assert state.playbook == "payroll" and state.next_action.title == PAYROLL_ACTION
        assert state.owner in {"maya", "leo"}  # served by the owners of `mid-market`, not the manager
        assert not state.owner_over_capacity and state.playbook_notice == ""
        assert any(e.event == "awaiting_action" and e.detail.startswith("owner ") for e in state.timeline)
        await close_and_replay(handle)


async def test_a_deal_no_playbook_claims_goes_to_a_human_without_a_fallback(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, playbooks=two_products(tmp_path / "playbooks")) as task_queue:
        closed = await start_journey(client, task_queue, make_deal(product="HR"))
        lost = await start_journey(client, task_queue, make_deal(product="HR"))
        for handle in (closed, lost):
            state = await advance_until(ts_env, handle, escalated, step=MINUTE, limit=SOON)
            assert state.reason == (
                "no playbook for segment 'smb' / product 'HR', and no playbook is the fallback (fallback: true)"
            )
        # still none a day later: it looked again by itself, and still waits on the human
        later = await advance_until(
            ts_env,
            closed,
            lambda s: any(e.event == "escalated" for e in s.timeline[1:]),
            step=timedelta(hours=6),
            limit=timedelta(days=3),
        )
        assert later.state is OnboardingState.escalated and len(await tasks_of(tmp_path, closed.id)) == 1

        await closed.execute_update(
            OnboardingWorkflow.resolve_escalation,
            ResolveEscalation(decision="close", by="dana", note="no HR onboarding"),
        )
        result = await closed.result()
        assert result.state is OnboardingState.closed and result.reason == "closed by dana: no HR onboarding"
        assert result.escalations == 1 and result.owner in {"maya", "leo"}
        [task] = await tasks_of(tmp_path, closed.id)
        assert (task.status, task.decision) == (TaskStatus.resolved, "close")

        await lost.signal(OnboardingWorkflow.cancel, Cancel(reason="deal lost"))
        assert (await lost.result()).state is OnboardingState.closed
        [task] = await tasks_of(tmp_path, lost.id)
        assert task.status is TaskStatus.cancelled
        for handle in (closed, lost):
            await assert_replays(handle)


async def test_a_declared_fallback_runs_unclaimed_deals_and_says_so(ts_env, tmp_path, journeys):
    client = ts_env.client
    playbooks = two_products(tmp_path / "playbooks")
    general = playbook("general", ["*"], ["general"], fallback=True)
    general["milestones"][0]["action"]["title"] = "Open your workspace"
    write(playbooks, "general.yaml", general)
    async with journeys(client, playbooks=playbooks) as task_queue:
        handle = await start_journey(client, task_queue, make_deal(product="HR"))
        state = await advance_until(ts_env, handle, told("first_action"), step=MINUTE, limit=SOON)
        notice = "no playbook for segment 'smb' / product 'HR': the fallback playbook 'general' (general.yaml) runs"
        assert state.playbook == "general" and state.playbook_notice == notice
        assert state.next_action.title == "Open your workspace"
        assert [e.detail for e in state.timeline if e.event == "playbook"] == [notice]
        await close_and_replay(handle)


async def test_a_journey_stuck_retrying_its_snapshot_goes_to_a_human_on_the_new_build(ts_env, tmp_path) -> None:
    """Before this build the snapshot activity raised a retryable error on any bad file, so
    the journey retried it forever, unseen. Such a journey, in flight when the new build
    arrives, takes the new path at its next attempt: escalated, with the reason."""
    client = ts_env.client
    task_queue = f"stuck-{uuid.uuid4().hex[:8]}"
    attempts: list[int] = []

    @activity.defn(name="snapshot_playbook")
    async def old_snapshot(request: dict) -> dict:  # what the previous build did on a bad file
        attempts.append(activity.info().attempt)
        raise ApplicationError("payroll.yaml: 1 problem(s)", type="PlaybookError")

    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[OnboardingWorkflow],
        activities=[old_snapshot],
        workflow_runner=workflow_runner(),
        max_cached_workflows=0,
    ):
        handle = await start_journey(client, task_queue, make_deal(segment="Mid-Market", product="Payroll"))
        while len(attempts) < 2:
            await asyncio.sleep(0.2)
    settings = ActivitySettings(ONBOARDING_DATA_DIR=tmp_path / "data")
    playbooks = two_products(tmp_path / "playbooks", broken=True)
    try:
        async with worker.build_worker(client, settings, task_queue=task_queue, playbooks=playbooks):
            state = await advance_until(ts_env, handle, escalated, step=MINUTE, limit=SOON)
            assert state.reason.startswith("the playbook for segment 'Mid-Market' / product 'Payroll' (payroll.yaml)")
            assert await patched(handle, versions.PLAYBOOK_UNAVAILABLE)
            await close_and_replay(handle)
    finally:
        await _terminate_leftovers(task_queue, client)
