"""`POST /webhooks/pipedrive`: Pipedrive webhooks v2 with HTTP basic auth on a real uvicorn
against a real dev server (tests/fixtures/vendors/pipedrive/)."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest_asyncio
import structlog
from temporalio.client import Client

from starters.app import create_app
from starters.pipedrive import basic_auth
from tests.harness.starters_checks import assert_problem, exists, signals_of, start_input
from tests.harness.starters_fixtures import serve, settings_for
from tests.harness.vendor_fixtures import PIPEDRIVE_PASSWORD, PIPEDRIVE_USER, fixture, pipedrive_delivery

PATH = "/webhooks/pipedrive"


@pytest_asyncio.fixture(scope="module")
async def client(dev_env: Any) -> Client:
    return dev_env.client


@pytest_asyncio.fixture(scope="module")
async def http(client: Client) -> Any:
    async with (
        serve(create_app(settings_for(client.service_client.config.target_host))) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as h,
    ):
        yield h


def deal_id() -> int:
    return random.randint(10**8, 10**12)


async def test_deal_becoming_won_starts_a_journey_that_reads_pipedrive(http: httpx.AsyncClient, client: Client) -> None:
    deal = deal_id()
    raw, headers = pipedrive_delivery(deal)
    response = await http.post(PATH, content=raw, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json() == {"journeys": [{"workflow_id": f"onboarding-{deal}", "created": True}], "ignored": 0}
    journey = await start_input(client, f"onboarding-{deal}")
    assert (journey.deal_id, journey.deal, journey.crm) == (str(deal), None, "pipedrive")

    # Pipedrive redelivers (attempt 2, 3): the same journey. With no worker here the journey
    # has not read its deal yet (no CustomerId), so it is told again where its deal is,
    # which it ignores once it knows (tests/starters/test_starters_journeys.py runs a worker).
    run_id = (await client.get_workflow_handle(f"onboarding-{deal}").describe()).run_id
    again = await http.post(PATH, content=raw, headers=headers)
    assert again.json() == {"journeys": [{"workflow_id": f"onboarding-{deal}", "created": False}], "ignored": 0}
    assert (await client.get_workflow_handle(f"onboarding-{deal}").describe()).run_id == run_id
    assert {name for name, _ in await signals_of(client, f"onboarding-{deal}")} == {"deal_in_crm"}


async def test_a_deal_created_already_won_starts_its_journey(http: httpx.AsyncClient, client: Client) -> None:
    """Imports and deals added straight into won arrive as a v2 `create` with `status: won`
    and `previous: null` (Pipedrive's "Guide for Webhooks v2", Data and previous). Before,
    only a `change` to won started a journey: these deals never got one."""
    deal = deal_id()
    raw, headers = pipedrive_delivery(deal, "pipedrive/deal-created-won.json")
    response = await http.post(PATH, content=raw, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json() == {"journeys": [{"workflow_id": f"onboarding-{deal}", "created": True}], "ignored": 0}
    journey = await start_input(client, f"onboarding-{deal}")
    assert (journey.deal_id, journey.crm) == (str(deal), "pipedrive")
    # a later change of the won deal (its title) starts nothing new
    renamed = json.loads(fixture("pipedrive/deal-title-changed.json"))
    renamed["data"]["id"] = deal
    again = await http.post(PATH, content=json.dumps(renamed).encode(), headers=headers)
    assert again.json() == {"journeys": [], "ignored": 1}


async def test_other_changes_and_entities_are_acknowledged_and_ignored(http: httpx.AsyncClient, client: Client) -> None:
    deal = deal_id()
    raw, headers = pipedrive_delivery(deal, "pipedrive/deal-title-changed.json")  # already won, renamed
    response = await http.post(PATH, content=raw, headers=headers)
    assert response.status_code == 202 and response.json() == {"journeys": [], "ignored": 1}

    reopened_then_lost = json.loads(fixture("pipedrive/deal-won.json"))
    reopened_then_lost["data"].update(id=deal, status="lost")
    person = json.loads(fixture("pipedrive/deal-won.json"))
    person["meta"]["entity"] = "person"
    person["data"] = {"id": deal, "name": "Ana Ruiz"}
    created_open = json.loads(fixture("pipedrive/deal-created-won.json"))
    created_open["data"].update(id=deal, status="open")
    for body in (reopened_then_lost, person, created_open):
        response = await http.post(PATH, content=json.dumps(body).encode(), headers=headers)
        assert response.status_code == 202 and response.json()["ignored"] == 1, response.text
    assert not await exists(client, f"onboarding-{deal}")


async def test_wrong_or_missing_credentials_are_401(http: httpx.AsyncClient, client: Client) -> None:
    deal = deal_id()
    raw, _ = pipedrive_delivery(deal)
    cases = {
        "missing": {},
        "wrong password": basic_auth(PIPEDRIVE_USER, "guess"),
        "wrong user": basic_auth("admin", PIPEDRIVE_PASSWORD),
        "not basic": {"Authorization": f"Bearer {PIPEDRIVE_PASSWORD}"},
        "not base64": {"Authorization": "Basic ???"},
        "no colon": {"Authorization": "Basic b25ib2FyZGluZy1ob29r"},
    }
    for name, auth in cases.items():
        response = await http.post(PATH, content=raw, headers={"content-type": "application/json", **auth})
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Basic"), name
        assert PIPEDRIVE_PASSWORD not in json.dumps(body)
    assert not await exists(client, f"onboarding-{deal}")


async def test_malformed_bodies_are_400_or_422_naming_the_field(http: httpx.AsyncClient, client: Client) -> None:
    deal = deal_id()
    raw, headers = pipedrive_delivery(deal)
    assert_problem(await http.post(PATH, content=raw[:-5], headers=headers), 400)
    assert_problem(await http.post(PATH, content=raw, headers={**headers, "content-type": "text/plain"}), 415)
    body = json.loads(raw)
    no_meta = {k: v for k, v in body.items() if k != "meta"}
    problem = assert_problem(await http.post(PATH, content=json.dumps(no_meta).encode(), headers=headers), 422)
    assert [e["field"] for e in problem["errors"]] == ["meta"]
    body["data"]["id"] = "four"
    problem = assert_problem(await http.post(PATH, content=json.dumps(body).encode(), headers=headers), 422)
    assert [e["field"] for e in problem["errors"]] == ["data.id"]
    # a v1 delivery (meta.object, current) is named as such: v2 is required
    v1 = {"meta": {"action": "updated", "object": "deal", "v": 1}, "current": {"id": deal, "status": "won"}}
    problem = assert_problem(await http.post(PATH, content=json.dumps(v1).encode(), headers=headers), 422)
    assert [e["field"] for e in problem["errors"]] == ["meta.entity"]
    assert not await exists(client, f"onboarding-{deal}")


async def test_logs_hold_no_credentials_or_deal_content(http: httpx.AsyncClient) -> None:
    deal = deal_id()
    raw, headers = pipedrive_delivery(deal)
    with structlog.testing.capture_logs() as logs:
        await http.post(PATH, content=raw, headers=headers)
        await http.post(PATH, content=raw, headers={**headers, **basic_auth(PIPEDRIVE_USER, "guess")})
    text = json.dumps(logs, default=str)
    assert f"onboarding-{deal}" in text
    for private in (PIPEDRIVE_PASSWORD, "guess", headers["Authorization"], "Acme Corp analytics"):
        assert private not in text


async def test_numeric_meta_ids_are_accepted(http: httpx.AsyncClient, client: Client) -> None:
    # some v2 deliveries carry meta ids and the timestamp as numbers
    deal = deal_id()
    raw, headers = pipedrive_delivery(deal)
    body = json.loads(raw)
    body["meta"].update(id=1, entity_id=deal, company_id=12882925, webhook_id=99, timestamp=1727447128)
    response = await http.post(PATH, content=json.dumps(body).encode(), headers=headers)
    assert response.status_code == 202 and response.json()["journeys"][0]["created"] is True, response.text
    assert await exists(client, f"onboarding-{deal}")
