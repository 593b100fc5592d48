"""`POST /webhooks/deal-closed`: the generic deal-closed webhook (Standard Webhooks signature)
starts the deal's journey with the deal."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends

from contracts.deal import DealClosed
from starters import journeys
from starters.deps import SignedJson, SuppressionsDep, TargetDep, TemporalDep, Verified, standard_webhook
from starters.models import DealAccepted
from starters.openapi import request_body
from starters.problems import problem_responses

log = structlog.get_logger("starters.app")
router = APIRouter()

SignedDeal = Annotated[Verified[DealClosed], Depends(SignedJson(standard_webhook, DealClosed))]


@router.post(
    "/webhooks/deal-closed",
    status_code=202,
    responses=problem_responses(400, 401, 413, 415, 422, 503),
    openapi_extra=request_body("DealClosed", DealClosed),
    summary="A deal closed (Standard Webhooks signature)",
)
async def deal_closed(
    delivery: SignedDeal, suppressions: SuppressionsDep, temporal: TemporalDep, target: TargetDep
) -> DealAccepted:
    deal = delivery.value
    first_signal = await journeys.suppressed_at_start(suppressions, deal)
    async with temporal.calls() as client:
        outcome = await journeys.start_with_deal(client, deal, target, first_signal)
    log.info(
        "deal_closed_accepted",
        webhook_id=delivery.delivery_id,
        deal_id=deal.deal_id,
        workflow_id=outcome.workflow_id,
        created=outcome.created,
        running=outcome.running,
        suppressed=first_signal is not None,
    )
    return DealAccepted(workflow_id=outcome.workflow_id, created=outcome.created)
