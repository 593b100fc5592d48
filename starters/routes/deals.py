"""`POST /webhooks/deal-closed`: the generic deal-closed webhook (Standard Webhooks signature)
starts the deal's journey with the deal."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends

from contracts.deal import DealClosed
from starters import journeys
from starters.deps import (
    AccountsDep,
    RefusalsDep,
    ServiceDep,
    SignedJson,
    SuppressionsDep,
    TargetDep,
    TemporalDep,
    Verified,
    standard_webhook,
)
from starters.intake import validate
from starters.models import DealAccepted
from starters.openapi import request_body
from starters.problems import problem_responses
from starters.refusals import DEAL_CLOSED, RefusedBody, keep_body, refusing

log = structlog.get_logger("starters.app")
router = APIRouter()

SignedDeal = Annotated[
    Verified[DealClosed | RefusedBody],
    Depends(SignedJson(standard_webhook, refusing(lambda data: validate(DealClosed, data)))),
]


@router.post(
    "/webhooks/deal-closed",
    status_code=202,
    responses=problem_responses(400, 401, 413, 415, 422, 503),
    openapi_extra=request_body("DealClosed", DealClosed),
    summary="A deal closed (Standard Webhooks signature)",
)
async def deal_closed(
    delivery: SignedDeal,
    service: ServiceDep,
    refusals: RefusalsDep,
    accounts: AccountsDep,
    suppressions: SuppressionsDep,
    temporal: TemporalDep,
    target: TargetDep,
) -> DealAccepted:
    """A body that does not validate is kept (`onboarding intake`) before its 422: the sender's
    retries all fail alike, then it gives up."""
    deal = delivery.value
    if isinstance(deal, RefusedBody):
        raw_id = deal.raw.get("deal_id") if isinstance(deal.raw, dict) else None
        deal_id = raw_id if isinstance(raw_id, str) else None
        raise await keep_body(refusals, service.converter, DEAL_CLOSED, delivery.delivery_id, deal, deal_id)
    first_signal = await journeys.suppressed_at_start(suppressions, deal)
    # Before the start: staff find every started journey by company name (/support/find), and
    # a records outage answers 503 with nothing started.
    await accounts.record_deal(deal)
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
