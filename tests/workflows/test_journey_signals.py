"""What the product tells the journey: failed attempts, help requests, duplicates, early
actions, and the deal details arriving after the journey (time-skipping server)."""

from datetime import timedelta

from contracts.journey import JourneyInput
from contracts.search_attributes import start_options
from contracts.signals import ActionFailed, ActionTaken, Cancel, HelpRequested
from contracts.status import OnboardingState
from tests.harness.support import (
    MINUTE,
    advance_until,
    assert_replays,
    close_and_replay,
    make_deal,
    start_journey,
    status,
    told,
)
from workflows.onboarding import OnboardingWorkflow


def events(s, name):
    return [e for e in s.timeline if e.event == name]


async def test_failed_attempt_gets_help_at_once_and_repeated_failures_escalate(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"))
        await ts_env.sleep(timedelta(hours=3))
        await handle.signal(
            OnboardingWorkflow.action_failed,
            ActionFailed(action="dataset_uploaded", reason="CSV has no header", event_id="f-1"),
        )
        helped = await advance_until(ts_env, handle, lambda s: bool(events(s, "sent help")), step=timedelta(seconds=10))
        failed_at = events(helped, "action failed")[0].at
        assert timedelta(0) <= events(helped, "sent help")[0].at - failed_at < MINUTE  # not at the end of the window
        assert helped.state is OnboardingState.awaiting_action  # one failure is not yet an escalation

        await handle.signal(  # another reason: identical help within the window is sent once (v3.10)
            OnboardingWorkflow.action_failed,
            ActionFailed(action="dataset_uploaded", reason="CSV has two header rows", event_id="f-2"),
        )
        escalated = await advance_until(ts_env, handle, lambda s: s.state is OnboardingState.escalated, step=MINUTE)
        assert escalated.reason == "2 failed attempts at 'dataset_uploaded'"
        assert len(events(escalated, "sent help")) == 2
        await close_and_replay(handle)


async def test_help_request_escalates(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"))
        await handle.signal(
            OnboardingWorkflow.help_requested, HelpRequested(message="Which file format?", event_id="h-1")
        )
        escalated = await advance_until(ts_env, handle, lambda s: s.state is OnboardingState.escalated, step=MINUTE)
        assert escalated.reason == "customer asked for help: Which file format?"
        assert escalated.escalation_level == 1
        await close_and_replay(handle)


async def test_duplicate_event_ids_have_no_second_effect(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"))
        failure = {"action": "dataset_uploaded", "reason": "timeout", "event_id": "f-1"}
        for _ in range(3):  # the product retried its delivery
            await handle.signal(OnboardingWorkflow.action_failed, failure)
        await advance_until(
            ts_env,
            handle,
            lambda s: len(events(s, "duplicate event ignored")) == 2 and events(s, "sent help"),
            step=MINUTE,
        )
        await ts_env.sleep(timedelta(hours=1))  # room for a second effect, were there one
        state = await status(handle)
        assert len(events(state, "action failed")) == 1
        assert len(events(state, "sent help")) == 1
        assert state.state is OnboardingState.awaiting_action  # two failures would have escalated
        await close_and_replay(handle)


async def test_early_action_for_a_later_milestone_counts_when_it_starts(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"))
        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dashboard_shared", event_id="e-2"))
        early = await advance_until(ts_env, handle, lambda s: bool(events(s, "action taken")), step=MINUTE)
        assert early.stage == "first_action"  # remembered, not applied to the wrong milestone
        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uploaded", event_id="e-1"))
        later = await advance_until(ts_env, handle, told("expansion_check"), step=MINUTE)
        assert later.stage == "expansion_check"
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        result = await handle.result()
        assert [(m.key, m.outcome) for m in result.milestones] == [
            ("first_action", "completed"),
            ("first_value", "completed"),
        ]
        await assert_replays(handle)


async def test_journey_started_before_its_deal_details_waits_for_them(ts_env, tmp_path, journeys):
    client = ts_env.client
    deal = make_deal()
    async with journeys(client) as task_queue:
        handle = await client.start_workflow(
            OnboardingWorkflow.run,
            JourneyInput(deal_id=deal.deal_id),
            **start_options(deal.deal_id, task_queue=task_queue),
            start_signal="action_taken",
            start_signal_args=[{"action": "dataset_uploaded", "event_id": "early-1"}],
        )
        waiting = await status(handle)
        assert waiting.reason == "starting: waiting for deal details" and waiting.stage == ""
        await handle.signal(OnboardingWorkflow.deal_closed, deal)
        # the action that arrived first completes the first milestone as soon as it starts
        moved = await advance_until(ts_env, handle, told("first_value"), step=MINUTE)
        assert moved.deal_id == deal.deal_id
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        result = await handle.result()
        assert result.time_to_first_action_seconds is not None
        await assert_replays(handle)
