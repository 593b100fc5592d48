"""A direction that follows a staff decision or an action remembered from earlier is proactive:
it waits for business hours and the daily cap; only the customer's action that just arrived is
replied to at once (journey v3.7, patch `proactive-after-remembered`).

Before, a milestone completed by an action remembered from earlier (done ahead of its
milestone, then reached after a staff skip or a live action for the milestone before it; or
done during a pause, then the resume) sent the next direction at once as a reply: at 02:00
in the customer's night, past the daily cap. Each test marked so failed that way.
Time-skipping server, effects in memory (lab/fakes.py); Chicago, the default playbook
(09:00-17:00 Monday to Friday, one proactive message a day) unless a test opens it."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.signals import ActionTaken
from contracts.staff import Pause, ResolveEscalation, Resume
from contracts.status import OnboardingState
from replay.corpus import CORPUS, as_text, load_history, replay_files
from tests.harness.support import assert_replays, close_and_replay, make_deal, start_journey, status
from tests.workflows.test_journey_holds import (
    HOUR,
    TEN_MINUTES,
    assert_touches,
    escalated,
    has_marker,
    helped,
    kinds,
    local,
    playbook,
    sleep_until,
    tuesday_10,
    until,
)
from workflows import versions
from workflows.onboarding import OnboardingWorkflow

REMEMBERED = versions.PROACTIVE_AFTER_REMEMBERED


def taken(action: str, event_id: str) -> ActionTaken:
    return ActionTaken(action=action, event_id=event_id)


def around_the_clock_one_a_day(data: dict[str, Any]) -> None:
    data["business_hours"] = {
        "start": "00:00",
        "end": "23:59:59",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "proactive_per_day": 1,
    }


async def ahead_then_escalated(ts_env, handle, tue) -> None:
    """Tuesday 12:00 the customer does first_value's action ahead; 20:00 asks for help: escalated."""
    await sleep_until(ts_env, local(tue, 0, 12))
    await handle.signal(OnboardingWorkflow.action_taken, taken("dashboard_shared", "ahead-1"))
    await sleep_until(ts_env, local(tue, 0, 20))
    await handle.signal(OnboardingWorkflow.help_requested, helped())
    await until(ts_env, handle, escalated, step=TEN_MINUTES)


async def test_a_skip_at_night_after_the_next_action_was_done_ahead_holds_the_direction_for_the_morning(
    ts_env, tmp_path, journeys
):
    """The persona the explorer found: the customer shares a dashboard (first_value's action)
    while still at first_action, asks for help, staff skip at 02:00. first_value completes at
    once from the remembered share; expansion_check's direction waits for 09:00."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await ahead_then_escalated(ts_env, handle, tue)

        await sleep_until(ts_env, local(tue, 1, 2))
        skipped = await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="skip", by="maya")
        )
        assert skipped.stage == "expansion_check"  # first_value completed from the remembered share
        assert kinds(effects) == ["direction", "escalation 1"]  # nothing at 02:00
        await until(ts_env, handle, lambda _: kinds(effects).count("direction") == 2)
        assert_touches(
            effects,
            [("direction", tue), ("escalation 1", local(tue, 0, 20)), ("direction", local(tue, 1, 9))],
        )
        assert effects.messages[-1].context["milestone_title"] == "Expansion opportunity reviewed"
        assert await has_marker(handle, REMEMBERED)
        await close_and_replay(handle)


async def test_a_skip_within_the_day_after_an_action_done_ahead_waits_for_the_daily_cap(ts_env, tmp_path, journeys):
    """Open around the clock, one proactive message a day: the kickoff Tuesday 10:00 used the
    day's message, so the direction after the 13:00 skip waits for Wednesday 00:00."""
    client = ts_env.client
    pb = playbook(tmp_path, around_the_clock_one_a_day)
    async with journeys(client, effects="fake", playbooks=pb) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await sleep_until(ts_env, local(tue, 0, 11))
        await handle.signal(OnboardingWorkflow.action_taken, taken("dashboard_shared", "ahead-1"))
        await sleep_until(ts_env, local(tue, 0, 12))
        await handle.signal(OnboardingWorkflow.help_requested, helped())
        await until(ts_env, handle, escalated, step=TEN_MINUTES)
        await sleep_until(ts_env, local(tue, 0, 13))
        await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="skip", by="maya")
        )
        await until(ts_env, handle, lambda _: kinds(effects).count("direction") == 2)
        assert_touches(
            effects,
            [("direction", tue), ("escalation 1", local(tue, 0, 12)), ("direction", local(tue, 1, 0))],
        )
        await close_and_replay(handle)


