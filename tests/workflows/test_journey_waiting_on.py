"""While a journey runs it always waits on someone with a due time, and says so in the same
words everywhere: `status.waiting_on` and `status.next_action.due_at`, the `NextActionDue`
search attribute its upserts leave, and the current details (v3.5, patch `due-while-held`,
workflows/awaiting.py).

Each test puts a journey in one wait that used to say nobody or no due time: a kickoff or a
follow-up held for business hours or the daily cap, a pause, an escalation (opened, moved
up), the high-value review before the kickoff, the owner's acknowledgement before it.
Time-skipping server, effects in memory (lab/fakes.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle
from temporalio.converter import decode_typed_search_attributes
from temporalio.testing import WorkflowEnvironment

from contracts.search_attributes import NEXT_ACTION_DUE
from contracts.staff import Pause, Resume
from contracts.status import OnboardingState, Status
from tests.harness.support import (
    assert_replays,
    close_and_replay,
    make_deal,
    skip_to_next,
    start_journey,
    status,
    utc,
    wait_for_status,
)
from tests.harness.versions import OnboardingWorkflowV34
from tests.workflows.test_journey_holds import (
    CHICAGO,
    HOUR,
    TEN_MINUTES,
    around_the_clock_one_a_day,
    has_marker,
    kinds,
    local,
    playbook,
    sleep_until,
    tuesday_10,
    until,
)
from workflows import versions
from workflows.awaiting import PAUSE_REVIEW
from workflows.onboarding import OnboardingWorkflow

SUNDAY = 6


async def sunday_22(env: WorkflowEnvironment) -> datetime:
    """Skip virtual time to the next Sunday 22:00 in Chicago: the deal closes then."""
    return await skip_to_next(env, SUNDAY, 22, CHICAGO)


async def upserted_due(handle: WorkflowHandle) -> datetime | None:
    """`NextActionDue` as the journey's latest run set it: its start (carried over a
    continue-as-new) and every upsert since, newest last."""
    history = await handle.fetch_history()
    due: datetime | None = None
    for event in history.events:
        if event.HasField("workflow_execution_started_event_attributes"):
            fields = event.workflow_execution_started_event_attributes.search_attributes
        elif event.HasField("upsert_workflow_search_attributes_event_attributes"):
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
        else:
            continue
        if NEXT_ACTION_DUE.name in fields.indexed_fields:
            due = decode_typed_search_attributes(fields).get(NEXT_ACTION_DUE)
    return due


async def details(handle: WorkflowHandle) -> str:
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


def same_moment(actual: datetime | None, expected: datetime) -> bool:
    """Timers fire on the minute; what the journey does after takes milliseconds."""
    return actual is not None and timedelta(0) <= actual - utc(expected) < timedelta(minutes=1)


async def assert_waits_on(handle: WorkflowHandle, party: str, due: datetime) -> Status:
    """`status`, `NextActionDue` and the current details all name `party`, due at `due`."""
    s = await status(handle)
    assert s.waiting_on == party, s
    assert s.next_action is not None and same_moment(s.next_action.due_at, due), (s.next_action, due)
    assert await upserted_due(handle) == s.next_action.due_at
    shown = await details(handle)
    assert f"**Waiting on:** {party}" in shown.splitlines(), shown
    return s


def with_acknowledgement_before_kickoff(data: dict[str, Any]) -> None:
    data["owner_acknowledgement"] = {"hours": 4, "before_kickoff": True}


# ------------------------------------------------------------------ held for business hours, the daily cap


async def test_a_kickoff_waiting_for_monday_is_the_journeys_own_send_due_monday_at_opening(ts_env, tmp_path, journeys):
    """Closed Sunday 22:00 Chicago: the kickoff waits for Monday 09:00. Before v3.5 the journey
    said it waited on the customer with no due time, and `NextActionDue` was empty."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        sunday = await sunday_22(ts_env)
        handle = await start_journey(client, queue, make_deal())
        monday_9 = local(sunday, 1, 9)
        await wait_for_status(handle, lambda s: s.stage == "first_action")
        held = await assert_waits_on(handle, "journey", monday_9)
        assert held.next_action is not None and "direction" in held.next_action.title
        assert kinds(effects) == []

        await sleep_until(ts_env, monday_9 + TEN_MINUTES)
        told = await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        assert told.next_action is not None and told.next_action.due_at is not None
        await assert_waits_on(handle, "customer", told.next_action.due_at)
        assert same_moment(told.next_action.due_at, monday_9 + timedelta(hours=72))
        assert await has_marker(handle, versions.DUE_WHILE_HELD)
        await close_and_replay(handle)


