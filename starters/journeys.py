"""Starting journeys and delivering events to them, idempotently.

Every start is on `onboarding-<deal_id>` with conflict policy USE_EXISTING and reuse policy
REJECT_DUPLICATE (contracts.search_attributes.start_options), so a redelivered webhook never
makes a second journey. A product event uses signal-with-start: when it arrives before its
deal, it creates the journey, which waits for its deal with the event already in its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import structlog
from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.deal import Crm, DealClosed
from contracts.journey import WORKFLOW_TYPE, JourneyInput, workflow_id_for
from contracts.search_attributes import CUSTOMER_ID, start_options
from contracts.signals import DealInCrm, Unsubscribed
from privacy.contacts import contact_hash
from privacy.suppressions import SuppressionList

log = structlog.get_logger("starters.journeys")

DEAL_CLOSED_SIGNAL = "deal_closed"
DEAL_IN_CRM_SIGNAL = "deal_in_crm"
UNSUBSCRIBED_SIGNAL = "unsubscribed"


@dataclass(frozen=True)
class StartOutcome:
    workflow_id: str
    # True only when this request created the workflow execution.
    created: bool
    # False when the journey had already finished (reuse policy REJECT_DUPLICATE).
    running: bool = True


def _started(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the server started a new execution for this request.

    The start response's `started` flag is the only exact answer (USE_EXISTING returns the
    running execution's run id either way); the SDK keeps the response on the handle.
    """
    response = getattr(handle, "_start_workflow_response", None)
    if response is None or not hasattr(response, "started"):
        raise RuntimeError("temporalio no longer exposes the start response; update _started()")
    return bool(response.started)


@dataclass(frozen=True)
class Target:
    """Where journeys run and how long a call to Temporal may take."""

    task_queue: str
    rpc_timeout: timedelta


async def start_with_deal(
    client: Client, deal: DealClosed, target: Target, first_signal: tuple[str, BaseModel] | None = None
) -> StartOutcome:
    """Start the journey for a closed deal, or hand the deal to the journey an early product
    event created (it waits for `deal_closed`).

    A plain start first: for a new deal that is all it costs, and a redelivery writes nothing
    to the journey's history. Only when the journey exists and has no CustomerId yet (the
    workflow sets it once it has its deal) is the deal signalled; should two deliveries race
    there, the workflow ignores the second `deal_closed`.

    `first_signal` is delivered with the start (signal-with-start), so the journey has it
    before its first step: e.g. `unsubscribed` for a contact on the suppression list.
    """
    workflow_id = workflow_id_for(deal.deal_id)
    extra: dict[str, Any] = {}
    if first_signal is not None:
        extra = {"start_signal": first_signal[0], "start_signal_args": [first_signal[1]]}
    try:
        handle = await client.start_workflow(
            WORKFLOW_TYPE,
            JourneyInput(deal_id=deal.deal_id, deal=deal),
            **extra,
            **start_options(deal, task_queue=target.task_queue),
            rpc_timeout=target.rpc_timeout,
        )
    except WorkflowAlreadyStartedError:
        return StartOutcome(workflow_id, created=False, running=False)
    if _started(handle):
        return StartOutcome(workflow_id, created=True)
    return await _hand_to_waiting_journey(handle, DEAL_CLOSED_SIGNAL, deal, target)


async def suppressed_at_start(suppressions: SuppressionList, deal: DealClosed) -> tuple[str, Unsubscribed] | None:
    """A new journey whose customer contact unsubscribed before: it starts knowing it (the
    `first_signal` of `start_with_deal`)."""
    found = await suppressions.find(contact_hash(deal.champion.email))
    if found is None:
        return None
    return UNSUBSCRIBED_SIGNAL, Unsubscribed(contact_hash=found.contact_hash, at=found.at)


async def _hand_to_waiting_journey(
    handle: WorkflowHandle, signal: str, payload: BaseModel, target: Target
) -> StartOutcome:
    """The start found an existing journey. One without a CustomerId (the workflow sets it
    once it has its deal) was created by an early event and is waiting: give it `signal`."""
    description = await handle.describe(rpc_timeout=target.rpc_timeout)
    if description.typed_search_attributes.get(CUSTOMER_ID) is None:
        try:
            await handle.signal(signal, payload, rpc_timeout=target.rpc_timeout)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:  # closed meanwhile: nothing to hand over
                raise
            return StartOutcome(handle.id, created=False, running=False)
        log.info("deal_handed_to_waiting_journey", workflow_id=handle.id, signal=signal)
    return StartOutcome(handle.id, created=False)


async def start_from_crm(client: Client, deal_id: str, crm: Crm, target: Target) -> StartOutcome:
    """Start a journey whose deal details the workflow fetches from the CRM."""
    workflow_id = workflow_id_for(deal_id)
    try:
        handle = await client.start_workflow(
            WORKFLOW_TYPE,
            JourneyInput(deal_id=deal_id, crm=crm),
            **start_options(deal_id, crm=crm, task_queue=target.task_queue),
            rpc_timeout=target.rpc_timeout,
        )
    except WorkflowAlreadyStartedError:
        return StartOutcome(workflow_id, created=False, running=False)
    if _started(handle):
        return StartOutcome(workflow_id, created=True)
    return await _hand_to_waiting_journey(handle, DEAL_IN_CRM_SIGNAL, DealInCrm(crm=crm), target)


Delivery = Literal["signalled", "created_waiting_for_deal", "journey_closed"]


@dataclass(frozen=True)
class EventDelivery:
    workflow_id: str
    outcome: Delivery


async def signal_deal(client: Client, deal_id: str, signal: str, payload: BaseModel, target: Target) -> EventDelivery:
    """Signal the deal's journey; if it does not exist yet, create it waiting for its deal,
    with the signal buffered in its history (applied once the deal arrives)."""
    workflow_id = workflow_id_for(deal_id)
    try:
        handle = await client.start_workflow(
            WORKFLOW_TYPE,
            JourneyInput(deal_id=deal_id),
            start_signal=signal,
            start_signal_args=[payload],
            **start_options(deal_id, task_queue=target.task_queue),
            rpc_timeout=target.rpc_timeout,
        )
    except WorkflowAlreadyStartedError:
        return EventDelivery(workflow_id, "journey_closed")
    return EventDelivery(workflow_id, "created_waiting_for_deal" if _started(handle) else "signalled")


def quote_literal(value: str) -> str:
    """A visibility query string literal: backslashes and the quote character escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


async def running_journeys_for_account(client: Client, account_id: str, target: Target, limit: int = 50) -> list[str]:
    query = (
        f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND CustomerId = {quote_literal(account_id)}"
    )
    ids: list[str] = []
    async for execution in client.list_workflows(query, limit=limit, rpc_timeout=target.rpc_timeout):
        ids.append(execution.id)
    return sorted(set(ids))


async def signal_running(
    client: Client, workflow_id: str, signal: str, payload: BaseModel, target: Target
) -> EventDelivery:
    try:
        await client.get_workflow_handle(workflow_id).signal(signal, payload, rpc_timeout=target.rpc_timeout)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:  # finished between the lookup and the signal
            return EventDelivery(workflow_id, "journey_closed")
        raise
    return EventDelivery(workflow_id, "signalled")
