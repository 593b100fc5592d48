"""The customer's input while a follow-up waits (for business hours, the daily cap, a resume,
or beside the owner's acknowledgement deadline) is answered at once, and the follow-up still
goes out when it may (v3.4, patch `inbox-before-due`).

Before, the due follow-up came first: its wait saw the pending input and gave way at once,
the journey came straight back to the same due follow-up, and so on without ever waiting:
one workflow task spun until the SDK stopped it ("[TMPRL1101] Potential deadlock"), the
`status` query failed and nothing was sent again. Each test here failed that way.
Time-skipping server, effects in memory (lab/fakes.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from contracts.signals import ActionFailed, HelpRequested, Unsubscribed
from contracts.staff import Pause, ResolveEscalation, Resume
from contracts.status import OnboardingState, Status
from lab.fakes import FakeEffects as Effects
from tests.harness.support import (
    advance_until,
    close_and_replay,
    make_deal,
    skip_to_next,
    start_journey,
    status,
    utc,
    write_playbook,
)
from tests.harness.versions import OnboardingWorkflowV32, OnboardingWorkflowV32Spinning
from workflows import versions
from workflows.onboarding import OnboardingWorkflow

CHICAGO = ZoneInfo("America/Chicago")
TUESDAY = 1
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
TEN_MINUTES = timedelta(minutes=10)
# A whole step of a test, in real seconds: a journey that spins fails its workflow tasks over
# and over, and its `status` query with them; the test then fails instead of hanging.
BOUND = 120

Change = Callable[[dict[str, Any]], None]


# ------------------------------------------------------------------ the clock, what was sent


async def tuesday_10(env: WorkflowEnvironment) -> datetime:
    """Skip virtual time to the next Tuesday 10:00 in Chicago: the deal closes then."""
    return await skip_to_next(env, TUESDAY, 10, CHICAGO)


async def sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    now = await env.get_current_time()
    if moment > now:
        await env.sleep(moment - now)


def local(start: datetime, days: int, hour: int, minute: int = 0) -> datetime:
    """`days` after `start` at `hour`:`minute` on Chicago's wall clock (right across a DST change)."""
    return (start + timedelta(days=days)).replace(hour=hour, minute=minute)


def at(effects: Effects, kind: str) -> datetime:
    """When the first `kind` went out, on the minute."""
    moment = next(t for k, t in effects.touches if k == kind)
    return moment.replace(second=0, microsecond=0)


def kinds(effects: Effects) -> list[str]:
    """What reached the customer (message kinds) or a human ("escalation <level>"), in order."""
    return [k for k, _ in effects.touches]


def assert_touches(effects: Effects, expected: list[tuple[str, datetime]]) -> None:
    """In this order, each within a minute after its time (a timer fires on its minute; the
    steps after it take real seconds, more on a worker that replays every task)."""
    actual = effects.touches
    assert kinds(effects) == [k for k, _ in expected], actual
    late = [a - e for (_, a), (_, e) in zip(actual, expected, strict=True)]
    assert all(timedelta(0) <= d < MINUTE for d in late), (actual, expected)


async def until(env: WorkflowEnvironment, handle: WorkflowHandle, done: Callable[[Status], bool], step=HOUR) -> Status:
    """Move virtual time until `done(status)`, asking the journey's `status` at every step (it must
    answer: a spinning journey's query fails), bounded in real time. A spinning journey also
    holds the test server's clock, so a time-skipping sleep then runs at real speed and does
    not heed a cancel: it is left behind, not awaited (the test's teardown ends the journey)."""
    moving = asyncio.ensure_future(advance_until(env, handle, done, step=step))
    finished, _ = await asyncio.wait({moving}, timeout=BOUND)
    if not finished:
        moving.cancel()
        raise AssertionError(f"not there after {BOUND} s of real time: the journey holds the clock")
    return moving.result()


def escalated(s: Status) -> bool:
    return s.state is OnboardingState.escalated


async def has_marker(handle: WorkflowHandle, patch: str = versions.INBOX_BEFORE_DUE) -> bool:
    history = await handle.fetch_history()
    return any(
        e.HasField("marker_recorded_event_attributes") and patch.encode() in e.SerializeToString()
        for e in history.events
    )


def failed(event_id: str = "f-1") -> ActionFailed:
    return ActionFailed(action="dataset_uploaded", reason="invalid header in row 1", event_id=event_id)


def helped(event_id: str = "h-1") -> HelpRequested:
    return HelpRequested(message="our export has two header rows", event_id=event_id)


def playbook(tmp_path: Path, change: Change | None = None) -> Path:
    """The default playbook (business hours 09:00-17:00 Monday to Friday, one proactive
    message a day), without the owner-acknowledgement wait unless `change` adds it."""
    return write_playbook(tmp_path / "playbooks", change)


