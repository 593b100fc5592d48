"""Activity `fetch_pipedrive_deal`: read a won deal, its organization and person from
Pipedrive's API v2 and map them onto the journey's DealClosed.

Like `fetch_hubspot_deal`, it runs inside the workflow (the journey with `crm="pipedrive"`
calls `fetch_pipedrive_deal` by name), so a Pipedrive outage is retried durably while the
webhook answered at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.hubspot import _number, _parse_time, _retry_after, _zone
from contracts.deal import DealClosed, FetchDeal


class PipedriveApiSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, hide_input_in_errors=True)

    # https://<company>.pipedrive.com works too; the token decides the company.
    pipedrive_api_base: str = "https://api.pipedrive.com"
    pipedrive_api_token: SecretStr | None = None  # a user's personal API token
    # Custom fields (their 40-character keys, Settings > Data fields) carrying the journey's
    # segment and product on the deal, and the account's time zone on the organization.
    pipedrive_segment_field: str | None = None
    pipedrive_product_field: str | None = None
    pipedrive_timezone_field: str | None = None
    pipedrive_default_segment: str = "smb"
    pipedrive_default_currency: str = "USD"
    pipedrive_timeout_seconds: float = Field(default=10.0, gt=0)


class PipedriveActivities:
    def __init__(self, settings: PipedriveApiSettings, http: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._client = http

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Accept": "application/json"}
            if self._settings.pipedrive_api_token:
                headers["x-api-token"] = self._settings.pipedrive_api_token.get_secret_value()
            self._client = httpx.AsyncClient(
                base_url=self._settings.pipedrive_api_base.rstrip("/"),
                headers=headers,
                timeout=self._settings.pipedrive_timeout_seconds,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    @activity.defn(name="fetch_pipedrive_deal")
    async def fetch_pipedrive_deal(self, request: FetchDeal) -> DealClosed:
        if not request.deal_id.isdigit():
            raise ApplicationError(
                f"Pipedrive deal ids are numbers, not {request.deal_id[:40]!r}",
                type="PipedriveRequestRejected",
                non_retryable=True,
            )
        deal = await self._get(f"/api/v2/deals/{request.deal_id}", f"deal {request.deal_id}")
        organization: dict[str, Any] = {}
        if org_id := _id(deal.get("org_id")):
            organization = await self._get(f"/api/v2/organizations/{org_id}", f"organization {org_id}")
        person: dict[str, Any] = {}
        if person_id := _id(deal.get("person_id")):
            person = await self._get(f"/api/v2/persons/{person_id}", f"person {person_id}")
        return self._map(request.deal_id, deal, organization, person)

    def _map(
        self, deal_id: str, deal: dict[str, Any], organization: dict[str, Any], person: dict[str, Any]
    ) -> DealClosed:
        s = self._settings
        email = _primary_email(person)
        if not email:
            raise ApplicationError(
                f"Pipedrive deal {deal_id} has no person with an email address; link one to the deal in "
                "Pipedrive, then reset or restart the journey",
                type="PipedriveDealIncomplete",
                non_retryable=True,
            )
        closed_at = (
            _parse_time(deal.get("won_time"))
            or _parse_time(deal.get("close_time"))
            or activity.info().current_attempt_scheduled_time
        )
        data = {
            "deal_id": deal_id,
            "closed_at": closed_at,
            "amount": _number(deal.get("value")),
            "currency": str(deal.get("currency") or s.pipedrive_default_currency).upper(),
            "segment": _custom(deal, s.pipedrive_segment_field) or s.pipedrive_default_segment,
            "product": _custom(deal, s.pipedrive_product_field) or "",
            "account": {
                "id": str(organization.get("id") or f"pipedrive-deal-{deal_id}"),
                "name": organization.get("name") or deal.get("title") or f"Pipedrive deal {deal_id}",
                "timezone": _zone(_custom(organization, s.pipedrive_timezone_field)),
            },
            "contacts": [{"email": email, "name": str(person.get("name") or "")[:256], "role": "champion"}],
        }
        try:
            return DealClosed.model_validate(data)
        except ValidationError as err:
            fields = ", ".join(".".join(map(str, e["loc"])) + f" ({e['msg']})" for e in err.errors(include_input=False))
            raise ApplicationError(
                f"Pipedrive deal {deal_id} cannot be used: {fields}", type="PipedriveDealInvalid", non_retryable=True
            ) from None

    async def _get(self, path: str, what: str) -> dict[str, Any]:
        try:
            response = await self._http().get(path)
        except httpx.TransportError as err:
            raise ApplicationError(
                f"Pipedrive unreachable reading {what}: {type(err).__name__}", type="PipedriveUnavailable"
            ) from None
        status = response.status_code
        if status == 429 or status >= 500:
            # Pipedrive's rate limit answers say when the window resets
            delay = _retry_after(response.headers.get("retry-after")) or _retry_after(
                response.headers.get("x-ratelimit-reset")
            )
            raise ApplicationError(
                f"Pipedrive answered {status} reading {what}; will retry",
                type="PipedriveUnavailable",
                next_retry_delay=min(delay, timedelta(minutes=10)) if delay else None,
            )
        if status >= 400:
            raise ApplicationError(
                f"Pipedrive answered {status} reading {what}: {_message(response)}",
                type="PipedriveRequestRejected",
                non_retryable=True,
            )
        try:
            body = response.json()
        except ValueError:
            raise ApplicationError(
                f"Pipedrive sent a non-JSON answer reading {what}", type="PipedriveUnavailable"
            ) from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or body.get("success") is False:
            raise ApplicationError(f"Pipedrive sent an unexpected answer reading {what}", type="PipedriveUnavailable")
        return data


def pipedrive_activities(settings: PipedriveApiSettings | None = None) -> list[Callable[..., Any]]:
    """The activities to register on the worker: `activities=[*pipedrive_activities(), ...]`."""
    return [PipedriveActivities(settings or PipedriveApiSettings()).fetch_pipedrive_deal]


def _id(value: Any) -> str | None:
    # API v2 gives ids as numbers; v1 as objects {"value": id, "name": ...}
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool) or value in (None, "", 0):
        return None
    text = str(value)
    return text if text.isdigit() else None


def _custom(record: dict[str, Any], key: str | None) -> str | None:
    if not key:
        return None
    value = (record.get("custom_fields") or {}).get(key, record.get(key))
    if isinstance(value, dict):  # monetary and some other field types: {"value": ..., ...}
        value = value.get("value")
    return str(value) if value not in (None, "") else None


def _primary_email(person: dict[str, Any]) -> str | None:
    # API v2: "emails"; v1: "email"; each [{value, primary, label}]
    emails = person.get("emails") or person.get("email") or []
    usable = [e for e in emails if isinstance(e, dict) and e.get("value")]
    usable.sort(key=lambda e: not e.get("primary"))
    return str(usable[0]["value"]) if usable else None


def _message(response: httpx.Response) -> str:
    try:
        message = response.json().get("error")
    except Exception:
        message = None
    return str(message)[:300] if message else response.reason_phrase
