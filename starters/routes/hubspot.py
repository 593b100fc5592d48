"""`POST /webhooks/hubspot`: HubSpot webhook events (signature v3). A deal moved to a closed-won
stage starts its journey, which reads the deal from HubSpot (`fetch_hubspot_deal`). Both
subscription formats: the classic `deal.propertyChange` (legacy apps) and the generic
`object.propertyChange` with `objectTypeId` "0-3" (apps on HubSpot's developer platform)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request

from starters import journeys
from starters.deps import RefusalsDep, Service, ServiceDep, SettingsDep, SignedJson, TargetDep, TemporalDep, Verified
from starters.hubspot import closes_deal
from starters.intake import validate_adapter
from starters.models import HubSpotAccepted, HubSpotBatch, HubSpotEvent, HubSpotStart
from starters.openapi import request_body
from starters.problems import problem_responses
from starters.refusals import HUBSPOT, RefusedBody, keep_body, refusing
from starters.signatures import verify_hubspot_v3

log = structlog.get_logger("starters.app")
router = APIRouter()


def unconfigured(service: Service) -> tuple[str, str] | None:
    """What is missing for this endpoint to accept anything (a warning at startup), or None."""
    if service.settings.hubspot_client_secret:
        return None
    return "no_hubspot_secret", "HUBSPOT_CLIENT_SECRET is empty: /webhooks/hubspot answers 401"


def verify(request: Request, service: Service, body: bytes) -> None:
    secret = service.settings.hubspot_client_secret
    verify_hubspot_v3(
        secret=secret.get_secret_value() if secret else None,
        method=request.method,
        uri=public_uri(request, service.settings.public_base_url),
        body=body,
        headers=request.headers,
        now=service.clock(),
    )


def public_uri(request: Request, public_base_url: str | None) -> str:
    """The URI HubSpot signed: the one the request arrived on, or PUBLIC_BASE_URL + path."""
    if not public_base_url:
        return str(request.url)
    query = request.url.query
    return public_base_url + request.url.path + (f"?{query}" if query else "")


SignedEvents = Annotated[
    Verified[list[HubSpotEvent] | RefusedBody],
    Depends(SignedJson(verify, refusing(lambda data: validate_adapter(HubSpotBatch, data)))),
]


@router.post(
    "/webhooks/hubspot",
    status_code=202,
    responses=problem_responses(400, 401, 413, 415, 422, 503),
    openapi_extra=request_body("HubSpotEvents", HubSpotBatch),
    summary="HubSpot webhook events (signature v3)",
)
async def hubspot(
    delivery: SignedEvents,
    service: ServiceDep,
    refusals: RefusalsDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    target: TargetDep,
) -> HubSpotAccepted:
    """A batch that does not validate is kept whole (`onboarding intake`) before its 422:
    HubSpot does not send a batch again after a 4xx."""
    if isinstance(delivery.value, RefusedBody):
        refused = delivery.value
        raise await keep_body(refusals, service.converter, HUBSPOT, None, refused, _deal_ids(refused.raw))
    events = delivery.value
    closing = [e for e in events if closes_deal(e, settings.hubspot_closed_won_stages)]
    deal_ids = list(dict.fromkeys(str(e.objectId) for e in closing))
    ignored = len(events) - len(closing)
    async with temporal.calls() as client:
        outcomes = await asyncio.gather(*(journeys.start_from_crm(client, d, "hubspot", target) for d in deal_ids))
    for outcome in outcomes:
        log.info("hubspot_deal_accepted", workflow_id=outcome.workflow_id, created=outcome.created)
    if ignored:
        log.info("hubspot_events_ignored", count=ignored)
    return HubSpotAccepted(
        journeys=[HubSpotStart(workflow_id=o.workflow_id, created=o.created) for o in outcomes], ignored=ignored
    )


def _deal_ids(raw: Any) -> str | None:
    """The objectIds of a refused batch's entries, as far as they can be read."""
    entries = raw if isinstance(raw, list) else []
    ids = [str(e["objectId"]) for e in entries if isinstance(e, dict) and isinstance(e.get("objectId"), (int, str))]
    return ", ".join(dict.fromkeys(ids))[:255] or None