def around_the_clock_one_a_day(data: dict[str, Any]) -> None:
    """Open around the clock, one proactive message per local day, the clarify waiting 4 hours:
    the simplify falls due the day of the clarify and waits for the next day's quota."""
    data["business_hours"] = {
        "start": "00:00",
        "end": "23:59:59",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "proactive_per_day": 1,
    }
    data["milestones"][0]["follow_ups"][0]["wait_hours"] = 4


# ------------------------------------------------------------------ business hours


async def test_a_failure_while_the_simplify_waits_for_monday_gets_help_at_once(ts_env, tmp_path, journeys):
    """Deal closed Tuesday 10:00 Chicago, customer silent: the clarify Friday 10:00; the
    simplify is due Saturday 10:00 and waits for Monday 09:00. Saturday 12:00 the upload fails."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        saturday = local(tue, 4, 12)
        await sleep_until(ts_env, saturday)
        assert kinds(effects) == ["direction", "clarify"]  # the simplify waits for Monday

        await handle.signal(OnboardingWorkflow.action_failed, failed())
        answered = await until(ts_env, handle, lambda _: "help" in kinds(effects), step=TEN_MINUTES)
        assert answered.state is OnboardingState.clarifying
        await until(ts_env, handle, lambda _: "escalation 1" in kinds(effects))
        assert_touches(
            effects,
            [
                ("direction", tue),
                ("clarify", local(tue, 3, 10)),
                ("help", saturday),  # at once
                ("simplify", local(tue, 6, 9)),  # Monday at opening time, as before the failure
                ("redirect", local(tue, 7, 9)),
                ("escalation 1", local(tue, 8, 9)),  # Wednesday: no action after every follow-up
            ],
        )
        assert "after every follow-up" in (await status(handle)).reason
        # v2.1's way: the recorder's dev server cannot reach a business-hours hold, so the
        # test checks the new path's marker and replays its own history
        assert await has_marker(handle)
        await close_and_replay(handle)


async def test_a_help_request_while_the_simplify_waits_for_monday_escalates_at_once(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        saturday = local(tue, 4, 12)
        await sleep_until(ts_env, saturday)
        await handle.signal(OnboardingWorkflow.help_requested, helped())
        human = await until(ts_env, handle, lambda _: "escalation 1" in kinds(effects), step=TEN_MINUTES)
        assert escalated(human) and human.reason.startswith("customer asked for help: our export has two")

        # the owner answers an hour later: the conversation starts over, inside business hours
        await sleep_until(ts_env, saturday + HOUR)
        await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="retry", by="maya", note="called them")
        )
        await until(ts_env, handle, lambda _: kinds(effects).count("direction") == 2)
        assert_touches(
            effects,
            [
                ("direction", tue),
                ("clarify", local(tue, 3, 10)),
                ("escalation 1", saturday),
                ("direction", local(tue, 6, 9)),  # Monday 09:00
            ],
        )
        assert await has_marker(handle)
        await close_and_replay(handle)


async def test_an_unsubscribe_while_the_simplify_waits_goes_to_the_owner_before_any_follow_up(
    ts_env, tmp_path, journeys
):
    """Not a spin before (an unsubscribed customer's follow-up is noted, never held) but the
    same order: the held simplify was counted as sent ("not emailed") before the owner was
    told; now the owner hears of it first."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        saturday = local(tue, 4, 12)
        await sleep_until(ts_env, saturday)
        unsubscribe = Unsubscribed(contact_hash="0123456789abcdef", at=utc(saturday))
        await handle.signal(OnboardingWorkflow.unsubscribed, unsubscribe)
        human = await until(ts_env, handle, lambda _: "escalation 1" in kinds(effects), step=TEN_MINUTES)
        assert human.reason == "customer unsubscribed from onboarding emails: reach them directly"
        assert human.unsubscribed
        assert not [e for e in human.timeline if "not emailed" in e.event]  # no follow-up counted first
        assert_touches(effects, [("direction", tue), ("clarify", local(tue, 3, 10)), ("escalation 1", saturday)])
        assert await has_marker(handle)
        await close_and_replay(handle)


# ------------------------------------------------------------------ the daily cap


async def test_a_failure_while_the_simplify_waits_for_tomorrows_quota_gets_help_at_once(ts_env, tmp_path, journeys):
    """Open around the clock, one proactive message a day: the clarify goes out Friday 10:00,
    the simplify is due 14:00 and waits for Saturday 00:00. Friday 15:00 the upload fails."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path, around_the_clock_one_a_day)) as (
        queue,
        effects,
    ):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        friday = local(tue, 3, 15)
        await sleep_until(ts_env, friday)
        assert kinds(effects) == ["direction", "clarify"]

        await handle.signal(OnboardingWorkflow.action_failed, failed())
        await until(ts_env, handle, lambda _: "escalation 1" in kinds(effects))
        assert_touches(
            effects,
            [
                ("direction", tue),
                ("clarify", local(tue, 3, 10)),
                ("help", friday),  # a reply: the cap does not hold it
                ("simplify", local(tue, 4, 0)),  # Saturday 00:00, the next day's one message
                ("redirect", local(tue, 5, 0)),
                ("escalation 1", local(tue, 6, 0)),
            ],
        )
        assert await has_marker(handle)
        await close_and_replay(handle)


# ------------------------------------------------------------------ a pause with the window used up


@pytest.mark.parametrize("signal", ["action_failed", "help_requested"])
async def test_input_while_paused_with_the_window_used_up_is_answered_at_a_resume_outside_business_hours(
    ts_env, tmp_path, signal, journeys
):
    """Paused Saturday 11:00 while the simplify waits for Monday (its due time has passed: no
    window is left); the customer fails or asks for help at 11:30; resumed Saturday 12:00."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await sleep_until(ts_env, local(tue, 4, 11))
        await handle.execute_update(OnboardingWorkflow.pause, Pause(by="maya", reason="contract review"))
        await sleep_until(ts_env, local(tue, 4, 11, 30))
        if signal == "action_failed":
            await handle.signal(OnboardingWorkflow.action_failed, failed())
        else:
            await handle.signal(OnboardingWorkflow.help_requested, helped())
        await sleep_until(ts_env, local(tue, 4, 12))
        paused = await status(handle)
        assert paused.paused and kinds(effects) == ["direction", "clarify"]  # nothing while paused

        resumed_at = local(tue, 4, 12)
        # not awaited here: a spinning journey never completes the update, and its `status`
        # query, which `until` asks at once, fails sooner
        resume = asyncio.create_task(handle.execute_update(OnboardingWorkflow.resume, Resume(by="maya")))
        if signal == "action_failed":
            await until(ts_env, handle, lambda _: "escalation 1" in kinds(effects))
            assert_touches(
                effects,
                [
                    ("direction", tue),
                    ("clarify", local(tue, 3, 10)),
                    ("help", resumed_at),
                    ("simplify", local(tue, 6, 9)),
                    ("redirect", local(tue, 7, 9)),
                    ("escalation 1", local(tue, 8, 9)),
                ],
            )
        else:
            human = await until(ts_env, handle, lambda _: "escalation 1" in kinds(effects), step=TEN_MINUTES)
            assert human.reason.startswith("customer asked for help")
            assert_touches(effects, [("direction", tue), ("clarify", local(tue, 3, 10)), ("escalation 1", resumed_at)])
        assert not (await asyncio.wait_for(resume, BOUND)).paused
        assert await has_marker(handle)
        await close_and_replay(handle)


# ------------------------------------------------------------------ beside the owner's acknowledgement


def acknowledgement_beside_a_capped_clarify(data: dict[str, Any]) -> None:
    """Open around the clock, one proactive message a day, a two-hour window: the clarify is
    due at 12:00 and waits for midnight; the owner has 4 hours (until 14:00) to acknowledge."""
    around_the_clock_one_a_day(data)
    first = data["milestones"][0]
    first["window_hours"] = 2
    for follow_up in first["follow_ups"]:
        follow_up["wait_hours"] = 1
    data["owner_acknowledgement"] = {"hours": 4, "before_kickoff": False}


async def test_a_failure_while_the_clarify_waits_beside_the_owners_acknowledgement_deadline(ts_env, tmp_path, journeys):
    """The held clarify's wait also runs the owner's acknowledgement deadline: help at once,
    the silent owner replaced at 14:00 in the same hold, the clarify at midnight."""
    client = ts_env.client
    async with journeys(
        client, effects="fake", playbooks=playbook(tmp_path, acknowledgement_beside_a_capped_clarify)
    ) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await sleep_until(ts_env, local(tue, 0, 13))
        first_owner = (await status(handle)).owner
        await handle.signal(OnboardingWorkflow.action_failed, failed())
        answered = await until(ts_env, handle, lambda _: "help" in kinds(effects), step=TEN_MINUTES)
        assert answered.owner == first_owner  # still within the owner's 4 hours

        # the new owner is in place one activity (its moment) before the reason says why
        replaced = await until(
            ts_env, handle, lambda s: s.owner != first_owner and "did not acknowledge" in s.reason, step=TEN_MINUTES
        )
        assert "did not acknowledge within 4 business hours" in replaced.reason
        await until(ts_env, handle, lambda _: "clarify" in kinds(effects))
        assert_touches(effects, [("direction", tue), ("help", local(tue, 0, 13)), ("clarify", local(tue, 1, 0))])
        assert await has_marker(handle)
        await close_and_replay(handle)


# ------------------------------------------------------------------ journeys in flight


async def test_a_journey_held_on_the_previous_worker_is_answered_on_the_new_one(ts_env, tmp_path, journeys):
    """Deployed while a simplify waits for Monday on the v3.2 worker (tests/harness/versions.py): the
    failure that arrives afterwards gets its help at once on the new worker, marked."""
    client, playbooks = ts_env.client, playbook(tmp_path)
    async with journeys(
        client, effects="fake", playbooks=playbooks, journey=OnboardingWorkflowV32, keep_journeys=True
    ) as (queue, old):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await sleep_until(ts_env, local(tue, 4, 11))
        assert kinds(old) == ["direction", "clarify"]

    async with journeys(client, effects="fake", playbooks=playbooks, task_queue=queue) as (_, new):
        await sleep_until(ts_env, local(tue, 4, 12))
        await handle.signal(OnboardingWorkflow.action_failed, failed())
        await until(ts_env, handle, lambda _: "simplify" in kinds(new))
        assert_touches(new, [("help", local(tue, 4, 12)), ("simplify", local(tue, 6, 9))])
        assert await has_marker(handle)
        await close_and_replay(handle)


def short_simplify_wait(data: dict[str, Any]) -> None:
    """The simplify waits 8 hours: sent Monday 10:00, the redirect is due 18:00 and waits for Tuesday."""
    data["milestones"][0]["follow_ups"][1]["wait_hours"] = 8


async def test_a_journey_that_took_the_previous_order_replays_and_never_spins_on_the_new_worker(
    ts_env, tmp_path, journeys
):
    """On v3.2, paused Saturday while the simplify waits, a failure meanwhile, resumed Monday
    10:00 (open): v3.2 sends the simplify, then the help. Moved to the new worker the run
    replays that order (no marker), so for the rest of the run the patch reads as absent;
    a help request while the redirect waits for Tuesday still escalates at once."""
    client, playbooks = ts_env.client, playbook(tmp_path, short_simplify_wait)
    async with journeys(
        client, effects="fake", playbooks=playbooks, journey=OnboardingWorkflowV32, keep_journeys=True
    ) as (queue, old):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await sleep_until(ts_env, local(tue, 4, 11))
        await handle.execute_update(OnboardingWorkflow.pause, Pause(by="maya"))
        await handle.signal(OnboardingWorkflow.action_failed, failed())
        monday = local(tue, 6, 10)
        await sleep_until(ts_env, monday)
        await handle.execute_update(OnboardingWorkflow.resume, Resume(by="maya"))
        await until(ts_env, handle, lambda _: "help" in kinds(old), step=TEN_MINUTES)
        assert_touches(
            old, [("direction", tue), ("clarify", local(tue, 3, 10)), ("simplify", monday), ("help", monday)]
        )  # v3.2's order
        assert not await has_marker(handle)

    async with journeys(client, effects="fake", playbooks=playbooks, task_queue=queue) as (_, new):
        await sleep_until(ts_env, local(tue, 6, 20))
        await handle.signal(OnboardingWorkflow.help_requested, helped())
        human = await until(ts_env, handle, lambda _: "escalation 1" in kinds(new), step=TEN_MINUTES)
        assert human.reason.startswith("customer asked for help")
        assert_touches(new, [("escalation 1", local(tue, 6, 20))])  # nothing sent twice on the way
        assert not await has_marker(handle)  # the run keeps the previous order where it differs
        await close_and_replay(handle)


async def test_a_journey_spinning_on_the_previous_worker_recovers_on_the_new_one(ts_env, tmp_path, journeys):
    """The failure reached the v3.2 worker while the simplify waited for Monday: its workflow
    task spins, the SDK fails it as a deadlock, and the server hands it out again. The new
    worker takes that task from the last one completed: help at once, the simplify Monday."""
    client, playbooks = ts_env.client, playbook(tmp_path)
    async with journeys(
        client, effects="fake", playbooks=playbooks, journey=OnboardingWorkflowV32Spinning, keep_journeys=True
    ) as (
        queue,
        old,
    ):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await sleep_until(ts_env, local(tue, 4, 12))
        await handle.signal(OnboardingWorkflow.action_failed, failed())
        with pytest.raises(RPCError):  # the journey cannot even answer `status`
            await handle.query(OnboardingWorkflow.status, rpc_timeout=timedelta(seconds=5))
        assert kinds(old) == ["direction", "clarify"]

    async with journeys(client, effects="fake", playbooks=playbooks, task_queue=queue) as (_, new):
        await until(ts_env, handle, lambda _: "simplify" in kinds(new), step=TEN_MINUTES)
        assert kinds(new) == ["help", "simplify"] and at(new, "simplify") == local(tue, 6, 9)
        assert await has_marker(handle)
        await close_and_replay(handle)
