"""fetch_hubspot_deal against a local server speaking HubSpot's CRM v3 response format."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.hubspot import FetchDeal, HubSpotActivities, HubSpotApiSettings, hubspot_activities
from tests.starters_fixtures import serve

TOKEN = "pat-na1-test-token"


def fake_hubspot() -> tuple[FastAPI, dict[str, Any]]:
    """HubSpot CRM v3 endpoints with the documented response shapes."""
    state: dict[str, Any] = {"calls": Counter(), "fail": {}}
    deals = {
        "9001": {
            "id": "9001",
            "properties": {
                "amount": "24000", "closedate": "2026-11-20T15:04:05.000Z", "dealname": "Acme expansion",
                "pipeline": "default", "dealstage": "closedwon", "deal_currency_code": "eur",
                "onboarding_segment": "enterprise", "onboarding_product": "analytics",
                "hs_object_id": "9001",
            },
            "createdAt": "2026-10-01T10:00:00.000Z", "updatedAt": "2026-11-20T15:04:06.000Z", "archived": False,
            "associations": {
                "companies": {"results": [{"id": "501", "type": "deal_to_company"}]},
                "contacts": {"results": [{"id": "701", "type": "deal_to_contact"}, {"id": "702", "type": "deal_to_contact"}]},
            },
        },
        "9002": {  # no company, no segment property, one contact without email
            "id": "9002",
            "properties": {"amount": None, "closedate": "2026-11-21T09:00:00Z", "dealname": "Solo deal",
                           "dealstage": "closedwon", "pipeline": "default"},
            "associations": {"contacts": {"results": [{"id": "703", "type": "deal_to_contact"}, {"id": "702", "type": "deal_to_contact"}]}},
        },
        "9003": {"id": "9003", "properties": {"closedate": "2026-11-21T09:00:00Z"}, "associations": {}},
    }
    companies = {"501": {"id": "501", "properties": {"name": "Acme Corp", "domain": "acme.example",
                                                      "timezone": "america_slash_chicago"}}}
    contacts = {
        "701": {"id": "701", "properties": {"email": "ana@acme.example", "firstname": "Ana", "lastname": "Ruiz"}},
        "702": {"id": "702", "properties": {"email": "bo@acme.example", "firstname": "Bo", "lastname": None}},
        "703": {"id": "703", "properties": {"email": None, "firstname": "No", "lastname": "Mail"}},
    }
    app = FastAPI()

    def gate(kind: str, request: Request) -> JSONResponse | None:
        state["calls"][kind] += 1
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"status": "error", "message": "Authentication credentials not found.",
                                 "category": "INVALID_AUTHENTICATION"}, status_code=401)
        planned = state["fail"].get(kind)
        if planned:
            status = planned.pop(0)
            return JSONResponse({"status": "error", "message": "You have reached your secondly limit.",
                                 "category": "RATE_LIMITS"}, status_code=status, headers={"Retry-After": "0"})
        return None

    @app.get("/crm/v3/objects/deals/{deal_id}")
    async def deal(deal_id: str, request: Request, properties: str = "", associations: str = "") -> Any:
        if (refused := gate("deal", request)) is not None:
            return refused
        state["deal_query"] = {"properties": properties.split(","), "associations": associations}
        if deal_id not in deals:
            return JSONResponse({"status": "error", "message": "Object not found.  objectId are usually numeric.",
                                 "category": "OBJECT_NOT_FOUND"}, status_code=404)
        return deals[deal_id]

    @app.get("/crm/v3/objects/companies/{company_id}")
    async def company(company_id: str, request: Request) -> Any:
        if (refused := gate("company", request)) is not None:
            return refused
        return companies[company_id]

    @app.post("/crm/v3/objects/contacts/batch/read")
    async def contacts_batch(request: Request) -> Any:
        if (refused := gate("contacts", request)) is not None:
            return refused
        body = await request.json()
        results = [contacts[i["id"]] for i in body["inputs"] if i["id"] in contacts]
        return {"status": "COMPLETE", "results": results,
                "startedAt": "2026-11-20T15:04:07.000Z", "completedAt": "2026-11-20T15:04:07.100Z"}

    return app, state


@pytest.fixture
async def hubspot() -> Any:
    app, state = fake_hubspot()
    async with serve(app) as url:
        settings = HubSpotApiSettings(hubspot_api_base=url, hubspot_access_token=TOKEN)
        acts = HubSpotActivities(settings)
        yield acts, state, url
        await acts.aclose()


async def test_maps_deal_company_and_contacts(hubspot: Any) -> None:
    acts, state, _ = hubspot
    deal = await ActivityEnvironment().run(acts.fetch_hubspot_deal, FetchDeal(deal_id="9001"))
    assert deal.deal_id == "9001"
    assert deal.closed_at.isoformat() == "2026-11-20T15:04:05+00:00"
    assert (deal.amount, deal.currency, deal.segment, deal.product) == (24000.0, "EUR", "enterprise", "analytics")
    assert (deal.account.id, deal.account.name, deal.account.timezone) == ("501", "Acme Corp", "America/Chicago")
    assert [(c.email, c.name, c.role) for c in deal.contacts] == [
        ("ana@acme.example", "Ana Ruiz", "champion"), ("bo@acme.example", "Bo", "")]
    assert state["deal_query"]["associations"] == "companies,contacts"
    assert {"amount", "closedate", "dealname", "pipeline", "dealstage", "onboarding_segment"} <= set(
        state["deal_query"]["properties"])


async def test_defaults_without_company_or_segment(hubspot: Any) -> None:
    acts, state, _ = hubspot
    deal = await ActivityEnvironment().run(acts.fetch_hubspot_deal, FetchDeal(deal_id="9002"))
    assert (deal.amount, deal.currency, deal.segment, deal.product) == (0.0, "USD", "smb", "")
    assert (deal.account.id, deal.account.name, deal.account.timezone) == ("hubspot-deal-9002", "Solo deal", "UTC")
    # the contact without an email is skipped; the next one becomes the champion
    assert [(c.email, c.role) for c in deal.contacts] == [("bo@acme.example", "champion")]
    assert state["calls"]["company"] == 0


async def test_configurable_segment_property(hubspot: Any) -> None:
    _, _, url = hubspot
    settings = HubSpotApiSettings(hubspot_api_base=url, hubspot_access_token=TOKEN,
                                  hubspot_segment_property="dealname", hubspot_default_currency="GBP")
    [fetch] = hubspot_activities(settings)
    deal = await ActivityEnvironment().run(fetch, FetchDeal(deal_id="9002"))
    assert (deal.segment, deal.currency) == ("Solo deal", "GBP")


async def test_not_found_is_non_retryable(hubspot: Any) -> None:
    acts, _, _ = hubspot
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.fetch_hubspot_deal, FetchDeal(deal_id="404404"))
    assert caught.value.non_retryable
    assert "404" in caught.value.message and "deal 404404" in caught.value.message


async def test_bad_token_is_non_retryable(hubspot: Any) -> None:
    _, _, url = hubspot
    [fetch] = hubspot_activities(HubSpotApiSettings(hubspot_api_base=url, hubspot_access_token="wrong"))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(fetch, FetchDeal(deal_id="9001"))
    assert caught.value.non_retryable and "401" in caught.value.message
    assert "wrong" not in caught.value.message


async def test_no_contact_with_email_is_non_retryable(hubspot: Any) -> None:
    acts, _, _ = hubspot
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.fetch_hubspot_deal, FetchDeal(deal_id="9003"))
    assert caught.value.non_retryable and caught.value.type == "HubSpotDealIncomplete"


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limit_and_server_errors_are_retryable(hubspot: Any, status: int) -> None:
    acts, state, _ = hubspot
    state["fail"]["contacts"] = [status]
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.fetch_hubspot_deal, FetchDeal(deal_id="9001"))
    assert not caught.value.non_retryable and str(status) in caught.value.message
    # the next attempt (what the retry policy does) succeeds
    deal = await ActivityEnvironment().run(acts.fetch_hubspot_deal, FetchDeal(deal_id="9001"))
    assert deal.account.name == "Acme Corp"


async def test_unreachable_is_retryable() -> None:
    from tests.starters_fixtures import free_port

    [fetch] = hubspot_activities(HubSpotApiSettings(hubspot_api_base=f"http://127.0.0.1:{free_port()}",
                                                    hubspot_access_token=TOKEN))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(fetch, FetchDeal(deal_id="9001"))
    assert not caught.value.non_retryable