async def test_a_simplify_waiting_for_monday_is_due_monday_at_opening_not_at_the_missed_due_time(
    ts_env, tmp_path, journeys
):
    """Closed Tuesday 10:00: the clarify Friday 10:00, the simplify falls due Saturday 10:00
    and waits for Monday 09:00. Before, `NextActionDue` kept Saturday 10:00 (past)."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await sleep_until(ts_env, local(tue, 4, 12))
        assert kinds(effects) == ["direction", "clarify"]
        held = await assert_waits_on(handle, "journey", local(tue, 6, 9))
        assert held.next_action is not None and "simplify" in held.next_action.title
        await close_and_replay(handle)


async def test_a_simplify_waiting_for_tomorrows_quota_is_due_at_midnight(ts_env, tmp_path, journeys):
    """Open around the clock, one proactive message a day: the clarify goes out Friday 10:00,
    the simplify falls due 14:00 and waits for Saturday 00:00 (the next day's quota)."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path, around_the_clock_one_a_day)) as (
        queue,
        effects,
    ):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await sleep_until(ts_env, local(tue, 3, 15))
        assert kinds(effects) == ["direction", "clarify"]
        await assert_waits_on(handle, "journey", local(tue, 4, 0))
        await close_and_replay(handle)


# ------------------------------------------------------------------ staff and humans


async def test_a_paused_journey_waits_on_staff_due_a_week_after_the_pause(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, _):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        await sleep_until(ts_env, tue + HOUR)
        await handle.execute_update(OnboardingWorkflow.pause, Pause(by="maya", reason="customer on holiday"))
        await wait_for_status(handle, lambda s: s.paused and s.reason.startswith("paused by maya"))
        await assert_waits_on(handle, "staff (resume)", tue + HOUR + PAUSE_REVIEW)

        await handle.execute_update(OnboardingWorkflow.resume, Resume(by="maya"))
        resumed = await wait_for_status(handle, lambda s: s.reason == "resumed")
        assert resumed.next_action is not None and resumed.next_action.due_at is not None
        await assert_waits_on(handle, "customer", resumed.next_action.due_at)
        await close_and_replay(handle)


async def test_an_escalation_is_due_at_its_sla_when_it_opens_and_each_time_it_moves_up(ts_env, tmp_path, journeys):
    """Before, `NextActionDue` kept the customer's due time when the escalation opened, and
    the previous level's when it moved up."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        await sleep_until(ts_env, tue + HOUR)
        await handle.signal(OnboardingWorkflow.help_requested, {"message": "stuck", "event_id": "h-1"})
        await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated and s.waiting_on == "human")
        opened = await assert_waits_on(handle, "human", tue + HOUR + timedelta(hours=24))
        assert opened.escalation_level == 1

        await until(ts_env, handle, lambda s: s.escalation_level == 2, step=TEN_MINUTES)
        moved = await assert_waits_on(handle, "human", tue + HOUR + timedelta(hours=48))
        assert moved.next_action is not None and "(backup)" in moved.next_action.title
        assert kinds(effects) == ["direction", "escalation 1", "escalation 2"]
        await close_and_replay(handle)


async def test_a_high_value_kickoff_waits_on_a_human_review_with_its_sla(ts_env, tmp_path, journeys):
    """Before, the review had no due time: the direction was not sent, so `NextActionDue` was empty."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal(amount=300_000, currency="USD"))
        review = await wait_for_status(
            handle, lambda s: s.state is OnboardingState.escalated and s.waiting_on == "human"
        )
        assert review.reason == "high-value deal: a human reviews the kickoff"
        await assert_waits_on(handle, "human", tue + timedelta(hours=24))
        assert kinds(effects) == ["escalation 1"]
        await close_and_replay(handle)


