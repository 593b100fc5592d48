"""HubSpot, Pipedrive and the deal-closed webhook: a delivery that fails validation is kept in
the records (SQLite and PostgreSQL) with its reason in field names and its content encrypted
before the documented 422, listed by `onboarding intake`, and started by `retry` once the code
or settings accept it, once however often it is retried. Before, the 422 was all that was left:
HubSpot does not resend after a 4xx, Pipedrive and Standard Webhooks senders give up after
their retries, which a body that does not validate fails alike."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.client import Client

from contracts.deal import sample_deal_body
from privacy.converter import data_converter_for
from records.database import Database
from records.refusals import RefusalStore
from starters import refusals
from starters.app import create_app
from starters.settings import StarterSettings
from starters.signatures import sign_hubspot_v3
from tests.harness.postgres import create_database
from tests.harness.starters_checks import exists, start_input
from tests.harness.starters_fixtures import HUBSPOT_SECRET, serve, settings_for, signed, unique
from tests.harness.vendor_fixtures import fixture, pipedrive_delivery
from tests.starters.test_starters_refusals import executions, intake, settings_with, stored_bytes

CHAMPION = "ana.private@initech.example"


def number() -> int:
    """A CRM's numeric deal id no other test uses."""
    return int(uuid.uuid4().hex[:12], 16) + 1


@pytest_asyncio.fixture
async def client(dev_env: Any) -> Client:
    return dev_env.client


async def keep_as_if_refused_before(settings: StarterSettings, source: str, ref: str, body: Any) -> str:
    """A delivery an older contract refused, kept as its endpoint keeps it (a retry then runs
    with today's code): the fix the staff retries after."""
    db = Database.from_settings(settings.onboarding_database_url, settings.onboarding_data_dir)
    try:
        problem = refusals.Problem(422, "invalid-body", "The body does not match the schema", "older contract")
        await refusals.keep_body(
            RefusalStore(db),
            data_converter_for(settings.codec_keys()),
            source,
            ref,
            refusals.RefusedBody(problem, body),
        )
    finally:
        await db.dispose()
    return f"{source}:{ref}"


async def assert_retried_once(settings: StarterSettings, client: Client, ident: str, workflow_id: str) -> None:
    code, said = await intake(settings, "retry", ident, "--by", "maya")
    assert code == 0 and f"started {workflow_id}" in said, said
    code, said = await intake(settings, "retry", ident, "--again")
    assert code == 0 and "started" not in said, said
    assert await executions(client, workflow_id) == 1
    code, listed = await intake(settings, "list")
    assert ident not in listed  # retried: no longer waiting (the one still refused is)


async def test_a_deal_closed_body_that_fails_validation_is_kept_and_retried_once(
    client: Client, records_url: str, tmp_path: Path
) -> None:
    settings = settings_with(client, records_url, tmp_path)
    deal_id = unique("DC")
    body = sample_deal_body(deal_id=deal_id, contacts=[{"email": CHAMPION, "name": "Ana", "role": "champion"}])
    body["account"]["timezone"] = "America/Chicagoo"
    msg_id = "msg_" + unique("r")
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        for _ in range(2):  # the sender's retry: the same webhook-id, the same row
            raw, headers = signed(body, msg_id=msg_id)
            answer = await http.post("/webhooks/deal-closed", content=raw, headers=headers)
            assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "account.timezone"
    assert not await exists(client, f"onboarding-{deal_id}")

    code, listed = await intake(settings, "list", "--source", "deal-closed")
    [row] = listed.splitlines()
    ident = f"deal-closed:{msg_id}"
    assert row.startswith(f"{ident}  waiting") and f"deal {deal_id}" in row and "(received 2x)" in row, row
    assert "account.timezone" in row
    assert CHAMPION.encode() not in await stored_bytes(settings)
    code, shown = await intake(settings, "show", ident, "--content")
    assert json.loads(shown)["content"]["body"]["contacts"][0]["email"] == CHAMPION
    code, said = await intake(settings, "retry", ident)
    assert code == 1 and "still refused" in said
    assert not await exists(client, f"onboarding-{deal_id}")

    fixed_id = unique("DC")
    ident = await keep_as_if_refused_before(
        settings, "deal-closed", "msg_" + unique("r"), sample_deal_body(deal_id=fixed_id)
    )
    await assert_retried_once(settings, client, ident, f"onboarding-{fixed_id}")
    journey = await start_input(client, f"onboarding-{fixed_id}")
    assert journey.deal is not None and journey.deal.deal_id == fixed_id


