"""`POST /events`: a product event (Standard Webhooks signature) becomes a signal on its
journey, by deal (signal-with-start) or by account (starters/delivery.py)."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends

from starters.delivery import deliver
from starters.deps import SettingsDep, SignedJson, TargetDep, TemporalDep, Verified, standard_webhook
from starters.models import EventAccepted, EventDeliveryOut, ProductEvent
from starters.openapi import request_body
from starters.problems import problem_responses

log = structlog.get_logger("starters.app")
router = APIRouter()

SignedEvent = Annotated[Verified[ProductEvent], Depends(SignedJson(standard_webhook, ProductEvent))]


@router.post(
    "/events",
    status_code=202,
    responses=problem_responses(400, 401, 404, 413, 415, 422, 503),
    openapi_extra=request_body("ProductEvent", ProductEvent),
    summary="A product event (Standard Webhooks signature)",
)
async def events(
    delivery: SignedEvent, settings: SettingsDep, temporal: TemporalDep, target: TargetDep
) -> EventAccepted:
    event, webhook_id = delivery.value, delivery.delivery_id
    signal, _ = event.signal()
    async with temporal.calls() as client:
        deliveries = await deliver(
            client, event, target, settings.unknown_account_retry_after_seconds, webhook_id=webhook_id
        )
    for d in deliveries:
        log.info(
            "event_accepted",
            webhook_id=webhook_id,
            event_id=event.event_id,
            signal=signal,
            workflow_id=d.workflow_id,
            outcome=d.outcome,
        )
    return EventAccepted(
        event_id=event.event_id,
        signal=signal,
        deliveries=[EventDeliveryOut(workflow_id=d.workflow_id, outcome=d.outcome) for d in deliveries],
    )
