"""fetch_hubspot_deal against a local server speaking HubSpot's CRM v3 response format."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.hubspot import HubSpotActivities, HubSpotApiSettings, hubspot_activities
from contracts.deal import FetchDeal
from tests.harness.starters_fixtures import HUBSPOT_TOKEN as TOKEN
from tests.harness.starters_fixtures import fake_hubspot, serve


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
        ("ana@acme.example", "Ana Ruiz", "champion"),
        ("bo@acme.example", "Bo", ""),
    ]
    # what the messages' language and formal greeting come from (docs/playbooks.md, "Languages")
    ana = deal.contacts[0]
    assert (ana.locale, ana.form_of_address, ana.family_name) == ("es-mx", "Ms", "Ruiz")
    assert (deal.contacts[1].locale, deal.contacts[1].form_of_address, deal.contacts[1].family_name) == ("", "", "")
    assert state["deal_query"]["associations"] == "companies,contacts"
    assert {"amount", "closedate", "dealname", "pipeline", "dealstage", "onboarding_segment"} <= set(
        state["deal_query"]["properties"]
    )


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
    settings = HubSpotApiSettings(
        hubspot_api_base=url,
        hubspot_access_token=TOKEN,
        hubspot_segment_property="dealname",
        hubspot_default_currency="GBP",
    )
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
    from tests.harness.starters_fixtures import free_port

    [fetch] = hubspot_activities(
        HubSpotApiSettings(hubspot_api_base=f"http://127.0.0.1:{free_port()}", hubspot_access_token=TOKEN)
    )
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(fetch, FetchDeal(deal_id="9001"))
    assert not caught.value.non_retryable
