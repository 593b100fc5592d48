"""A CRM added the way docs/http.md ("Adding a CRM") says, for tests/starters/test_starters_crms.py:
its router module and its deal-reading activity (kept in one file here), and the registry line
that test adds. Acme's webhook proves itself with a shared token header."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio import activity

from contracts.crms import CrmEntry
from contracts.deal import Account, Contact, DealClosed
from starters import journeys
from starters.deps import Service, SignedJson, TargetDep, TemporalDep, Verified
from starters.models import DealAccepted
from starters.openapi import request_body
from starters.problems import problem_responses
from starters.signatures import SignatureError

ENTRY = CrmEntry("acme", routes="tests.harness.crm_example", fetch="tests.harness.crm_example:acme_activities")

# --- the router module (starters/routes/acme.py) -------------------------------------------------


class AcmeWebhookSettings(BaseSettings):
    """Read from the environment by `service.settings_of`; StarterSettings is not touched."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, hide_input_in_errors=True)

    acme_webhook_token: SecretStr | None = None


class AcmeDealWon(BaseModel):
    model_config = ConfigDict(extra="allow")

    deal_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")


def unconfigured(service: Service) -> tuple[str, str] | None:
    if service.settings_of(AcmeWebhookSettings).acme_webhook_token:
        return None
    return "no_acme_token", "ACME_WEBHOOK_TOKEN is empty: /webhooks/acme answers 401"


def verify(request: Request, service: Service, body: bytes) -> None:
    token = service.settings_of(AcmeWebhookSettings).acme_webhook_token
    if token is None:
        raise SignatureError("no Acme webhook token is configured on this service")
    given = request.headers.get("x-acme-token", "")
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise SignatureError("wrong X-Acme-Token")


router = APIRouter()
Won = Annotated[Verified[AcmeDealWon], Depends(SignedJson(verify, AcmeDealWon))]


@router.post(
    "/webhooks/acme",
    status_code=202,
    responses=problem_responses(400, 401, 413, 415, 422, 503),
    openapi_extra=request_body("AcmeDealWon", AcmeDealWon),
    summary="Acme deal won (X-Acme-Token)",
)
async def acme(delivery: Won, temporal: TemporalDep, target: TargetDep) -> DealAccepted:
    async with temporal.calls() as client:
        outcome = await journeys.start_from_crm(client, delivery.value.deal_id, "acme", target)
    return DealAccepted(workflow_id=outcome.workflow_id, created=outcome.created)


# --- the activity module (activities/acme.py) ----------------------------------------------------


@activity.defn(name="fetch_acme_deal")
async def fetch_acme_deal(request: dict[str, Any]) -> DealClosed:
    return DealClosed(
        deal_id=request["deal_id"],
        closed_at=datetime(2026, 11, 20, tzinfo=UTC),
        amount=1000,
        account=Account(id="ACME-1", name="Acme Corp"),
        contacts=[Contact(email="ana@acme.example", name="Ana Ruiz", role="champion")],
    )


def acme_activities() -> list[Any]:
    return [fetch_acme_deal]
