"""Activity `fetch_hubspot_deal`: read a closed-won deal, its company and contacts from the
HubSpot CRM v3 API and map them onto the journey's DealClosed.

It runs inside the workflow (not in the webhook), so a HubSpot outage is retried durably
while the webhook answers at once. httpx is used rather than the official client because
the official client is synchronous and would block the worker's event loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.deal import DealClosed, FetchDeal

DEAL_PROPERTIES = ["amount", "closedate", "dealname", "pipeline", "dealstage", "deal_currency_code"]
COMPANY_PROPERTIES = ["name", "domain", "timezone", "hs_language"]
# `salutation` and `hs_language` (HubSpot's own contact properties) give the formal greeting
# and the language the contact reads (docs/playbooks.md, "Languages").
CONTACT_PROPERTIES = ["email", "firstname", "lastname", "jobtitle", "salutation", "hs_language"]


class HubSpotApiSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, hide_input_in_errors=True)

    hubspot_api_base: str = "https://api.hubapi.com"
    hubspot_access_token: SecretStr | None = None  # a private app's access token
    # Deal properties (custom ones, usually) that carry the journey's segment and product.
    hubspot_segment_property: str = "onboarding_segment"
    hubspot_product_property: str = "onboarding_product"
    hubspot_default_segment: str = "smb"
    hubspot_default_currency: str = "USD"
    hubspot_timeout_seconds: float = Field(default=10.0, gt=0)


class HubSpotActivities:
    def __init__(self, settings: HubSpotApiSettings, http: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._client = http

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Accept": "application/json"}
            if self._settings.hubspot_access_token:
                headers["Authorization"] = f"Bearer {self._settings.hubspot_access_token.get_secret_value()}"
            self._client = httpx.AsyncClient(
                base_url=self._settings.hubspot_api_base.rstrip("/"),
                headers=headers,
                timeout=self._settings.hubspot_timeout_seconds,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    @activity.defn(name="fetch_hubspot_deal")
    async def fetch_hubspot_deal(self, request: FetchDeal) -> DealClosed:
        s = self._settings
        deal = await self._call(
            "GET",
            f"/crm/v3/objects/deals/{request.deal_id}",
            what=f"deal {request.deal_id}",
            params={
                "properties": ",".join([*DEAL_PROPERTIES, s.hubspot_segment_property, s.hubspot_product_property]),
                "associations": "companies,contacts",
            },
        )
        props: dict[str, Any] = deal.get("properties") or {}
        associations = deal.get("associations") or {}
        company_ids = _associated_ids(associations, "companies")
        contact_ids = _associated_ids(associations, "contacts")

        company: dict[str, Any] = {}
        if company_ids:
            company = await self._call(
                "GET",
                f"/crm/v3/objects/companies/{company_ids[0]}",
                what=f"company {company_ids[0]}",
                params={"properties": ",".join(COMPANY_PROPERTIES)},
            )
        contacts: list[dict[str, Any]] = []
        if contact_ids:
            batch = await self._call(
                "POST",
                "/crm/v3/objects/contacts/batch/read",
                what=f"contacts of deal {request.deal_id}",
                json={"properties": CONTACT_PROPERTIES, "inputs": [{"id": cid} for cid in contact_ids[:100]]},
            )
            contacts = batch.get("results") or []
        return self._map(request.deal_id, props, company, contacts, contact_ids)

    def _map(
        self,
        deal_id: str,
        props: dict[str, Any],
        company: dict[str, Any],
        contacts: list[dict[str, Any]],
        contact_order: list[str],
    ) -> DealClosed:
        s = self._settings
        company_props: dict[str, Any] = company.get("properties") or {}
        # Keep HubSpot's association order: the first associated contact is the champion.
        rank = {cid: i for i, cid in enumerate(contact_order)}
        contacts = sorted(contacts, key=lambda c: rank.get(str(c.get("id")), len(rank)))
        mapped_contacts = []
        for contact in contacts:
            cp = contact.get("properties") or {}
            if not cp.get("email"):
                continue
            name = " ".join(p for p in (cp.get("firstname"), cp.get("lastname")) if p)
            mapped_contacts.append(
                {
                    "email": cp["email"],
                    "name": name[:256],
                    "role": "",
                    "locale": str(cp.get("hs_language") or "")[:35],
                    "form_of_address": str(cp.get("salutation") or "")[:32],
                    "family_name": str(cp.get("lastname") or "")[:128],
                }
            )
        if not mapped_contacts:
            raise ApplicationError(
                f"HubSpot deal {deal_id} has no associated contact with an email address; "
                "associate one in HubSpot, then reset or restart the journey",
                type="HubSpotDealIncomplete",
                non_retryable=True,
            )
        mapped_contacts[0]["role"] = "champion"
        closed_at = _parse_time(props.get("closedate")) or activity.info().current_attempt_scheduled_time
        data = {
            "deal_id": deal_id,
            "closed_at": closed_at,
            "amount": _number(props.get("amount")),
            "currency": (props.get("deal_currency_code") or s.hubspot_default_currency).upper(),
            "segment": props.get(s.hubspot_segment_property) or s.hubspot_default_segment,
            "product": props.get(s.hubspot_product_property) or "",
            "account": {
                "id": str(company.get("id") or f"hubspot-deal-{deal_id}"),
                "name": company_props.get("name") or props.get("dealname") or f"HubSpot deal {deal_id}",
                "timezone": _zone(company_props.get("timezone")),
            },
            "contacts": mapped_contacts,
        }
        try:
            return DealClosed.model_validate(data)
        except ValidationError as err:
            fields = ", ".join(".".join(map(str, e["loc"])) + f" ({e['msg']})" for e in err.errors(include_input=False))
            raise ApplicationError(
                f"HubSpot deal {deal_id} cannot be used: {fields}",
                type="HubSpotDealInvalid",
                non_retryable=True,
            ) from None

    async def _call(self, method: str, path: str, *, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http().request(method, path, **kwargs)
        except httpx.TransportError as err:
            # Network trouble: retryable by the activity's retry policy.
            raise ApplicationError(
                f"HubSpot unreachable reading {what}: {type(err).__name__}", type="HubSpotUnavailable"
            ) from None
        status = response.status_code
        if status == 429 or status >= 500:
            delay = _retry_after(response.headers.get("retry-after"))
            raise ApplicationError(
                f"HubSpot answered {status} reading {what}; will retry",
                type="HubSpotUnavailable",
                next_retry_delay=delay,
            )
        if status >= 400:
            raise ApplicationError(
                f"HubSpot answered {status} reading {what}: {_hubspot_message(response)}",
                type="HubSpotRequestRejected",
                non_retryable=True,
            )
        try:
            body = response.json()
        except ValueError:
            raise ApplicationError(
                f"HubSpot sent a non-JSON answer reading {what}", type="HubSpotUnavailable"
            ) from None
        if not isinstance(body, dict):
            raise ApplicationError(f"HubSpot sent an unexpected answer reading {what}", type="HubSpotUnavailable")
        return body


def hubspot_activities(settings: HubSpotApiSettings | None = None) -> list[Callable[..., Any]]:
    """The activities to register on the worker: `activities=[*hubspot_activities(), ...]`."""
    return [HubSpotActivities(settings or HubSpotApiSettings()).fetch_hubspot_deal]


def _associated_ids(associations: dict[str, Any], kind: str) -> list[str]:
    results = (associations.get(kind) or {}).get("results") or []
    return list(dict.fromkeys(str(r["id"]) for r in results if isinstance(r, dict) and r.get("id")))


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value)
    if text.isdigit():  # some HubSpot payloads carry epoch milliseconds
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number >= 0 and number == number else 0.0


def _zone(value: Any) -> str:
    """HubSpot time zones come as IANA names or as enumeration values like
    'america_slash_new_york'; anything unknown falls back to UTC."""
    if not value:
        return "UTC"
    text = str(value).strip()
    candidates = [text]
    if "_slash_" in text:
        parts = text.split("_slash_")
        candidates.append("/".join("_".join(w.capitalize() for w in p.split("_")) for p in parts))
    for candidate in candidates:
        try:
            ZoneInfo(candidate)
            return candidate
        except Exception:
            continue
    return "UTC"


def _retry_after(value: str | None) -> timedelta | None:
    if value and re.fullmatch(r"\d{1,5}", value.strip()):
        return timedelta(seconds=int(value.strip()))
    return None


def _hubspot_message(response: httpx.Response) -> str:
    try:
        message = response.json().get("message")
    except Exception:
        message = None
    return str(message)[:300] if message else response.reason_phrase
