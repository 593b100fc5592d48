"""One-click unsubscribe (RFC 8058): the link in every customer email.

    GET  /unsubscribe/<token>   a confirmation page with one button; changes nothing (mail
                                clients and link scanners prefetch GETs)
    POST /unsubscribe/<token>   the one click: verified, recorded in the suppression list,
                                and the journey is signalled `unsubscribed`. 204 (or a page,
                                for a browser); the same for a journey that has ended, whose
                                record is honoured by any later journey for that contact.

A forged, altered or malformed token gets 404 and nothing is recorded or signalled; an expired
one 410; a POST body over the service's limit 413. Refusals are problem details (RFC 9457), or
a short page for a browser.
Nothing about the contact is logged (the token is a capability: never logged either)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from temporalio.service import RPCError, RPCStatusCode

from contracts.signals import Unsubscribed
from privacy.suppressions import Suppression
from privacy.unsubscribe import ExpiredToken, InvalidToken, UnsubscribeClaim
from starters.deps import Body, ClockDep, ServiceDep, SuppressionsDep, TemporalDep
from starters.journeys import UNSUBSCRIBED_SIGNAL
from starters.pages import page
from starters.problems import Problem, problem_responses

log = structlog.get_logger("starters.unsubscribe")

router = APIRouter(tags=["unsubscribe"])


def _wants_page(request: Request) -> bool:
    """A person's browser (the link clicked, the button pressed) gets a page; anything else
    the service's problem details."""
    return "text/html" in request.headers.get("accept", "")


def _refused(request: Request, problem: Problem, reason: str, page_title: str, page_body: str) -> Response:
    log.info("unsubscribe.refused", status=problem.status, reason=reason)
    if _wants_page(request):
        return page(page_title, page_body, problem.status)
    return problem.response()


def _claim(request: Request, token: str, service: ServiceDep, clock: ClockDep) -> UnsubscribeClaim | Response:
    """The link's claim; a refusal (404, 410) as the answer to give."""
    signer = service.unsubscribe
    try:
        if signer is None:
            raise InvalidToken("no ONBOARDING_UNSUBSCRIBE_SECRET configured")
        return signer.verify(token, now=datetime.fromtimestamp(clock(), UTC))
    except ExpiredToken:
        return _refused(
            request,
            Problem(410, "unsubscribe-link-expired", "Unsubscribe link expired", "this unsubscribe link has expired"),
            "expired",
            "This link has expired",
            "<p>Reply to any onboarding email and we will stop writing to you.</p>",
        )
    except InvalidToken as err:
        return _refused(
            request,
            Problem(
                404, "unsubscribe-link-not-found", "Unsubscribe link not found", "this unsubscribe link is not valid"
            ),
            str(err),
            "Link not found",
            "<p>This unsubscribe link is not valid.</p>",
        )


Claim = Annotated[UnsubscribeClaim | Response, Depends(_claim)]


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, summary="Unsubscribe confirmation page")
async def confirm(claim: Claim) -> Response:
    if isinstance(claim, Response):
        return claim
    return page(
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
        **problem_responses(413),
        404: {"description": "Unknown, forged, altered or malformed link"},
        410: {"description": "Expired link"},
        503: {"description": "Temporal unreachable; recorded, retry to tell the journey"},
    },
)
async def unsubscribe(
    request: Request, _body: Body, claim: Claim, suppressions: SuppressionsDep, temporal: TemporalDep
) -> Response:
    # The body (`List-Unsubscribe=One-Click`) is bounded like every other endpoint's (`_body`,
    # read first), before anything is verified, recorded or signalled.
    if isinstance(claim, Response):
        return claim
    at = datetime.now(UTC)
    # Recorded first: kept even if the journey has ended, and honoured by every later one.
    new = await suppressions.add(Suppression(contact_hash=claim.contact_hash, at=at, workflow_id=claim.workflow_id))
    outcome = "signalled"
    async with temporal.calls() as client:
        try:
            await client.get_workflow_handle(claim.workflow_id).signal(
                UNSUBSCRIBED_SIGNAL,
                Unsubscribed(contact_hash=claim.contact_hash, at=at),
                rpc_timeout=temporal.rpc_timeout,
            )
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            outcome = "journey_ended"
    log.info("unsubscribe.accepted", workflow_id=claim.workflow_id, outcome=outcome, first=new)
    if "text/html" in request.headers.get("accept", ""):
        return page("You are unsubscribed", "<p>You will get no more onboarding emails about this account.</p>")
    return Response(status_code=204)