async def test_a_live_action_at_night_is_replied_to_at_once(ts_env, tmp_path, journeys):
    """Documented behaviour kept: the customer's own action at 02:00 gets the next
    milestone's direction at once (a reply), and no marker is written for it."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await sleep_until(ts_env, local(tue, 1, 2))
        await handle.signal(OnboardingWorkflow.action_taken, taken("dataset_uploaded", "live-1"))
        await until(ts_env, handle, lambda _: kinds(effects).count("direction") == 2, step=TEN_MINUTES)
        assert_touches(effects, [("direction", tue), ("direction", local(tue, 1, 2))])
        assert (await status(handle)).stage == "first_value"
        assert not await has_marker(handle, REMEMBERED)
        await close_and_replay(handle)


async def test_a_live_action_at_night_then_one_done_ahead_holds_the_direction_after_it(ts_env, tmp_path, journeys):
    """The 02:00 upload completes first_action (live); first_value completes from the share
    remembered since Tuesday: the direction after it follows a remembered action and waits."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await sleep_until(ts_env, local(tue, 0, 12))
        await handle.signal(OnboardingWorkflow.action_taken, taken("dashboard_shared", "ahead-1"))
        await sleep_until(ts_env, local(tue, 1, 2))
        await handle.signal(OnboardingWorkflow.action_taken, taken("dataset_uploaded", "live-1"))
        moved = await until(ts_env, handle, lambda s: s.stage == "expansion_check", step=TEN_MINUTES)
        assert moved.state is OnboardingState.awaiting_action
        assert kinds(effects) == ["direction"]
        await until(ts_env, handle, lambda _: kinds(effects).count("direction") == 2)
        assert_touches(effects, [("direction", tue), ("direction", local(tue, 1, 9))])
        assert await has_marker(handle, REMEMBERED)
        await close_and_replay(handle)


async def test_a_resume_at_night_after_an_action_during_the_pause_holds_the_direction(ts_env, tmp_path, journeys):
    """Paused Tuesday 12:00, the upload at 14:00 (remembered), resumed Wednesday 02:00: the
    resume completes first_action and first_value's direction waits for 09:00."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await sleep_until(ts_env, local(tue, 0, 12))
        await handle.execute_update(OnboardingWorkflow.pause, Pause(by="maya", reason="billing question"))
        await sleep_until(ts_env, local(tue, 0, 14))
        await handle.signal(OnboardingWorkflow.action_taken, taken("dataset_uploaded", "paused-1"))
        await sleep_until(ts_env, local(tue, 1, 2))
        await handle.execute_update(OnboardingWorkflow.resume, Resume(by="maya"))
        await until(ts_env, handle, lambda s: s.stage == "first_value", step=TEN_MINUTES)
        assert kinds(effects) == ["direction"]
        await until(ts_env, handle, lambda _: kinds(effects).count("direction") == 2)
        assert_touches(effects, [("direction", tue), ("direction", local(tue, 1, 9))])
        assert await has_marker(handle, REMEMBERED)
        await close_and_replay(handle)


@pytest.mark.parametrize(
    "decision",
    [
        ResolveEscalation(decision="retry", by="maya"),
        ResolveEscalation(decision="reassign", owner="maya", by="dana"),
        ResolveEscalation(decision="skip", by="maya"),
    ],
    ids=["retry", "reassign", "skip"],
)
async def test_a_decision_at_night_holds_the_direction_after_it(ts_env, tmp_path, journeys, decision):
    """Nothing done ahead: the direction after a 02:00 retry, reassign or skip waits for 09:00
    (as before v3.7: no marker)."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await sleep_until(ts_env, local(tue, 0, 20))
        await handle.signal(OnboardingWorkflow.help_requested, helped())
        await until(ts_env, handle, escalated, step=TEN_MINUTES)
        await sleep_until(ts_env, local(tue, 1, 2))
        await handle.execute_update(OnboardingWorkflow.resolve_escalation, decision)
        assert kinds(effects) == ["direction", "escalation 1"]
        await until(ts_env, handle, lambda _: kinds(effects).count("direction") == 2, step=HOUR)
        assert_touches(
            effects,
            [("direction", tue), ("escalation 1", local(tue, 0, 20)), ("direction", local(tue, 1, 9))],
        )
        assert not await has_marker(handle, REMEMBERED)
        await close_and_replay(handle)


async def test_a_close_at_night_sends_nothing(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await ahead_then_escalated(ts_env, handle, tue)
        await sleep_until(ts_env, local(tue, 1, 2))
        await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="close", by="maya", note="lost")
        )
        result = await handle.result()
        assert result.state is OnboardingState.closed
        assert kinds(effects) == ["direction", "escalation 1"]
        assert not await has_marker(handle, REMEMBERED)
        await assert_replays(handle)


def marked(path) -> bool:
    return any(
        e.HasField("marker_recorded_event_attributes") and REMEMBERED.encode() in e.SerializeToString()
        for e in load_history(path).events
    )


async def test_the_v3_6_corpus_replays_and_v3_7_marks_only_milestones_completed_by_a_remembered_action():
    """v3.6's journeys (a skip, an early action that completes the first milestone when the
    deal arrives: their directions went out at once) replay on this code with no marker; on
    v3.7 exactly the journeys whose milestone a remembered action completed carry it."""
    older = sorted((CORPUS / "v3.6").glob("*.json"))
    problems = await replay_files(older)
    assert not problems, as_text(problems)
    assert not any(marked(p) for p in older)
    current = sorted((CORPUS / "v3.7").glob("*.json"))
    assert {p.stem for p in current if marked(p)} == {"remembered-after-skip", "deal-details-late"}
    problems = await replay_files([CORPUS / "v3.7" / "remembered-after-skip.json"])
    assert not problems, as_text(problems)
