"""A batch of product events accepted by the HTTP service and delivered to their journeys by
the intake workflow (workflows/intake.py) from its activity (activities/intake.py).

The HTTP service makes a batch durable in one start of `ProductEventIntake`, before it
answers the sender, and the workflow delivers each event exactly as the single-event path
does: by deal (signal-with-start) or by account (every running journey of that account).
The intake runs on a task queue of its own next to the journeys' (`intake_task_queue`), so
a burst of batches never queues behind the journeys' own workflow tasks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.signals import ActionFailed, ActionTaken, HelpRequested
from contracts.strict import Strict

INTAKE_WORKFLOW_TYPE = "ProductEventIntake"
DELIVER_ACTIVITY = "deliver_product_events"
INTAKE_QUEUE_SUFFIX = "-intake"


def intake_task_queue(task_queue: str) -> str:
    """Where the intake of the journeys on `task_queue` runs (the worker of `task_queue`
    polls both)."""
    return task_queue if task_queue.endswith(INTAKE_QUEUE_SUFFIX) else task_queue + INTAKE_QUEUE_SUFFIX


class QueuedEvent(Strict):
    """One product event waiting for delivery: the journey signal it becomes, and where it goes
    (`deal_id` wins; else every running journey of `account_id`)."""

    signal: Literal["action_taken", "action_failed", "help_requested"]
    body: ActionTaken | ActionFailed | HelpRequested
    deal_id: str | None = None
    account_id: str | None = None


class Intake(Strict):
    """The workflow's input: the events, in the order the sender sent them, and how far they
    got (carried across continue-as-new, so each run's history stays small)."""

    source: str = Field(min_length=1, max_length=64)
    journeys_task_queue: str = Field(min_length=1)
    events: list[QueuedEvent]
    # How many of `events` this run has handed to their journeys, and how many events earlier
    # runs of this intake did (they are no longer in `events`).
    position: int = 0
    delivered_before: int = 0
    # Events addressed to an account with no running journey yet, waiting for a retry.
    waiting: list[QueuedEvent] = Field(default_factory=list)
    retries: int = 0
    run: int = 1


class DeliverEvents(Strict):
    """The activity's input: a slice of a batch, delivered in order."""

    journeys_task_queue: str = Field(min_length=1)
    events: list[QueuedEvent]


class Delivered(Strict):
    """What the activity did: how many events reached a journey, and the positions (in its
    input) of the events addressed to an account with no running journey."""

    delivered: int
    without_journey: list[int] = Field(default_factory=list)


class IntakeOutcome(Strict):
    delivered: int
    # event ids never delivered: their account had no running journey through every retry
    without_journey: list[str] = Field(default_factory=list)
    runs: int = 1
