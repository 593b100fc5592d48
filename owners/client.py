"""Reaching the owner-roster workflow from outside it: the activities and `onboarding
roster-sync` send it updates through here."""

from __future__ import annotations

from typing import TypeVar

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

from owners.workflow import ROSTER_FULL, OwnerRosterWorkflow, RosterInput, roster_task_queue, roster_workflow_id

# Temporal admits 10 in-flight updates per workflow and answers ResourceExhausted past
# that; each sender keeps to this share, so two workers stay under it in a burst.
ROSTER_UPDATES_IN_FLIGHT = 4

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out")


class RosterRefused(ApplicationError):
    """The roster refused the request (bad input, or no place left): retrying cannot help."""

    def __init__(self, cause: str, kind: str = "RosterRefused") -> None:
        super().__init__(f"owner roster refused: {cause}", type=kind, non_retryable=True)


class RosterFull(RosterRefused):
    """No place left: the roster carries as many places as one payload can hold."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause, kind=ROSTER_FULL)
        # What the journey or `roster-sync` says: the refusal without the field it names.
        self.reason = cause.removeprefix("journey_id: ")


async def update_roster(
    client: Client,
    task_queue: str,
    update: workflow.UpdateMethodMultiParam[[OwnerRosterWorkflow, In], Out],
    request: In,
) -> Out:
    """Send `update` to the roster of the journeys on `task_queue`, starting the roster (on
    its own task queue) if none runs yet.
    An update the roster had not taken when it continued as new is aborted by the server;
    that error fails the activity, whose retry sends it again (allocation and release are
    idempotent per journey)."""
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
            task_queue=roster_task_queue(task_queue),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Owner roster: places per owner for task queue {task_queue}",
        )
        return await client.execute_update_with_start_workflow(update, request, start_workflow_operation=start)
    except WorkflowUpdateFailedError as err:
        cause = getattr(err.cause, "message", None) or str(err.cause)
        if isinstance(err.cause, ApplicationError) and err.cause.type == ROSTER_FULL:
            raise RosterFull(cause) from None
        raise RosterRefused(cause) from None
