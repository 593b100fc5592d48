"""Driving a journey from outside, as a customer, a producer and the staff do: start it, send
its signals (patiently, as a well-behaved producer), wait for its `status` to say what a step
needs (bounded polling on a real clock, or virtual time moved forward on the time-skipping
server), take every milestone's action, and read every run of its history.

One set of helpers for everything that drives journeys: the replay corpus's recorder
(replay/record.py) and the tests (tests/harness/support.py, tests/harness/traffic.py).
Signals, updates and the query go by name, so a caller needs no workflow class."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from contracts.journey import JourneyResult
from contracts.signals import ActionTaken
from contracts.status import OnboardingState, Status

MINUTE = timedelta(minutes=1)

# the default playbook's milestones and the product event that completes each
MILESTONE_EVENTS = {
    "first_action": "dataset_uploaded",
    "first_value": "dashboard_shared",
    "expansion_check": "teammates_invited",
}


class NeverReached(AssertionError):
    """A journey's status never said what the caller waited for, within the bound."""


# ------------------------------------------------------------------ reading a journey's status


async def status(handle: WorkflowHandle) -> Status:
    return await handle.query("status", result_type=Status)


def told(stage: str) -> Callable[[Status], bool]:
    """The customer has been told this stage's one action and the journey waits on them."""
    return lambda s: (
        s.stage == stage
        and s.waiting_on == "customer"
        and s.next_action is not None
        and s.next_action.due_at is not None
    )


def escalated(s: Status) -> bool:
    return s.state is OnboardingState.escalated


# ------------------------------------------------------------------ waiting for a status


async def wait_until(
    handle: WorkflowHandle, done: Callable[[Status], bool], *, seconds: float = 20.0, what: str = ""
) -> Status:
    """Real-time servers: re-query until `done`, bounded (the journey reacts asynchronously)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        current = await status(handle)
        if done(current):
            return current
        if loop.time() > deadline:
            said = f"never reached '{what}'" if what else "never reached the expected status"
            raise NeverReached(f"journey {said}; last: {current}")
        await asyncio.sleep(0.05)


async def advance_until(
    env: WorkflowEnvironment,
    handle: WorkflowHandle,
    done: Callable[[Status], bool],
    *,
    step: timedelta = timedelta(minutes=30),
    limit: timedelta = timedelta(days=30),
) -> Status:
    """The time-skipping server: move virtual time forward in steps until the journey's status
    satisfies `done`."""
    waited = timedelta(0)
    while True:
        current = await status(handle)
        if done(current):
            return current
        if waited >= limit:
            raise NeverReached(f"journey never reached the expected status; last: {current}")
        await env.sleep(step)
        waited += step


# ------------------------------------------------------------------ sending


SENDER_ATTEMPTS = 20


async def signal_patiently(handle: WorkflowHandle, name: str, args: Sequence[Any]) -> None:
    """Signal as a well-behaved producer does: while the journey hands over to a new run the
    server answers RESOURCE_EXHAUSTED ("workflow is closing"; our HTTP service turns it into
    503), and the producer tries again shortly, a bounded number of times."""
    for attempt in range(1, SENDER_ATTEMPTS + 1):
        try:
            await handle.signal(name, args=list(args))
            return
        except RPCError as err:
            if err.status is not RPCStatusCode.RESOURCE_EXHAUSTED or attempt == SENDER_ATTEMPTS:
                raise
            await asyncio.sleep(0.05 * attempt)  # back-off of a retrying sender, not a synchronisation


async def take_every_action(env: WorkflowEnvironment, handle: WorkflowHandle) -> JourneyResult:
    """The customer does each milestone's action once told it (virtual time); the journey's result."""
    for stage, event in MILESTONE_EVENTS.items():
        await advance_until(env, handle, told(stage), step=MINUTE)
        await handle.signal("action_taken", ActionTaken(action=event, event_id=f"e-{stage}"))
    return await handle.result()


# ------------------------------------------------------------------ reading its history


async def run_histories(client: Client, workflow_id: str, first_run_id: str) -> list[WorkflowHistory]:
    """Every run of a journey, first to last, following continue-as-new (as stored: payloads
    encoded; lab/histories.py `journey_runs` decodes them)."""
    histories, run_id = [], first_run_id
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else ""
        )
    return histories
