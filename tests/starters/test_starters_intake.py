"""The product-event intake workflow (workflows/intake.py) on the time-skipping server: what
it does with events whose account has no running journey yet, how it continues as new, and
that its histories replay, with a stand-in for its activity (same name, same contract); and
the real activity resuming from its heartbeat. End to end: test_starters_segment.py."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from contracts.intake import (
    DELIVER_ACTIVITY,
    INTAKE_WORKFLOW_TYPE,
    Delivered,
    DeliverEvents,
    Intake,
    IntakeOutcome,
    QueuedEvent,
)
from contracts.signals import ActionTaken
from privacy.undecodable import workflow_converter
from runtime.sandbox import workflow_runner
from starters.batches import CHUNK_BYTES, chunks
from starters.fanout import IntakeActivities
from starters.flood import JourneyRateLimiter
from tests.harness.starters_checks import signals_of
from workflows.intake import RETRY_DELAYS, SLICE, SLICES_PER_RUN, ProductEventIntake


def by_account(n: int, account: str = "ACME-1") -> list[QueuedEvent]:
    return [
        QueuedEvent(
            signal="action_taken", body=ActionTaken(action="dataset_uploaded", event_id=f"e{i}"), account_id=account
        )
        for i in range(n)
    ]


async def run_intake(env: WorkflowEnvironment, intake: Intake, deliver: Callable[[DeliverEvents], Delivered]) -> Any:
    @activity.defn(name=DELIVER_ACTIVITY)
    async def stand_in(request: DeliverEvents) -> Delivered:
        return deliver(request)

    queue = f"intake-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[ProductEventIntake],
        activities=[stand_in],
        workflow_runner=workflow_runner(),
    ):
        handle = await env.client.start_workflow(
            INTAKE_WORKFLOW_TYPE,
            intake,
            id=f"intake-test-{uuid.uuid4().hex}",
            task_queue=queue,
            result_type=IntakeOutcome,
        )
        outcome = await handle.result()
    history = await handle.fetch_history()
    await Replayer(
        workflows=[ProductEventIntake],
        data_converter=workflow_converter(env.client.data_converter),
        workflow_runner=workflow_runner(),
    ).replay_workflow(history)
    return outcome


async def test_an_account_without_a_journey_is_tried_again_until_one_starts(ts_env: WorkflowEnvironment) -> None:
    """Refused, such an event used to be lost (a 404 is final for Segment); now the intake
    tries again after a minute, then five, ... and delivers once the journey exists."""
    attempts: list[list[str]] = []

    def deliver(request: DeliverEvents) -> Delivered:
        attempts.append([e.body.event_id for e in request.events])
        if len(attempts) < 3:  # no journey for the account on the first two tries
            return Delivered(delivered=0, without_journey=list(range(len(request.events))))
        return Delivered(delivered=len(request.events))

    intake = Intake(source="segment", journeys_task_queue="onboarding", events=by_account(2))
    outcome = await run_intake(ts_env, intake, deliver)
    assert outcome == IntakeOutcome(delivered=2, without_journey=[], runs=1)
    assert attempts == [["e0", "e1"]] * 3


async def test_an_account_that_never_gets_a_journey_is_reported(ts_env: WorkflowEnvironment) -> None:
    def deliver(request: DeliverEvents) -> Delivered:
        return Delivered(delivered=0, without_journey=[0] if request.events[0].body.event_id == "e0" else [])

    intake = Intake(source="segment", journeys_task_queue="onboarding", events=by_account(3))
    outcome = await run_intake(ts_env, intake, deliver)
    assert (outcome.delivered, outcome.without_journey) == (2, ["e0"])


async def test_a_large_batch_continues_as_new_in_order(ts_env: WorkflowEnvironment) -> None:
    seen: list[str] = []

    def deliver(request: DeliverEvents) -> Delivered:
        assert len(request.events) <= SLICE
        seen.extend(e.body.event_id for e in request.events)
        return Delivered(delivered=len(request.events))

    count = SLICE * SLICES_PER_RUN * 2 + 1
    intake = Intake(source="segment", journeys_task_queue="onboarding", events=by_account(count))
    outcome = await run_intake(ts_env, intake, deliver)
    assert outcome == IntakeOutcome(delivered=count, without_journey=[], runs=3)
    assert seen == [f"e{i}" for i in range(count)]


def test_retries_cover_hours_not_days() -> None:
    assert sum(d.total_seconds() for d in RETRY_DELAYS) <= 5 * 3600


def test_a_batch_is_cut_under_the_payload_limit_each_journey_in_one_part() -> None:
    events = [
        QueuedEvent(signal="action_taken", body=ActionTaken(action="a" * 100, event_id=f"e{i}"), deal_id=f"D-{i % 3}")
        for i in range(30)
    ]
    assert chunks(events, limit=10**6) == [events]  # fits: one part, the sender's order
    size = len(events[0].model_dump_json()) + 1
    parts = chunks(events, limit=size * 25)  # room for two deals' ten events, not three
    assert len(parts) == 2
    for part in parts:
        deals = {e.deal_id for e in part}
        assert all([e for e in events if e.deal_id == d] == [e for e in part if e.deal_id == d] for d in deals)
    assert sorted(e.body.event_id for p in parts for e in p) == sorted(e.body.event_id for e in events)


def test_one_journeys_events_past_the_limit_are_split_in_order() -> None:
    long = [
        QueuedEvent(
            signal="action_taken", body=ActionTaken(action="a" * 128, event_id=f"e{i}-" + "x" * 240), deal_id="D-1"
        )
        for i in range(5000)
    ]
    parts = chunks(long)
    assert len(parts) > 1
    assert [e for p in parts for e in p] == long
    assert all(sum(len(e.model_dump_json()) + 1 for e in p) <= CHUNK_BYTES for p in parts)


async def test_a_retried_delivery_resumes_where_its_last_heartbeat_was(dev_env: WorkflowEnvironment) -> None:
    """The real activity against the dev server: a retry whose last heartbeat said events 0
    and 1 were handled delivers only what was left, so no journey gets those events twice.
    (Not the time-skipping server: a journey created there by signal-with-start, even once
    terminated, makes the later tests' time skipping time out, as seen with
    tests/privacy/test_privacy_history.py.)"""
    client = dev_env.client
    deal = f"D-{uuid.uuid4().hex[:8]}"
    events = [
        QueuedEvent(signal="action_taken", body=ActionTaken(action="dataset_uploaded", event_id=f"e{i}"), deal_id=deal)
        for i in range(3)
    ]
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_details=[[0, 1], []])
    activities = IntakeActivities(client)
    request = DeliverEvents(journeys_task_queue=f"nobody-{uuid.uuid4().hex[:6]}", events=events)
    try:
        assert await env.run(activities.deliver_product_events, request) == Delivered(delivered=3)
        assert [b["event_id"] for _, b in await signals_of(client, f"onboarding-{deal}")] == ["e2"]
    finally:
        await client.get_workflow_handle(f"onboarding-{deal}").terminate("test over")


async def test_a_batch_for_one_journey_is_paced_at_the_journeys_rate(dev_env: WorkflowEnvironment) -> None:
    """A Segment batch is accepted whole (202), so its events for one journey cannot be
    refused with 429: the intake paces them instead (JOURNEY_EVENT_RATE after a burst),
    while another journey's events in the same slice are not held back. Before, the intake
    signalled one journey as fast as Temporal answered, whatever the batch held."""
    client = dev_env.client
    flooded, calm = f"D-{uuid.uuid4().hex[:8]}", f"D-{uuid.uuid4().hex[:8]}"

    def event(deal: str, i: int) -> QueuedEvent:
        return QueuedEvent(
            signal="action_taken", body=ActionTaken(action="dataset_uploaded", event_id=f"e{i}"), deal_id=deal
        )

    events = [event(flooded, i) for i in range(15)] + [event(calm, i) for i in range(3)]
    activities = IntakeActivities(client, pace=JourneyRateLimiter(rate=10.0, burst=5))
    request = DeliverEvents(journeys_task_queue=f"nobody-{uuid.uuid4().hex[:6]}", events=events)
    try:
        assert await ActivityEnvironment().run(activities.deliver_product_events, request) == Delivered(delivered=18)
        times = {}
        for deal in (flooded, calm):
            history = await client.get_workflow_handle(f"onboarding-{deal}").fetch_history()
            signalled = [
                e.event_time.ToDatetime()
                for e in history.events
                if e.workflow_execution_signaled_event_attributes.signal_name
            ]
            times[deal] = (signalled[-1] - signalled[0]).total_seconds()
            assert len(signalled) == (15 if deal == flooded else 3)
        assert times[flooded] >= (15 - 5) / 10.0 * 0.9  # ten events past the burst at 10 per second
        assert times[calm] < 0.5
    finally:
        for deal in (flooded, calm):
            await client.get_workflow_handle(f"onboarding-{deal}").terminate("test over")
