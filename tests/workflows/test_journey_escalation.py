"""Escalation to a human: triggers, the four resolutions, validation, SLA level-up
(time-skipping server)."""

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from contracts.escalations import TaskStatus
from contracts.signals import ActionTaken, Cancel, HelpRequested
from contracts.staff import ResolveEscalation
from contracts.status import OnboardingState
from records.database import Database
from records.tasks import TaskStore
from tests.harness.support import (
    MINUTE,
    advance_until,
    assert_replays,
    close_and_replay,
    escalated,
    make_deal,
    start_journey,
    status,
    told,
)
from workflows.onboarding import OnboardingWorkflow


async def tasks(tmp_path):
    """The escalation tasks the worker wrote into its records (SQLite under its data dir)."""
    db = Database.from_settings(None, tmp_path / "data")
    try:
        return await TaskStore(db).list()
    finally:
        await db.dispose()


async def task_levels(tmp_path, task_id):
    db = Database.from_settings(None, tmp_path / "data")
    try:
        return [(e.event, e.level, e.assignee) for e in await TaskStore(db).events(task_id)]
    finally:
        await db.dispose()


async def escalate_by_help(env, handle):
    await advance_until(env, handle, told("first_action"))
    await handle.signal(OnboardingWorkflow.help_requested, HelpRequested(message="stuck on SSO", event_id="h-1"))
    return await advance_until(env, handle, escalated, step=MINUTE)


async def test_exhausted_follow_ups_escalate_and_create_an_owner_task(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        state = await advance_until(ts_env, handle, escalated, step=timedelta(hours=2))
        assert state.reason == "no 'Upload your first dataset' after every follow-up"
        assert state.escalation_level == 1
        assert state.eligible_touchpoints == ["resolve_escalation"]
        assert [e.event for e in state.timeline if e.event.startswith("sent")][-3:] == [
            "sent clarify",
            "sent simplify",
            "sent redirect",
        ]
        [task] = await tasks(tmp_path)
        assert task.assignee == state.owner and task.level_name == "owner" and task.level == 1
        assert task.status is TaskStatus.open and task.milestone == "first_action"
        assert task.id == f"{handle.id}:escalation-1" and task.deal_id == handle.id.removeprefix("onboarding-")

        # retry: the conversation starts over with a fresh direction and window
        after = await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="retry", by="maya", note="new contact")
        )
        assert after.state is OnboardingState.awaiting_action
        retried = await advance_until(
            ts_env, handle, lambda s: s.waiting_on == "customer" and s.state is OnboardingState.awaiting_action
        )  # the retry's direction went out: the customer has a fresh window
        assert retried.eligible_touchpoints[0] == "clarify"
        await close_and_replay(handle)


async def test_skip_moves_to_the_next_milestone(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await escalate_by_help(ts_env, handle)
        after = await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="skip", by="maya", note="done offline")
        )
        assert after.stage == "first_value" and after.state is OnboardingState.awaiting_action
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        result = await handle.result()
        assert [(m.key, m.outcome) for m in result.milestones] == [("first_action", "skipped")]
        assert result.time_to_first_action_seconds is None  # skipping is not the customer acting
        await assert_replays(handle)


async def test_reassign_changes_the_owner_and_unknown_owner_is_refused(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        before = await escalate_by_help(ts_env, handle)
        assert before.owner == "leo"
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="reassign", owner="nobody", by="dana")
            )
        assert "no owner with id 'nobody'" in str(refused.value.cause)
        assert escalated(await status(handle))  # still waiting for a valid decision
        after = await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="reassign", owner="maya", by="dana")
        )
        assert after.owner == "maya" and after.state is OnboardingState.awaiting_action
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        result = await handle.result()
        assert result.owner == "maya"
        await assert_replays(handle)


async def test_close_ends_the_journey(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await escalate_by_help(ts_env, handle)
        after = await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="close", by="dana", note="churned")
        )
        assert after.state is OnboardingState.closed
        result = await handle.result()
        assert result.state is OnboardingState.closed and result.reason == "closed by dana: churned"
        await assert_replays(handle)


