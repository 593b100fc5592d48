"""`POST /events`: a product event (Standard Webhooks signature) becomes a signal on its
journey, by deal (signal-with-start) or by account (starters/delivery.py)."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends

from starters.deps import EventLedgerDep, ServiceDep, SignedJson, TargetDep, TemporalDep, Verified, standard_webhook
from starters.edge import deliver_once
from starters.models import EventAccepted, ProductEvent
from starters.openapi import request_body
from starters.problems import problem_responses

log = structlog.get_logger("starters.app")
router = APIRouter()

SignedEvent = Annotated[Verified[ProductEvent], Depends(SignedJson(standard_webhook, ProductEvent))]


@router.post(
    "/events",
    status_code=202,
    response_model_exclude_none=True,
    responses=problem_responses(400, 401, 404, 413, 415, 422, 429, 503),
    openapi_extra=request_body("ProductEvent", ProductEvent),
    summary="A product event (Standard Webhooks signature)",
)
async def events(
    delivery: SignedEvent, service: ServiceDep, ledger: EventLedgerDep, temporal: TemporalDep, target: TargetDep
) -> EventAccepted:
    """Delivered once per journey and event id (a resend is answered from the records), within
    the journey's rate (429 beyond it): starters/edge.py."""
    event, webhook_id = delivery.value, delivery.delivery_id
    signal, _ = event.signal()
    done = await deliver_once(
        "events", event, service=service, ledger=ledger, temporal=temporal, target=target, webhook_id=webhook_id
    )
    for d in done.deliveries:
        log.info(
            "event_duplicate" if done.duplicate else "event_accepted",
            webhook_id=webhook_id,
            event_id=event.event_id,
            signal=signal,
            workflow_id=d.workflow_id,
            outcome=d.outcome,
        )
    return EventAccepted(
        event_id=event.event_id, signal=signal, deliveries=done.deliveries, duplicate=done.duplicate or None
    )
