"""v3.2 (`fewer-commands`): a step's moments are written by one call (a local activity until
v3.8, a regular activity since v3.9 `moments-by-activity`), and a transition upserts only
the search attributes that changed. Journeys started earlier keep their calls until their
next run. The workflow runs on the time-skipping
server with its activities replaced by name (the fake world, lab/fakes.py: the `journeys`
fixture with effects="fake")."""

import asyncio
import copy
import json
from collections import Counter
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from contracts import search_attributes as sa
from contracts.moments import MOMENTS_PER_CALL
from contracts.signals import ActionTaken
from contracts.status import OnboardingState
from lab.drive import run_histories
from tests.harness.support import (
    MINUTE,
    advance_until,
    always_open,
    assert_replays,
    make_deal,
    start_journey,
    take_every_action,
    told,
    write_playbook,
)
from tests.harness.versions import OnboardingWorkflowV31, OnboardingWorkflowV38
from workflows.onboarding import OnboardingWorkflow
from workflows.search_attributes import changed


async def recording_calls(handle: WorkflowHandle, run_id: str | None = None) -> Counter[str]:
    """The moments' calls in a run's history, by activity type: "<type> (local)" for a local
    activity (read from core's markers), "<type>" for a regular one."""
    history = await handle._client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
    calls: Counter[str] = Counter()
    for event in history.events:
        marker = event.marker_recorded_event_attributes
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and marker.marker_name == "core_local_activity":
            calls[json.loads(marker.details["data"].payloads[0].data)["activity_type"] + " (local)"] += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            kind = event.activity_task_scheduled_event_attributes.activity_type.name
            if kind.startswith("record_moment"):
                calls[kind] += 1
    return calls


async def upserted(handle: WorkflowHandle) -> list[dict[str, object]]:
    """What each upsert of the journey set (None: unset), the SDK's patch upserts left out."""
    out = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            if set(fields) != {"TemporalChangeVersion"}:
                out.append({name: json.loads(p.data) if p.data else None for name, p in fields.items()})
    return out


async def test_a_step_writes_its_moments_in_one_call_and_upserts_only_what_changed(ts_env, tmp_path, journeys) -> None:
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=write_playbook(tmp_path / "pb", always_open)) as (
        task_queue,
        effects,
    ):
        handle = await start_journey(client, task_queue, make_deal())
        result = await take_every_action(ts_env, handle)

    assert result.state is OnboardingState.activated
    assert effects.moment_calls == [
        ["started", "owner_assigned", "told"],  # the kickoff
        ["first_action", "milestone_completed", "told"],  # a move
        ["milestone_completed", "told"],
        ["milestone_completed", "activated"],
    ]
    assert await recording_calls(handle) == {"record_moments": 4}  # v3.1: 10 local `record_moment` calls
    assert len({m.key for m in effects.moments}) == len(effects.moments) == 10

    updates = await upserted(handle)
    assert set(updates[0]) >= {"OnboardingStage", "OnboardingState", "OnboardingOwner", "DealId"}  # the first: all
    assert all(u and len(u) <= 3 for u in updates[1:])  # later ones: what changed (state, stage, due time)
    final: dict[str, object] = {}
    for update in updates:
        final.update(update)
    assert final["OnboardingState"] == "activated" and final["OnboardingStage"] == "expansion_check"
    assert final["DealId"] == result.deal_id and final["EscalationLevel"] == 0 and final["NextActionDue"] is None
    await assert_replays(handle)


async def test_a_journey_started_on_v3_1_keeps_its_calls_until_its_next_run(ts_env, tmp_path, journeys):
    """Deployed mid-journey: the running v3.1 run replays and goes on with one call per
    moment; the run it continues as new writes per step. Every moment once across both."""
    client, playbooks = ts_env.client, write_playbook(tmp_path / "pb", always_open)
    async with journeys(
        client, effects="fake", playbooks=playbooks, journey=OnboardingWorkflowV31, keep_journeys=True
    ) as (queue, old):
        handle = await start_journey(client, queue, make_deal(), continue_as_new_after=6)
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
    first_run = handle.first_execution_run_id
    assert first_run is not None
    assert await recording_calls(handle, first_run) == {"record_moment (local)": 3}

    async with journeys(client, effects="fake", playbooks=playbooks, task_queue=queue) as (_, new):
        await take_every_action(ts_env, handle)

    histories = await run_histories(client, handle.id, first_run)
    assert len(histories) >= 2  # it did continue as new
    by_run = [await recording_calls(handle, h.run_id) for h in histories]
    assert set(by_run[0]) == {"record_moment (local)"}  # the v3.1 run, to its end on the new worker
    assert all(set(calls) == {"record_moments"} for calls in by_run[1:])
    moments = old.moments + new.moments
    assert len({m.key for m in moments}) == len(moments) == 10
    for history in histories:
        await assert_replays(handle._client.get_workflow_handle(handle.id, run_id=history.run_id))


