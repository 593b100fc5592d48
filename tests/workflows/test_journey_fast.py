"""The journey's own decisions, fast: the workflow on the time-skipping server with its
activities replaced by name (the fake world, lab/fakes.py: the `journeys` fixture with
effects="fake"), so a whole journey of weeks runs in about a second and the test reads exactly what the journey asked the outside world for. The same
paths with the real activities (SMTP, records, the roster workflow) are the integration
tests in tests/workflows/test_journey_*.py."""

from datetime import timedelta

from contracts.signals import ActionFailed, Cancel
from contracts.staff import ResolveEscalation
from contracts.status import OnboardingState
from tests.harness.support import (
    MILESTONE_EVENTS,
    MINUTE,
    advance_until,
    assert_replays,
    escalated,
    make_deal,
    start_journey,
    take_every_action,
    told,
    write_playbook,
)
from workflows.onboarding import OnboardingWorkflow

MILESTONES = MILESTONE_EVENTS


async def test_every_milestone_done_activates_with_one_direction_each(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=write_playbook(tmp_path / "pb")) as (task_queue, effects):
        handle = await start_journey(client, task_queue, make_deal())
        result = await take_every_action(ts_env, handle)

    assert result.state is OnboardingState.activated
    assert effects.kinds() == ["direction"] * len(MILESTONES)  # one first action told per milestone, nothing else
    assert [m.key for m in effects.messages] == [f"{handle.id}:{m}:direction:{n}" for n, m in enumerate(MILESTONES, 1)]
    kinds = effects.moment_kinds()
    assert kinds[:3] == ["started", "owner_assigned", "told"] and kinds[-1] == "activated"
    assert kinds.count("told") == len(MILESTONES)
    assert len({m.key for m in effects.moments}) == len(effects.moments)  # every moment once
    assert effects.released == [handle.id]  # the owner's place is free again
    await assert_replays(handle)


async def test_silence_follows_up_then_escalates_and_a_decision_closes_the_task(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=write_playbook(tmp_path / "pb")) as (task_queue, effects):
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, escalated, step=timedelta(hours=1))
        assert effects.kinds() == ["direction", "clarify", "simplify", "redirect"]
        [(key, task)] = effects.tasks.items()
        assert key == (handle.id, 1) and task.level == 1 and task.assignee == effects.owners[handle.id]

        # nobody answers within the SLA: a level up, a second task for the backup
        await advance_until(ts_env, handle, lambda s: s.escalation_level == 2, step=timedelta(hours=1))
        assert [t.level for t in effects.tasks.values()] == [2] and effects.tasks[(handle.id, 1)].level == 2

        await handle.execute_update(
            OnboardingWorkflow.resolve_escalation,
            ResolveEscalation(decision="skip", by="sam", note="customer on leave"),
        )
        moved = await advance_until(ts_env, handle, told("first_value"), step=MINUTE)
        assert moved.state is OnboardingState.awaiting_action
        closed = effects.tasks[(handle.id, 1)]
        assert (closed.status, closed.decision, closed.closed_by) == ("resolved", "skip", "sam")
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
    await assert_replays(handle)


async def test_repeated_failures_escalate_after_the_playbooks_count(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=write_playbook(tmp_path / "pb")) as (task_queue, effects):
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        for n in (1, 2):
            # each its own reason: identical help within the window is sent once (v3.10)
            failed = ActionFailed(action="dataset_uploaded", event_id=f"f-{n}", reason=f"file too large ({n})")
            await handle.signal(OnboardingWorkflow.action_failed, failed)
            await handle.signal(OnboardingWorkflow.action_failed, failed)  # redelivered: counted once
        now = await advance_until(ts_env, handle, escalated, step=MINUTE)
        assert now.escalation_level == 1 and len(effects.tasks) == 1
        assert effects.kinds() == ["direction", "help", "help"]  # one answer per real failure
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="deal lost"))
        result = await handle.result()

    assert result.state is OnboardingState.closed
    assert effects.tasks[(handle.id, 1)].status == "cancelled"  # the open task ends with the journey
    assert effects.released == [handle.id]
    await assert_replays(handle)


async def test_cancel_while_waiting_sends_nothing_more(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=write_playbook(tmp_path / "pb")) as (task_queue, effects):
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="deal lost"))
        result = await handle.result()
        await ts_env.sleep(timedelta(days=10))  # no timer left behind sends a follow-up

    assert result.state is OnboardingState.closed
    assert effects.kinds() == ["direction"]
    assert effects.moment_kinds()[-1] == "closed"
    await assert_replays(handle)
