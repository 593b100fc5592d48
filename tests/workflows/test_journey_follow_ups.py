"""No action: clarify, simplify, redirect at the right virtual times, inside the customer's
business hours; the frequency cap; cancel (time-skipping server)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from contracts.signals import ActionTaken, Cancel, HelpRequested
from contracts.staff import ResolveEscalation
from contracts.status import OnboardingState
from tests.harness.support import (
    advance_until,
    assert_replays,
    close_and_replay,
    make_deal,
    move_to_next_monday,
    same_minute,
    sent,
    start_journey,
    status,
    window_66h,
    write_playbook,
)
from workflows.onboarding import OnboardingWorkflow

TOKYO = ZoneInfo("Asia/Tokyo")


def directed_with_due_time(s) -> bool:
    """The kickoff went out and its due time is set: the email is noted when it is sent, the
    due time after its moment is recorded (one more activity), so a query between the two
    sees the email without the due time."""
    return bool(sent(s, "direction")) and s.next_action is not None and s.next_action.due_at is not None


async def test_follow_ups_in_order_inside_tokyo_business_hours(ts_env, tmp_path, journeys):
    client = ts_env.client
    playbooks = write_playbook(tmp_path / "playbooks", window_66h)
    async with journeys(client, playbooks=playbooks) as task_queue:
        monday = await move_to_next_monday(ts_env, hour=8)
        deal = make_deal(account={"timezone": "Asia/Tokyo"})
        handle = await start_journey(client, task_queue, deal)

        def at(days, hour):
            return monday + timedelta(days=days, hours=hour)

        told = await advance_until(ts_env, handle, directed_with_due_time)
        assert same_minute(sent(told, "direction"), [at(0, 9)])  # held from 08:00 to opening time
        assert same_minute([told.next_action.due_at], [at(3, 3)])  # Thursday 03:00

        clarified = await advance_until(ts_env, handle, lambda s: bool(sent(s, "clarify")))
        assert same_minute(sent(clarified, "clarify"), [at(3, 9)])  # not at 03:00: at 09:00
        assert clarified.state is OnboardingState.clarifying
        assert clarified.next_action.title == "Upload your first dataset"

        simplified = await advance_until(ts_env, handle, lambda s: bool(sent(s, "simplify")))
        assert same_minute(sent(simplified, "simplify"), [at(4, 9)])  # Friday, 24 h later
        assert simplified.next_action.title == "Load the sample dataset"

        redirected = await advance_until(ts_env, handle, lambda s: bool(sent(s, "redirect")))
        assert same_minute(sent(redirected, "redirect"), [at(7, 9)])  # Saturday is skipped: Monday 09:00
        assert redirected.next_action.title == "Book a 15-minute setup call"
        assert redirected.state is OnboardingState.clarifying

        # completing the redirect's alternate action counts as the milestone
        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="setup_call_booked", event_id="call-1"))
        advanced = await advance_until(ts_env, handle, lambda s: s.stage == "first_value", step=timedelta(minutes=1))
        assert advanced.state is OnboardingState.awaiting_action
        await close_and_replay(handle)


async def test_at_most_one_proactive_message_per_business_day(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        monday = await move_to_next_monday(ts_env, hour=8)
        handle = await start_journey(client, task_queue, make_deal(account={"timezone": "Asia/Tokyo"}))
        await advance_until(ts_env, handle, directed_with_due_time)
        # a human skips the first milestone the same morning: the next direction is proactive
        # and today's one proactive message is already used, so it waits for Tuesday 09:00
        await ts_env.sleep(timedelta(hours=1))
        await handle.signal(
            OnboardingWorkflow.help_requested, HelpRequested(message="we use Excel only", event_id="h-1")
        )
        await advance_until(ts_env, handle, lambda s: s.state is OnboardingState.escalated, step=timedelta(minutes=1))
        await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="skip", by="dana", note="sales-assisted")
        )
        during = await status(handle)
        # held, not sent: the journey waits on its own direction, due Tuesday 09:00 Tokyo
        assert during.stage == "first_value" and during.waiting_on == "journey" and during.next_action is not None
        assert during.next_action.due_at is not None
        assert same_minute([during.next_action.due_at], [monday + timedelta(days=1, hours=9)])
        directed = await advance_until(ts_env, handle, lambda s: len(sent(s, "direction")) == 2)
        assert same_minute(
            sent(directed, "direction"), [monday + timedelta(hours=9), monday + timedelta(days=1, hours=9)]
        )
        await close_and_replay(handle)


async def test_cancel_closes_at_once_and_nothing_is_sent_afterwards(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        monday = await move_to_next_monday(ts_env, hour=8)
        handle = await start_journey(client, task_queue, make_deal(account={"timezone": "Asia/Tokyo"}))
        told = await advance_until(ts_env, handle, directed_with_due_time)
        # 70 h later the clarify is due Thursday 09:00; the deal is lost Wednesday evening
        await ts_env.sleep(monday + timedelta(days=2, hours=20) - (await ts_env.get_current_time()))
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="deal lost"))
        result = await handle.result()
        assert result.state is OnboardingState.closed
        assert result.reason == "cancelled: deal lost"
        final = await status(handle)
        assert final.state is OnboardingState.closed
        cancelled_at = next(e.at for e in final.timeline if e.event == "cancel")
        assert not [e for e in final.timeline if e.event.startswith("sent") and e.at >= cancelled_at]
        assert [e.event for e in final.timeline if e.event.startswith("sent")] == ["sent direction"]
        assert told.state is OnboardingState.awaiting_action
        await assert_replays(handle)


async def test_cancel_while_a_message_waits_for_business_hours(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        await move_to_next_monday(ts_env, hour=2)  # the kickoff is held until 09:00
        handle = await start_journey(client, task_queue, make_deal(account={"timezone": "Asia/Tokyo"}))
        await advance_until(ts_env, handle, lambda s: s.stage == "first_action", step=timedelta(minutes=1))
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="duplicate deal"))
        result = await handle.result()
        assert result.state is OnboardingState.closed
        final = await status(handle)
        assert not [e for e in final.timeline if e.event.startswith("sent")]
        await assert_replays(handle)