async def test_invalid_resolutions_are_rejected_with_a_clear_message(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"))
        with pytest.raises(WorkflowUpdateFailedError) as nothing:
            await handle.execute_update(
                OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="retry", by="maya")
            )
        assert "nothing is escalated: the journey is awaiting_action" in str(nothing.value.cause)

        await handle.signal(OnboardingWorkflow.help_requested, HelpRequested(message="help", event_id="h-1"))
        await advance_until(ts_env, handle, escalated, step=MINUTE)
        for bad, field in [
            ({"decision": "reassign", "by": "maya"}, "owner"),
            ({"decision": "maybe", "by": "maya"}, "decision"),
            ({"decision": "retry"}, "by"),
            ({"decision": "skip", "owner": "leo", "by": "maya"}, "owner"),
        ]:
            with pytest.raises(WorkflowUpdateFailedError) as rejected:
                await handle.execute_update("resolve_escalation", bad)
            assert field in str(rejected.value.cause), bad
        still = await status(handle)
        assert escalated(still)
        await close_and_replay(handle)


async def test_unanswered_escalation_moves_a_level_up_after_its_sla(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        first = await escalate_by_help(ts_env, handle)
        escalated_at = next(e.at for e in reversed(first.timeline) if e.event == "escalated")
        second = await advance_until(ts_env, handle, lambda s: s.escalation_level == 2, step=timedelta(hours=1))
        moved_at = [e.at for e in second.timeline if e.event == "escalated"][-1]
        assert timedelta(hours=24) <= moved_at - escalated_at < timedelta(hours=24, minutes=1)
        assert "moved to backup" in second.reason
        third = await advance_until(ts_env, handle, lambda s: s.escalation_level == 3, step=timedelta(hours=1))
        assert "moved to manager" in third.reason
        # one task for the escalation, moved up twice, each move on record
        [task] = await tasks(tmp_path)
        assert (task.level, task.level_name, task.assignee, task.status) == (3, "manager", "dana", TaskStatus.open)
        assert await task_levels(tmp_path, task.id) == [
            ("created", 1, "leo"),
            ("moved_up", 2, "maya"),
            ("moved_up", 3, "dana"),
        ]
        # the top level waits without a further timer; a decision still works
        await ts_env.sleep(timedelta(days=10))
        assert (await status(handle)).escalation_level == 3
        after = await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="retry", by="dana")
        )
        assert after.escalation_level == 0
        await close_and_replay(handle)


async def test_high_value_deal_gets_a_human_at_kickoff(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal(amount=300_000))
        state = await advance_until(ts_env, handle, escalated, step=MINUTE)
        assert state.reason.startswith("high-value deal")
        assert not [e for e in state.timeline if e.event.startswith("sent")]  # a human looks first
        await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="retry", by="maya", note="reviewed")
        )
        told_ = await advance_until(ts_env, handle, told("first_action"))
        assert [e.event for e in told_.timeline if e.event.startswith("sent")] == ["sent direction"]
        await close_and_replay(handle)


async def test_the_high_value_rule_converts_the_deals_currency_to_the_playbooks(ts_env, tmp_path, journeys):
    """The default playbook: above 250,000 USD, with rates. 300,000 JPY (about 2,000 USD) starts
    at once; 300,000 USD waits for a review; a currency it has no rate for gets the review too."""
    client = ts_env.client
    async with journeys(client, effects="fake") as (task_queue, _):
        yen = await start_journey(client, task_queue, make_deal(amount=300_000, currency="JPY"))
        dollars = await start_journey(client, task_queue, make_deal(amount=300_000, currency="USD"))
        rand = await start_journey(client, task_queue, make_deal(amount=300_000, currency="ZAR"))
        review = await advance_until(ts_env, dollars, escalated, step=MINUTE)
        assert review.reason == "high-value deal: a human reviews the kickoff"
        unknown = await advance_until(ts_env, rand, escalated, step=MINUTE)
        assert unknown.reason == (
            "high-value check: the playbook has no rate from ZAR to USD, so a human reviews the kickoff"
        )
        # business hours are at most 2.5 days away: a review would hold the kickoff for good
        started = await advance_until(ts_env, yen, told("first_action"), step=10 * MINUTE, limit=timedelta(days=3))
        assert started.escalation_level == 0 and not [e for e in started.timeline if e.event == "escalated"]
        for handle in (yen, dollars, rand):
            await close_and_replay(handle)


async def test_customer_action_during_escalation_advances(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await escalate_by_help(ts_env, handle)
        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="database_connected", event_id="e-9"))
        moved = await advance_until(ts_env, handle, told("first_value"), step=MINUTE)
        assert moved.escalation_level == 0
        with pytest.raises(WorkflowUpdateFailedError) as late:
            await handle.execute_update(
                OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="retry", by="maya")
            )
        assert "nothing is escalated" in str(late.value.cause)
        await close_and_replay(handle)