async def test_the_owner_acknowledgement_before_the_kickoff_is_due_at_its_deadline(ts_env, tmp_path, journeys):
    """Four business hours from Tuesday 10:00 (the owner's zone, Chicago): 14:00."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path, with_acknowledgement_before_kickoff)) as (
        queue,
        effects,
    ):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        waiting = await wait_for_status(handle, lambda s: s.waiting_on == "owner")
        assert waiting.next_action is not None and waiting.next_action.due_at is not None
        await assert_waits_on(handle, "owner", waiting.next_action.due_at)
        assert waiting.next_action.due_at > utc(tue) and kinds(effects) == []
        await close_and_replay(handle)


async def test_a_journey_no_playbook_can_run_waits_on_a_human_due_when_it_looks_again(ts_env, tmp_path, journeys):
    """No playbook claims a payroll deal (the default playbook is for analytics): a human gets
    it, and the journey looks again every 24 hours, each look moving the due time on."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, _):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal(product="payroll"))
        await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated)
        await assert_waits_on(handle, "human", tue + timedelta(hours=24))
        await sleep_until(ts_env, tue + timedelta(hours=25))
        await assert_waits_on(handle, "human", tue + timedelta(hours=48))
        await close_and_replay(handle)


async def test_a_continued_run_keeps_naming_whom_it_waits_on(ts_env, tmp_path, journeys):
    """A hand-over after every transition: each new run carries `NextActionDue` in its start
    and shows its wait from its first task (the customer's window, then an escalation)."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, _):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal(), continue_as_new_after=1)
        latest = client.get_workflow_handle(handle.id)  # the chain's latest run
        assert await continued(latest)
        await wait_for_status(latest, lambda s: s.waiting_on == "customer")
        await assert_waits_on(latest, "customer", tue + timedelta(hours=72))
        await sleep_until(ts_env, tue + HOUR)
        await latest.signal(OnboardingWorkflow.help_requested, {"message": "stuck", "event_id": "h-1"})
        await wait_for_status(latest, lambda s: s.waiting_on == "human")
        await assert_waits_on(latest, "human", tue + HOUR + timedelta(hours=24))
        await close_and_replay(latest)


async def continued(handle: WorkflowHandle, seconds: float = 10.0) -> bool:
    """Whether the journey's latest run is a continued one, once it is (bounded polling, as
    `wait_for_status`: the hand-over follows the transition by a local activity)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        history = await handle.fetch_history()
        if history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id:
            return True
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------ journeys already running (v3.4)


async def test_a_kickoff_held_on_v3_4_replays_on_v3_5_and_shows_its_due_once_the_new_worker_has_it(
    ts_env, tmp_path, journeys
):
    """Started on a v3.4 worker Sunday 22:00: it upserted no `NextActionDue` for the held
    kickoff, and its history replays on this code (which upserts nothing there either).
    On the v3.5 worker its `status` names the held send at once; its `NextActionDue` is set
    at its next step (the direction, Monday 09:00, as before) and replays with it."""
    client, playbooks = ts_env.client, playbook(tmp_path)
    async with journeys(
        client, effects="fake", playbooks=playbooks, journey=OnboardingWorkflowV34, keep_journeys=True
    ) as (queue, old):
        sunday = await sunday_22(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.stage == "first_action")
        assert await upserted_due(handle) is None  # what v3.4 showed staff
        await assert_replays(handle)
        assert kinds(old) == []

    async with journeys(client, effects="fake", playbooks=playbooks, task_queue=queue) as (_, new):
        monday_9 = local(sunday, 1, 9)
        held = await status(handle)
        assert held.waiting_on == "journey" and held.next_action is not None
        assert same_moment(held.next_action.due_at, monday_9)
        await sleep_until(ts_env, monday_9 + TEN_MINUTES)
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        assert kinds(new) == ["direction"]
        await assert_waits_on(handle, "customer", monday_9 + timedelta(hours=72))
        await close_and_replay(handle)
