"""`POST /webhooks/salesforce`: a Salesforce outbound message (SOAP, Opportunity). Each
closed-won Opportunity starts its journey with the deal mapped from its fields; one that cannot
(no contact email, a bad time zone) is kept in the records for a human (`onboarding intake`)
and does not hold back the others. The answer is SOAP: Ack true when all are handled, Ack false
(retry later) when Temporal or the records cannot take them.

The organization id is in the body, so the envelope is parsed (hardened, starters/salesforce.py)
before the sender is verified: 415, 413, 400, 401, 422."""

from __future__ import annotations

import asyncio
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client
from temporalio.service import RPCError

from contracts.deal import DealClosed
from privacy.suppressions import SuppressionList
from starters import journeys
from starters.deps import (
    AccountsDep,
    Body,
    RefusalsDep,
    Service,
    ServiceDep,
    SettingsDep,
    SuppressionsDep,
    TargetDep,
    TemporalDep,
)
from starters.problems import problem_responses
from starters.refusals import keep_salesforce
from starters.salesforce import (
    ACK_FALSE,
    ACK_TRUE,
    OutboundMessage,
    closed_won_deals,
    parse_envelope,
    read_message,
    require_xml,
    verify_organization,
)
from starters.temporal import TemporalUnavailable

log = structlog.get_logger("starters.vendors")
router = APIRouter()


class SoapResponse(Response):
    media_type = "text/xml"  # sent as text/xml; charset=utf-8


def unconfigured(service: Service) -> tuple[str, str] | None:
    """What is missing for this endpoint to accept anything (a warning at startup), or None."""
    if service.settings.salesforce_org_ids:
        return None
    return "no_salesforce_org_ids", "SALESFORCE_ORG_IDS is empty: /webhooks/salesforce answers 401"


def xml_content(request: Request) -> None:
    require_xml(request.headers.get("content-type", ""))


def outbound_message(
    _xml: Annotated[None, Depends(xml_content)], body: Body, settings: SettingsDep
) -> tuple[str, OutboundMessage]:
    """The organization that sent the message (one of SALESFORCE_ORG_IDS), and the message."""
    data = parse_envelope(body)
    organization = verify_organization(data, settings.salesforce_org_ids)
    return organization, read_message(data)


@router.post(
    "/webhooks/salesforce",
    response_class=SoapResponse,
    responses={
        200: {"description": "SOAP notificationsResponse: Ack true (all handled) or false (retry later)"},
        **problem_responses(400, 401, 413, 415, 422),
    },
    summary="Salesforce outbound message (SOAP, Opportunity)",
)
async def salesforce(
    sent: Annotated[tuple[str, OutboundMessage], Depends(outbound_message)],
    service: ServiceDep,
    settings: SettingsDep,
    suppressions: SuppressionsDep,
    temporal: TemporalDep,
    target: TargetDep,
    refusals: RefusalsDep,
    accounts: AccountsDep,
) -> SoapResponse:
    organization, message = sent
    found = closed_won_deals(message, settings.salesforce_fields)
    notification_ids = [n.Id for n in message.Notification]
    try:
        # kept first: once Ack true is sent, Salesforce forgets the whole message
        for refused in found.refused:
            await keep_salesforce(refusals, service.converter, organization, refused)
        outcomes: list[journeys.StartOutcome] = []
        if found.deals:
            for deal in found.deals:  # before the start: staff find them by company name (/support/find)
                await accounts.record_deal(deal)
            async with temporal.calls() as client:
                outcomes = await _start_all(client, suppressions, target, found.deals)
    except (TemporalUnavailable, RPCError, SQLAlchemyError, OSError) as err:
        # Ack false: Salesforce keeps the message and delivers it again (for 24 hours); the
        # journeys this attempt did start are found again then, not started twice.
        log.warning(
            "salesforce_not_acknowledged",
            organization_id=organization,
            notification_ids=notification_ids,
            reason=type(err).__name__,
        )
        return SoapResponse(ACK_FALSE, headers={"Retry-After": str(settings.retry_after_seconds)})
    # one line per message: the ids, never the fields
    log.info(
        "salesforce_acknowledged",
        organization_id=organization,
        action_id=message.ActionId,
        notification_ids=notification_ids,
        workflow_ids=[o.workflow_id for o in outcomes],
        created=[o.created for o in outcomes],
        ignored=found.ignored,
    )
    for refused in found.refused:
        # ids and field names only: the values are the customer's (kept encrypted in the records)
        log.warning(
            "salesforce_notification_kept",
            organization_id=organization,
            notification_id=refused.notification_id,
            opportunity_id=refused.opportunity_id,
            fields=[e.field for e in refused.errors],
        )
    return SoapResponse(ACK_TRUE)


async def _start_all(
    client: Client, suppressions: SuppressionList, target: journeys.Target, deals: list[DealClosed]
) -> list[journeys.StartOutcome]:
    """Start every deal's journey; the first failure is raised once all have finished."""

    async def start(deal: DealClosed) -> journeys.StartOutcome:
        first_signal = await journeys.suppressed_at_start(suppressions, deal)
        return await journeys.start_with_deal(client, deal, target, first_signal)

    if len(deals) == 1:  # the usual message: one opportunity
        return [await start(deals[0])]
    results = await asyncio.gather(*(start(d) for d in deals), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if isinstance(r, journeys.StartOutcome)]
