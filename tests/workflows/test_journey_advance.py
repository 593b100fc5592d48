"""Action within the window -> next milestone -> ... -> activated (time-skipping server)."""

from datetime import timedelta

from contracts.journey import JourneyResult
from contracts.signals import ActionTaken
from contracts.status import OnboardingState
from tests.harness.support import (
    advance_until,
    assert_replays,
    make_deal,
    start_journey,
    status,
    told,
)
from workflows.onboarding import OnboardingWorkflow


async def test_actions_advance_every_milestone_to_activated(ts_env, tmp_path, journeys) -> None:
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        first = await advance_until(ts_env, handle, told("first_action"))
        assert first.state is OnboardingState.awaiting_action
        assert first.owner == "leo"  # smb: leo and maya tie at zero load; ids break the tie
        assert first.next_action is not None and first.next_action.due_at is not None
        assert first.next_action.title == "Upload your first dataset"
        assert first.next_action.events == [
            "dataset_uploaded",
            "database_connected",
            "sample_dataset_loaded",
            "setup_call_booked",
        ]
        told_at = next(e.at for e in first.timeline if e.event == "sent direction")
        assert first.next_action.due_at - told_at == timedelta(hours=72)

        await ts_env.sleep(timedelta(hours=5))
        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uploaded", event_id="e-1"))
        second = await advance_until(ts_env, handle, told("first_value"), step=timedelta(minutes=1))
        # the next direction replies to the customer's own action: immediately, not next morning
        acted = next(e.at for e in second.timeline if e.event == "action taken")
        directed = [e.at for e in second.timeline if e.event == "sent direction"][-1]
        assert timedelta(0) <= directed - acted < timedelta(minutes=1)

        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dashboard_shared", event_id="e-2"))
        await advance_until(ts_env, handle, told("expansion_check"), step=timedelta(minutes=1))
        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="teammates_invited", event_id="e-3"))

        result: JourneyResult = await handle.result()
        assert result.state is OnboardingState.activated
        assert [m.key for m in result.milestones] == ["first_action", "first_value", "expansion_check"]
        assert all(m.outcome == "completed" for m in result.milestones)
        assert result.time_to_first_action_seconds is not None
        assert result.time_to_first_action_seconds >= timedelta(hours=5).total_seconds()
        assert result.milestones[0].duration_seconds == result.time_to_first_action_seconds
        final = await status(handle)
        assert final.state is OnboardingState.activated and final.next_action is None
        await assert_replays(handle)


async def test_continue_as_new_loses_nothing(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal(), continue_as_new_after=2)
        await advance_until(ts_env, handle, told("first_action"))
        # an early action for a later milestone, and a duplicate, both carried across runs
        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dashboard_shared", event_id="e-2"))
        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uploaded", event_id="e-1"))
        await advance_until(ts_env, handle, told("expansion_check"), step=timedelta(minutes=1))
        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dashboard_shared", event_id="e-2"))
        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="teammates_invited", event_id="e-3"))
        result = await handle.result()
        assert result.runs > 1
        assert result.state is OnboardingState.activated
        assert [m.outcome for m in result.milestones] == ["completed"] * 3
        assert result.time_to_first_action_seconds is not None
        first_run = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        first_history = await first_run.fetch_history()
        assert first_history.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
        await assert_replays(handle)
