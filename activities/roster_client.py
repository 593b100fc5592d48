"""Reaching the owner-roster workflow from outside it: the activities and `onboarding
roster-sync` send it updates through here."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from workflows.roster import OwnerRosterWorkflow, RosterInput, roster_workflow_id

# Temporal admits 10 in-flight updates per workflow and answers ResourceExhausted past
# that; each sender keeps to this share, so two workers stay under it in a burst.
ROSTER_UPDATES_IN_FLIGHT = 4

# An update in flight while the roster hands over to a new run (continue-as-new) can go
# unanswered: the client would wait on it forever. Allocation and release are idempotent per
# journey, so after this long the same request is sent again, a few times, then the activity
# fails and its retry policy takes over.
ANSWER_WITHIN = timedelta(seconds=20)
ASKS = 3

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out")


class RosterUnanswered(ApplicationError):
    """The roster did not answer (a lost update, an overloaded worker): retryable."""

    def __init__(self, asks: int, each: timedelta) -> None:
        super().__init__(
            f"owner roster did not answer {asks} times in {each.total_seconds():g} s", type="RosterUnanswered"
        )


class RosterRefused(ApplicationError):
    """The roster refused the request (bad input, or no place left): retrying cannot help."""

    def __init__(self, cause: str) -> None:
        super().__init__(f"owner roster refused: {cause}", type="RosterRefused", non_retryable=True)


async def update_roster(
    client: Client,
    task_queue: str,
    update: workflow.UpdateMethodMultiParam[[OwnerRosterWorkflow, In], Out],
    request: In,
) -> Out:
    """Send `update` to the roster of `task_queue`, starting the roster if none runs yet;
    asked again (the same request) when no answer comes within ANSWER_WITHIN."""
    for ask in range(1, ASKS + 1):
        # asyncio.wait, not wait_for: a client call that does not end on cancel (the SDK's
        # poll for an update's outcome) must not hold us past the deadline either.
        attempt = asyncio.ensure_future(_update_once(client, task_queue, update, request))
        done, _ = await asyncio.wait({attempt}, timeout=ANSWER_WITHIN.total_seconds())
        if attempt in done:
            return attempt.result()
        attempt.cancel()
        attempt.add_done_callback(_forget)
        if ask == ASKS:
            raise RosterUnanswered(ASKS, ANSWER_WITHIN)
    raise AssertionError("unreachable")


def _forget(attempt: "asyncio.Future[Any]") -> None:
    """An abandoned attempt's outcome is not needed (the request was asked again)."""
    if not attempt.cancelled():
        attempt.exception()


async def _update_once(
    client: Client,
    task_queue: str,
    update: workflow.UpdateMethodMultiParam[[OwnerRosterWorkflow, In], Out],
    request: In,
) -> Out:
    roster_id = roster_workflow_id(task_queue)
    try:
        try:
            return await client.get_workflow_handle(roster_id).execute_update(update, request)
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:
                raise
        # The first update on this task queue: start the roster with it. Two senders racing
        # here end up with one roster (USE_EXISTING).
        start = WithStartWorkflowOperation(
            OwnerRosterWorkflow.run,
            RosterInput(),
            id=roster_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Owner roster: places per owner for task queue {task_queue}",
        )
        return await client.execute_update_with_start_workflow(update, request, start_workflow_operation=start)
    except WorkflowUpdateFailedError as err:
        raise RosterRefused(getattr(err.cause, "message", None) or str(err.cause)) from None
