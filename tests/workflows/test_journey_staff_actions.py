"""Staff actions from the UI or API: reassign_owner, extend_deadline, pause, resume. Each
works, and each refuses bad input saying why (time-skipping server)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from temporalio.api.enums.v1 import EventType

from contracts.signals import Cancel, HelpRequested
from contracts.staff import ExtendDeadline, Pause, ReassignOwner, ResolveEscalation, Resume
from contracts.status import OnboardingState
from tests.harness.support import (
    MINUTE,
    advance_until,
    assert_replays,
    close_and_replay,
    make_deal,
    move_to_next_monday,
    refused,
    same_minute,
    sent,
    start_journey,
    status,
    told,
    window_66h,
    write_playbook,
)
from workflows import versions
from workflows.onboarding import OnboardingWorkflow

TOKYO = ZoneInfo("Asia/Tokyo")


async def told_journey(ts_env, client, task_queue):
    monday = await move_to_next_monday(ts_env, hour=8)
    handle = await start_journey(client, task_queue, make_deal(account={"timezone": "Asia/Tokyo"}))
    await advance_until(ts_env, handle, told("first_action"))
    return monday, handle


async def test_extend_deadline_moves_the_follow_up_exactly_and_replaces_the_timer(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        monday, handle = await told_journey(ts_env, client, task_queue)
        new_due = monday + timedelta(days=4, hours=10, minutes=30)  # Friday 10:30 Tokyo
        after = await handle.execute_update(
            OnboardingWorkflow.extend_deadline,
            {"until": new_due.isoformat(), "by": "maya", "note": "customer on leave"},
        )
        assert after.next_action.due_at == new_due
        clarified = await advance_until(ts_env, handle, lambda s: bool(sent(s, "clarify")))
        assert same_minute(sent(clarified, "clarify"), [new_due])  # not Thursday 09:00
        history = await handle.fetch_history()
        kinds = [e.event_type for e in history.events]
        assert kinds.count(EventType.EVENT_TYPE_TIMER_CANCELED) >= 1  # the old wait was replaced
        fired = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
        assert all(
            e.event_time.ToDatetime().replace(tzinfo=ZoneInfo("UTC")) >= new_due - MINUTE for e in fired[1:]
        )  # after the kickoff's business-hours hold, nothing fired early
        await close_and_replay(handle)


async def test_extend_deadline_refuses_bad_input(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        _monday, handle = await told_journey(ts_env, client, task_queue)
        due = (await status(handle)).next_action.due_at
        assert "until: must be later than the current due time" in await refused(
            handle, "extend_deadline", {"until": (due - timedelta(hours=1)).isoformat(), "by": "maya"}
        )
        assert "until: Value error, needs a time zone offset" in await refused(
            handle, "extend_deadline", {"until": "2030-01-01T09:00:00", "by": "maya"}
        )
        assert "by: Field required" in await refused(
            handle, "extend_deadline", {"until": (due + timedelta(days=1)).isoformat()}
        )
        assert (await status(handle)).next_action.due_at == due  # nothing changed
        await close_and_replay(handle)


async def test_pause_holds_messages_and_the_window_resumes_where_it_stopped(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        monday, handle = await told_journey(ts_env, client, task_queue)
        await ts_env.sleep(monday + timedelta(hours=10) - await ts_env.get_current_time())  # Mon 10:00, 71 h left
        paused = await handle.execute_update(OnboardingWorkflow.pause, Pause(by="maya", reason="contract review"))
        assert paused.paused and paused.eligible_touchpoints == ["resume"]
        assert "already paused by maya" in await refused(handle, "pause", {"by": "leo"})
        assert "extend_deadline: the journey is paused" in await refused(
            handle, "extend_deadline", {"until": "2031-01-01T00:00:00+00:00", "by": "leo"}
        )

        await ts_env.sleep(timedelta(days=5))  # through the old due time: nothing goes out
        held = await status(handle)
        assert not sent(held, "clarify") and held.paused
        assert held.reason == "paused by maya: contract review"

        resumed_at = await ts_env.get_current_time()  # Saturday ~10:00
        after = await handle.execute_update(OnboardingWorkflow.resume, Resume(by="maya"))
        assert not after.paused
        running = await advance_until(
            ts_env, handle, lambda s: s.reason == "resumed" and s.next_action.due_at is not None, step=MINUTE
        )
        left = running.next_action.due_at - resumed_at
        assert timedelta(hours=71) - MINUTE <= left <= timedelta(hours=71) + MINUTE
        clarified = await advance_until(ts_env, handle, lambda s: bool(sent(s, "clarify")))
        assert same_minute(sent(clarified, "clarify"), [running.next_action.due_at])  # Tue ~09:00 Tokyo
        assert "resume: the journey is not paused" in await refused(handle, "resume", {"by": "maya"})
        await close_and_replay(handle)


async def test_pause_refused_while_escalated(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        _, handle = await told_journey(ts_env, client, task_queue)
        await handle.signal(OnboardingWorkflow.help_requested, HelpRequested(message="?", event_id="h-1"))
        await advance_until(ts_env, handle, lambda s: s.state is OnboardingState.escalated, step=MINUTE)
        assert "resolve the escalation instead" in await refused(handle, "pause", {"by": "maya"})
        await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="close", by="maya")
        )
        assert (await handle.result()).state is OnboardingState.closed
        await assert_replays(handle)


async def test_reassign_owner_at_any_waiting_point(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        _, handle = await told_journey(ts_env, client, task_queue)
        assert (await status(handle)).owner == "leo"
        assert "'leo' already owns this journey" in await refused(
            handle, "reassign_owner", {"owner": "leo", "by": "dana"}
        )
        assert "reassign refused: owner: no owner with id 'zed'" in await refused(
            handle, "reassign_owner", {"owner": "zed", "by": "dana"}
        )
        assert "owner: Field required" in await refused(handle, "reassign_owner", {"by": "dana"})
        after = await handle.execute_update(
            OnboardingWorkflow.reassign_owner, ReassignOwner(owner="maya", by="dana", note="vacation")
        )
        assert after.owner == "maya" and after.state is OnboardingState.awaiting_action
        assert after.reason == "owner reassigned to Maya Chen by dana"
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        assert (await handle.result()).owner == "maya"
        await assert_replays(handle)


async def test_extend_deadline_while_a_follow_up_waits_for_business_hours(ts_env, tmp_path, journeys):
    client = ts_env.client
    playbooks = write_playbook(tmp_path / "playbooks", window_66h)
    async with journeys(client, playbooks=playbooks) as task_queue:
        monday, handle = await told_journey(ts_env, client, task_queue)
        # the window ends Thursday 03:00 Tokyo; the clarify waits for 09:00
        await ts_env.sleep(monday + timedelta(days=3, hours=4) - await ts_env.get_current_time())
        held = await status(handle)
        assert not sent(held, "clarify") and held.state is OnboardingState.awaiting_action
        new_due = monday + timedelta(days=4, hours=10, minutes=30)  # Friday 10:30
        await handle.execute_update(
            OnboardingWorkflow.extend_deadline, ExtendDeadline(until=new_due.isoformat(), by="maya")
        )
        clarified = await advance_until(ts_env, handle, lambda s: bool(sent(s, "clarify")))
        assert same_minute(sent(clarified, "clarify"), [new_due])  # not Thursday 09:00
        history = await handle.fetch_history()
        markers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
        assert any(versions.V3.encode() in e.SerializeToString() for e in markers)  # the patch (v3 includes it)
        await close_and_replay(handle)
