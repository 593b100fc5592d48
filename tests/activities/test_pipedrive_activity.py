"""fetch_pipedrive_deal against a local server speaking Pipedrive's API v2 format."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.pipedrive import PipedriveActivities, PipedriveApiSettings, pipedrive_activities
from contracts.deal import FetchDeal
from tests.harness.starters_fixtures import free_port, serve
from tests.harness.vendor_fixtures import (
    PIPEDRIVE_PRODUCT_FIELD,
    PIPEDRIVE_SEGMENT_FIELD,
    PIPEDRIVE_TIMEZONE_FIELD,
    PIPEDRIVE_TOKEN,
    fake_pipedrive,
)


def settings(url: str, **overrides: Any) -> PipedriveApiSettings:
    values: dict[str, Any] = {
        "pipedrive_api_base": url,
        "pipedrive_api_token": PIPEDRIVE_TOKEN,
        "pipedrive_segment_field": PIPEDRIVE_SEGMENT_FIELD,
        "pipedrive_product_field": PIPEDRIVE_PRODUCT_FIELD,
        "pipedrive_timezone_field": PIPEDRIVE_TIMEZONE_FIELD,
    }
    return PipedriveApiSettings(**{**values, **overrides})


@pytest.fixture
async def pipedrive() -> Any:
    app, state = fake_pipedrive()
    async with serve(app) as url:
        acts = PipedriveActivities(settings(url))
        yield acts, state, url
        await acts.aclose()


async def test_maps_deal_organization_and_person(pipedrive: Any) -> None:
    acts, state, _ = pipedrive
    deal = await ActivityEnvironment().run(acts.fetch_pipedrive_deal, FetchDeal(deal_id="4321"))
    assert deal.deal_id == "4321"
    assert deal.closed_at.isoformat() == "2026-11-20T15:04:05+00:00"  # won_time
    assert (deal.amount, deal.currency, deal.segment, deal.product) == (24000.0, "EUR", "enterprise", "analytics")
    assert (deal.account.id, deal.account.name, deal.account.timezone) == ("77", "Acme Corp", "America/Chicago")
    # the primary email, not the first listed
    assert [(c.email, c.name, c.role) for c in deal.contacts] == [("ana@acme.example", "Ana Ruiz", "champion")]
    assert (state["calls"]["deal"], state["calls"]["organization"], state["calls"]["person"]) == (1, 1, 1)


async def test_defaults_without_organization_or_custom_fields(pipedrive: Any) -> None:
    acts, state, _ = pipedrive
    deal = await ActivityEnvironment().run(acts.fetch_pipedrive_deal, FetchDeal(deal_id="4323"))
    assert (deal.currency, deal.segment, deal.product) == ("USD", "smb", "")
    assert (deal.account.id, deal.account.name, deal.account.timezone) == (
        "pipedrive-deal-4323",
        "Acme Corp analytics",
        "UTC",
    )
    assert deal.closed_at.isoformat() == "2026-11-20T15:04:05+00:00"  # close_time when won_time is empty
    assert state["calls"]["organization"] == 0


async def test_unconfigured_custom_fields_take_the_defaults(pipedrive: Any) -> None:
    _, _, url = pipedrive
    [fetch] = pipedrive_activities(
        settings(
            url,
            pipedrive_segment_field=None,
            pipedrive_timezone_field=None,
            pipedrive_default_segment="mid-market",
        )
    )
    deal = await ActivityEnvironment().run(fetch, FetchDeal(deal_id="4321"))
    assert (deal.segment, deal.account.timezone) == ("mid-market", "UTC")


async def test_a_person_without_email_is_non_retryable(pipedrive: Any) -> None:
    acts, _, _ = pipedrive
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.fetch_pipedrive_deal, FetchDeal(deal_id="4322"))
    assert caught.value.non_retryable and caught.value.type == "PipedriveDealIncomplete"
    assert "4322" in caught.value.message


async def test_not_found_and_bad_token_are_non_retryable(pipedrive: Any) -> None:
    acts, _, url = pipedrive
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.fetch_pipedrive_deal, FetchDeal(deal_id="404"))
    assert caught.value.non_retryable and "404" in caught.value.message and "deal 404" in caught.value.message
    [fetch] = pipedrive_activities(settings(url, pipedrive_api_token="wrong-token"))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(fetch, FetchDeal(deal_id="4321"))
    assert caught.value.non_retryable and "401" in caught.value.message
    assert "wrong-token" not in caught.value.message


async def test_a_deal_id_that_is_not_a_number_is_refused_before_any_call(pipedrive: Any) -> None:
    acts, state, _ = pipedrive
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.fetch_pipedrive_deal, FetchDeal(deal_id="../users/me"))
    assert caught.value.non_retryable and sum(state["calls"].values()) == 0


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limit_and_server_errors_are_retryable(pipedrive: Any, status: int) -> None:
    acts, state, _ = pipedrive
    state["fail"]["person"] = [status]
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.fetch_pipedrive_deal, FetchDeal(deal_id="4321"))
    assert not caught.value.non_retryable and str(status) in caught.value.message
    # the next attempt (what the retry policy does) succeeds
    deal = await ActivityEnvironment().run(acts.fetch_pipedrive_deal, FetchDeal(deal_id="4321"))
    assert deal.account.name == "Acme Corp"


async def test_unreachable_is_retryable() -> None:
    [fetch] = pipedrive_activities(settings(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(fetch, FetchDeal(deal_id="4321"))
    assert not caught.value.non_retryable and caught.value.type == "PipedriveUnavailable"