async def test_a_journey_started_on_v3_8_keeps_its_local_activities_until_its_next_run(ts_env, tmp_path, journeys):
    """v3.9 deployed mid-journey: the v3.8 run replays and writes its moments by local
    activities to its end; the run it continues as new writes them by regular activities.
    Every moment once across both."""
    client, playbooks = ts_env.client, write_playbook(tmp_path / "pb", always_open)
    async with journeys(
        client, effects="fake", playbooks=playbooks, journey=OnboardingWorkflowV38, keep_journeys=True
    ) as (queue, old):
        handle = await start_journey(client, queue, make_deal(), continue_as_new_after=6)
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
    first_run = handle.first_execution_run_id
    assert first_run is not None
    assert await recording_calls(handle, first_run) == {"record_moments (local)": 1}  # the kickoff's

    async with journeys(client, effects="fake", playbooks=playbooks, task_queue=queue) as (_, new):
        await take_every_action(ts_env, handle)

    histories = await run_histories(client, handle.id, first_run)
    assert len(histories) >= 2  # it did continue as new
    by_run = [await recording_calls(handle, h.run_id) for h in histories]
    assert set(by_run[0]) == {"record_moments (local)"}  # the v3.8 run, to its end on the new worker
    assert all(set(calls) <= {"record_moments"} for calls in by_run[1:]) and any(by_run[1:])
    moments = old.moments + new.moments
    assert len({m.key for m in moments}) == len(moments) == 10
    for history in histories:
        await assert_replays(handle._client.get_workflow_handle(handle.id, run_id=history.run_id))


MANY = 70  # milestones: one held moment each, more than one call takes


def many_milestones(playbook: dict[str, Any]) -> None:
    """The default playbook and then copies of its second milestone, each with its own event."""
    always_open(playbook)
    template = playbook["milestones"][1]
    for i in range(MANY - len(playbook["milestones"])):
        extra = copy.deepcopy(template)
        extra["key"], extra["follow_ups"] = f"step_{i}", []
        extra["action"]["events"] = [f"step_{i}_done"]
        playbook["milestones"].append(extra)


async def test_moments_held_past_one_calls_worth_are_written_in_full_batches(ts_env, tmp_path, journeys):
    """Every later milestone's event arrives before the first is done: the journey goes
    through all of them in one step, holding a `milestone_completed` each. The batch is
    written whenever it is full, never grown past what one call takes (that failed the task)."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=write_playbook(tmp_path / "pb", many_milestones)) as (
        task_queue,
        effects,
    ):
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        later = [f"step_{i}_done" for i in range(MANY - 3)] + ["teammates_invited", "dashboard_shared"]
        for event in [*later, "dataset_uploaded"]:
            await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action=event, event_id=f"e-{event}"))
        # bounded: an oversized batch failed the workflow task, retried forever
        result = await asyncio.wait_for(handle.result(), timeout=60)

    assert result.state is OnboardingState.activated
    assert effects.moment_calls[0] == ["started", "owner_assigned", "told"]
    step = [kind for call in effects.moment_calls[1:] for kind in call]
    assert step == ["first_action"] + ["milestone_completed"] * MANY + ["activated"]
    assert [len(call) for call in effects.moment_calls[1:]] == [MOMENTS_PER_CALL, MANY + 2 - MOMENTS_PER_CALL]
    assert len({m.key for m in effects.moments}) == len(effects.moments) == MANY + 5
    await assert_replays(handle)


def test_changed_leaves_out_what_stands():
    current = TypedSearchAttributes(
        [SearchAttributePair(sa.STATE, "awaiting_action"), SearchAttributePair(sa.STAGE, "first_action")]
    )
    updates = [
        sa.STATE.value_set("awaiting_action"),  # the same
        sa.STAGE.value_set("first_value"),  # changed
        sa.NEXT_ACTION_DUE.value_unset(),  # absent already
        sa.ESCALATION_LEVEL.value_set(0),  # new: 0 is a value
        sa.OWNER_OVER_CAPACITY.value_set(False),  # new: False is a value
    ]
    assert [u.key for u in changed(updates, current)] == [sa.STAGE, sa.ESCALATION_LEVEL, sa.OWNER_OVER_CAPACITY]
    assert changed(updates[:1], current) == []
