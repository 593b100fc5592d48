"""One-click unsubscribe (RFC 8058): the link in every customer email.

    GET  /unsubscribe/<token>   a confirmation page with one button; changes nothing (mail
                                clients and link scanners prefetch GETs)
    POST /unsubscribe/<token>   the one click: verified, recorded in the suppression list,
                                and the journey is signalled `unsubscribed`. 204 (or a page,
                                for a browser); the same for a journey that has ended, whose
                                record is honoured by any later journey for that contact.

A forged or altered token gets 404 and nothing is recorded or signalled; an expired one 410.
Nothing about the contact is logged (the token is a capability: never logged either)."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from temporalio.service import RPCError, RPCStatusCode

from contracts.deal import DealClosed
from contracts.signals import Unsubscribed
from privacy.contacts import contact_hash
from privacy.suppressions import Suppression, SuppressionList
from privacy.unsubscribe import ExpiredToken, InvalidToken, UnsubscribeClaim

log = structlog.get_logger("starters.unsubscribe")

UNSUBSCRIBED_SIGNAL = "unsubscribed"

router = APIRouter(tags=["unsubscribe"])


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex"></head>'
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>",
        status_code=status,
    )


def _claim(request: Request, token: str) -> UnsubscribeClaim | HTMLResponse:
    signer = request.app.state.service.unsubscribe
    try:
        if signer is None:
            raise InvalidToken("no ONBOARDING_UNSUBSCRIBE_SECRET configured")
        return signer.verify(token)
    except ExpiredToken:
        log.info("unsubscribe.refused", reason="expired")
        return _page(
            "This link has expired", "<p>Reply to any onboarding email and we will stop writing to you.</p>", 410
        )
    except InvalidToken as err:
        log.info("unsubscribe.refused", reason=str(err))
        return _page("Link not found", "<p>This unsubscribe link is not valid.</p>", 404)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, summary="Unsubscribe confirmation page")
async def confirm(request: Request, token: str) -> Response:
    claim = _claim(request, token)
    if isinstance(claim, Response):
        return claim
    return _page(
        "Stop onboarding emails?",
        "<p>You will get no more onboarding emails about this account. Your account team can "
        "still reach you directly.</p>"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>',
    )


@router.post(
    "/unsubscribe/{token}",
    status_code=204,
    summary="One-click unsubscribe (RFC 8058)",
    responses={
        404: {"description": "Unknown, forged or altered link"},
        410: {"description": "Expired link"},
        503: {"description": "Temporal unreachable; recorded, retry to tell the journey"},
    },
)
async def unsubscribe(request: Request, token: str) -> Response:
    claim = _claim(request, token)
    if isinstance(claim, Response):
        return claim
    service = request.app.state.service
    at = datetime.now(UTC)
    # Recorded first: kept even if the journey has ended, and honoured by every later one.
    new = await service.suppressions.add(
        Suppression(contact_hash=claim.contact_hash, at=at, workflow_id=claim.workflow_id)
    )
    outcome = "signalled"
    async with service.temporal.calls() as client:
        try:
            await client.get_workflow_handle(claim.workflow_id).signal(
                UNSUBSCRIBED_SIGNAL,
                Unsubscribed(contact_hash=claim.contact_hash, at=at),
                rpc_timeout=service.temporal.rpc_timeout,
            )
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            outcome = "journey_ended"
    log.info("unsubscribe.accepted", workflow_id=claim.workflow_id, outcome=outcome, first=new)
    if "text/html" in request.headers.get("accept", ""):
        return _page("You are unsubscribed", "<p>You will get no more onboarding emails about this account.</p>")
    return Response(status_code=204)


async def suppressed_at_start(suppressions: SuppressionList, deal: DealClosed) -> tuple[str, Unsubscribed] | None:
    """A new journey whose customer contact unsubscribed before: it starts knowing it."""
    found = await suppressions.find(contact_hash(deal.champion.email))
    if found is None:
        return None
    return UNSUBSCRIBED_SIGNAL, Unsubscribed(contact_hash=found.contact_hash, at=found.at)