async def test_a_pipedrive_delivery_that_fails_validation_is_kept_and_retried_once(
    client: Client, records_url: str, tmp_path: Path
) -> None:
    settings = settings_with(client, records_url, tmp_path)
    raw, headers = pipedrive_delivery(4321)
    body = json.loads(raw)
    deal_id = number()
    body["meta"]["id"], body["meta"]["entity_id"] = unique("pd"), str(deal_id)
    body["data"]["id"] = "not-an-id"
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        for _ in range(2):  # Pipedrive's next attempt: the same meta.id, the same row
            answer = await http.post("/webhooks/pipedrive", content=json.dumps(body), headers=headers)
            assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "data.id"
    code, listed = await intake(settings, "list", "--source", "pipedrive")
    [row] = listed.splitlines()
    ident = f"pipedrive:{body['meta']['id']}"
    assert row.startswith(f"{ident}  waiting") and f"deal {deal_id}" in row and "(received 2x)" in row, row
    assert "data.id" in row and b"Acme Corp analytics" not in await stored_bytes(settings)
    code, said = await intake(settings, "retry", ident)
    assert code == 1 and "still refused" in said

    body["data"]["id"] = deal_id
    ident = await keep_as_if_refused_before(settings, "pipedrive", unique("pd"), body)
    await assert_retried_once(settings, client, ident, f"onboarding-{deal_id}")


async def test_a_hubspot_batch_that_fails_validation_is_kept_and_its_closing_deal_started_once(
    client: Client, records_url: str, tmp_path: Path
) -> None:
    """One malformed entry makes the whole batch a 422 and HubSpot does not resend it: the
    deal its valid entry closes was lost. Kept now, a retry starts that deal (the malformed
    entry left out and named), once however often it is retried."""
    settings = settings_with(client, records_url, tmp_path)
    events = json.loads(fixture("hubspot/generic-deal-won.json"))
    object_id = number()
    events[0]["objectId"] = object_id
    events[1]["subscriptionType"] = ""  # one entry HubSpot's format does not allow
    raw = json.dumps(events).encode()
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        headers = sign_hubspot_v3(HUBSPOT_SECRET, "POST", f"{url}/webhooks/hubspot", raw, int(time.time() * 1000))
        answer = await http.post(
            "/webhooks/hubspot", content=raw, headers={**headers, "content-type": "application/json"}
        )
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "1.subscriptionType"
    assert not await exists(client, f"onboarding-{object_id}")
    code, listed = await intake(settings, "list", "--source", "hubspot")
    [row] = listed.splitlines()
    ident = row.split()[0]
    assert ident.startswith("hubspot:sha256-") and str(object_id) in row and "1.subscriptionType" in row, row

    code, said = await intake(settings, "retry", ident, "--by", "maya")
    assert code == 0 and f"started onboarding-{object_id}" in said and "1.subscriptionType" in said, said
    code, said = await intake(settings, "retry", ident, "--again")
    assert code == 0 and "started" not in said, said
    assert await executions(client, f"onboarding-{object_id}") == 1

    # a batch none of whose valid entries closes a deal stays waiting
    events[0]["propertyValue"] = "appointmentscheduled"
    ident = await keep_as_if_refused_before(settings, "hubspot", unique("hs"), events)
    code, said = await intake(settings, "retry", ident)
    assert code == 1 and "still refused" in said and "1.subscriptionType" in said, said


async def test_a_refused_delivery_the_records_cannot_keep_is_503_so_the_sender_sends_it_again(
    client: Client, postgres: str
) -> None:
    """A 422 ends the sender's attempts (HubSpot at once, the others after a few): it is sent
    only once the delivery is kept. With the records gone the answer is 503 with Retry-After."""
    url = await create_database(postgres)
    settings = settings_for(client.service_client.config.target_host, onboarding_database_url=url)
    body = sample_deal_body(deal_id=unique("DC"))
    body["account"]["timezone"] = "America/Chicagoo"
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        connection = await asyncpg.connect(f"{postgres}/postgres")
        try:
            await connection.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await connection.close()
        raw, headers = signed(body)
        response = await http.post("/webhooks/deal-closed", content=raw, headers=headers)
        assert response.status_code == 503 and response.headers["retry-after"] == "5", response.text
