"""`POST /webhooks/pipedrive`: Pipedrive webhooks v2 (HTTP basic auth). A deal whose status
becomes `won` starts its journey, which reads the deal from Pipedrive (`fetch_pipedrive_deal`)."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request

from starters import journeys
from starters.deps import RefusalsDep, Service, ServiceDep, SignedJson, TargetDep, TemporalDep, Verified
from starters.models import HubSpotStart, PipedriveAccepted
from starters.pipedrive import REALM, PipedriveDeal, PipedriveEvent, deal_change, verify_basic
from starters.problems import problem_responses
from starters.refusals import PIPEDRIVE, RefusedBody, keep_body, refusing

log = structlog.get_logger("starters.vendors")
router = APIRouter()


def unconfigured(service: Service) -> tuple[str, str] | None:
    """What is missing for this endpoint to accept anything (a warning at startup), or None."""
    settings = service.settings
    if settings.pipedrive_webhook_user and settings.pipedrive_webhook_password:
        return None
    return "no_pipedrive_credentials", "PIPEDRIVE_WEBHOOK_USER/PASSWORD are empty: /webhooks/pipedrive answers 401"


def verify(request: Request, service: Service, body: bytes) -> None:
    password = service.settings.pipedrive_webhook_password
    verify_basic(
        service.settings.pipedrive_webhook_user, password.get_secret_value() if password else None, request.headers
    )


Delivery = Annotated[
    Verified[tuple[PipedriveEvent, PipedriveDeal | None] | RefusedBody],
    Depends(
        SignedJson(
            verify, refusing(deal_change), title="Sender verification failed", headers={"WWW-Authenticate": REALM}
        )
    ),
]


@router.post(
    "/webhooks/pipedrive",
    status_code=202,
    responses=problem_responses(400, 401, 413, 415, 422, 503),
    summary="Pipedrive webhook v2 (HTTP basic auth)",
)
async def pipedrive(
    delivery: Delivery, service: ServiceDep, refusals: RefusalsDep, temporal: TemporalDep, target: TargetDep
) -> PipedriveAccepted:
    """A delivery that does not validate is kept (`onboarding intake`) before its 422: Pipedrive
    tries a few times more, each failing alike, then drops it."""
    if isinstance(delivery.value, RefusedBody):
        refused = delivery.value
        raise await keep_body(
            refusals, service.converter, PIPEDRIVE, _delivery_ref(refused.raw), refused, _deal_ref(refused.raw)
        )
    event, deal = delivery.value
    outcomes: list[journeys.StartOutcome] = []
    if deal is not None and event.becomes_won(deal):
        async with temporal.calls() as client:
            outcomes.append(await journeys.start_from_crm(client, str(deal.id), "pipedrive", target))
    for outcome in outcomes:
        log.info(
            "pipedrive_deal_accepted",
            delivery_id=event.meta.id,
            attempt=event.meta.attempt,
            workflow_id=outcome.workflow_id,
            created=outcome.created,
        )
    if not outcomes:
        log.info(
            "pipedrive_event_ignored", delivery_id=event.meta.id, entity=event.meta.entity, action=event.meta.action
        )
    return PipedriveAccepted(
        journeys=[HubSpotStart(workflow_id=o.workflow_id, created=o.created) for o in outcomes],
        ignored=0 if outcomes else 1,
    )


def _delivery_ref(raw: Any) -> str | None:
    """Pipedrive's `meta.id` names the delivery (the same on each attempt)."""
    meta = raw.get("meta") if isinstance(raw, dict) else None
    ident = meta.get("id") if isinstance(meta, dict) else None
    return str(ident) if isinstance(ident, (str, int)) and not isinstance(ident, bool) else None


def _deal_ref(raw: Any) -> str | None:
    meta = raw.get("meta") if isinstance(raw, dict) else None
    if not isinstance(meta, dict) or meta.get("entity") != "deal":
        return None
    ident = meta.get("entity_id")
    return str(ident) if isinstance(ident, (str, int)) and not isinstance(ident, bool) else None
