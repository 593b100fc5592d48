"""The endpoints that speak a vendor's own wire format: Salesforce outbound messages,
Pipedrive webhooks v2 and Segment's webhook destination.

Each verifies what its sender can prove (organization id, basic auth, HMAC), answers the way
the sender expects, and starts or signals nothing unless the whole request is usable.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from temporalio.service import RPCError

from contracts.deal import DealClosed
from starters import journeys, unsubscribe
from starters.delivery import deliver
from starters.intake import parse_json, read_body, require_json, validate, validate_adapter
from starters.models import PipedriveAccepted, SegmentAccepted
from starters.pipedrive import REALM, PipedriveEvent, verify_basic
from starters.problems import Problem, problem_responses, validation_problem
from starters.salesforce import (
    ACK_FALSE,
    ACK_TRUE,
    closed_won_deals,
    parse_envelope,
    read_message,
    require_xml,
    verify_organization,
)
from starters.segment import SegmentBatch, SegmentCall, to_product_events, verify_segment
from starters.signatures import SignatureError
from starters.temporal import TemporalUnavailable

log = structlog.get_logger("starters.vendors")
router = APIRouter()
SOAP_XML = "text/xml; charset=utf-8"


def _service(request: Request) -> Any:
    return request.app.state.service


def _unauthorized(err: SignatureError, **headers: str) -> Problem:
    return Problem(401, "invalid-signature", "Sender verification failed", err.reason, headers=headers)


@router.post(
    "/webhooks/salesforce",
    responses={
        200: {"description": "SOAP notificationsResponse: Ack true (all handled) or false (retry later)"},
        **problem_responses(400, 401, 413, 415, 422),
    },
    summary="Salesforce outbound message (SOAP, Opportunity)",
)
async def salesforce(request: Request) -> Response:
    service = _service(request)
    settings = service.settings
    require_xml(request.headers.get("content-type", ""))
    body = await read_body(request, settings.max_body_bytes)
    data = parse_envelope(body)
    organization = verify_organization(data, settings.salesforce_org_ids)
    message = read_message(data)
    deals, ignored = closed_won_deals(message, settings.salesforce_fields)
    notification_ids = [n.Id for n in message.Notification]
    try:
        async with service.temporal.calls() as client:
            outcomes = await _start_all(client, service, deals)
    except (TemporalUnavailable, RPCError) as err:
        # Ack false: Salesforce keeps the message and delivers it again (for 24 hours); the
        # journeys this attempt did start are found again then, not started twice.
        log.warning(
            "salesforce_not_acknowledged",
            organization_id=organization,
            notification_ids=notification_ids,
            reason=type(err).__name__,
        )
        return Response(
            ACK_FALSE,
            media_type=SOAP_XML,
            headers={"Retry-After": str(settings.retry_after_seconds)},
        )
    # one line per message: the ids, never the fields
    log.info(
        "salesforce_acknowledged",
        organization_id=organization,
        action_id=message.ActionId,
        notification_ids=notification_ids,
        workflow_ids=[o.workflow_id for o in outcomes],
        created=[o.created for o in outcomes],
        ignored=ignored,
    )
    return Response(ACK_TRUE, media_type=SOAP_XML)


async def _start_all(client: Any, service: Any, deals: list[DealClosed]) -> list[journeys.StartOutcome]:
    """Start every deal's journey; the first failure is raised once all have finished."""

    async def start(deal: DealClosed) -> journeys.StartOutcome:
        first_signal = await unsubscribe.suppressed_at_start(service.suppressions, deal)
        return await journeys.start_with_deal(client, deal, service.target, first_signal)

    if len(deals) == 1:  # the usual message: one opportunity
        return [await start(deals[0])]
    results = await asyncio.gather(*(start(d) for d in deals), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if isinstance(r, journeys.StartOutcome)]


@router.post(
    "/webhooks/pipedrive",
    status_code=202,
    response_model=PipedriveAccepted,
    responses=problem_responses(400, 401, 413, 415, 422, 503),
    summary="Pipedrive webhook v2 (HTTP basic auth)",
)
async def pipedrive(request: Request) -> JSONResponse:
    service = _service(request)
    settings = service.settings
    require_json(request)
    body = await read_body(request, settings.max_body_bytes)
    password = settings.pipedrive_webhook_password
    try:
        verify_basic(
            settings.pipedrive_webhook_user, password.get_secret_value() if password else None, request.headers
        )
    except SignatureError as err:
        raise _unauthorized(err, **{"WWW-Authenticate": REALM}) from None
    event = validate(PipedriveEvent, parse_json(body))
    try:
        deal = event.deal()
    except ValidationError as err:
        errors = err.errors(include_input=False, include_url=False)
        raise validation_problem([{**e, "loc": ("data", *e["loc"])} for e in errors]) from None
    outcomes: list[journeys.StartOutcome] = []
    if deal is not None and event.becomes_won(deal):
        async with service.temporal.calls() as client:
            outcomes.append(await journeys.start_from_crm(client, str(deal.id), "pipedrive", service.target))
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
    return JSONResponse(
        {
            "journeys": [{"workflow_id": o.workflow_id, "created": o.created} for o in outcomes],
            "ignored": 0 if outcomes else 1,
        },
        status_code=202,
    )


@router.post(
    "/events/segment",
    response_model=SegmentAccepted,
    responses=problem_responses(400, 401, 404, 413, 415, 422, 503),
    summary="Segment webhook destination: track calls (X-Signature HMAC-SHA1)",
)
async def segment(request: Request) -> JSONResponse:
    service = _service(request)
    settings = service.settings
    require_json(request)
    body = await read_body(request, settings.max_body_bytes)
    try:
        verify_segment([s.get_secret_value() for s in settings.segment_shared_secret], body, request.headers)
    except SignatureError as err:
        raise _unauthorized(err) from None
    raw = parse_json(body)
    batch = isinstance(raw, list)
    calls = validate_adapter(SegmentBatch, raw) if batch else [validate(SegmentCall, raw)]
    events, ignored = to_product_events(calls, settings.segment_mapping, batch)
    accepted: list[dict[str, Any]] = []
    if events:
        async with service.temporal.calls() as client:
            # one after the other: a batch keeps the order the product sent
            for event in events:
                deliveries = await deliver(
                    client,
                    event,
                    service.target,
                    settings.unknown_account_retry_after_seconds,
                    message_id=event.event_id,
                )
                signal, _ = event.signal()
                accepted.append(
                    {
                        "message_id": event.event_id,
                        "signal": signal,
                        "deliveries": [{"workflow_id": d.workflow_id, "outcome": d.outcome} for d in deliveries],
                    }
                )
    for item in accepted:
        for d in item["deliveries"]:
            log.info(
                "segment_event_accepted",
                message_id=item["message_id"],
                signal=item["signal"],
                workflow_id=d["workflow_id"],
                outcome=d["outcome"],
            )
    if ignored:
        # event names are the product's vocabulary, not the customer's data
        log.info(
            "segment_events_ignored", count=len(ignored), events=dict(Counter(n[:64] for n in ignored).most_common(20))
        )
    return JSONResponse({"accepted": accepted, "ignored": len(ignored)})
