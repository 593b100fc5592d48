"""Nothing refused is forgotten: a delivery the service cannot use is kept in the records
(SQLite and PostgreSQL) with its reason in field names and its content encrypted, listed by
`onboarding intake list`, and delivered by `onboarding intake retry` after a mapping fix,
starting its journey once however often it is retried. Real uvicorn, real dev server, the
vendors' own shapes (tests/fixtures/vendors/: Salesforce's outbound message as its
Outbound Messaging guide documents it, Segment's track call from its Spec)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from sqlalchemy import select
from temporalio.client import Client

from cli.main import parser
from records.accounts import AccountDirectory
from records.database import Database
from records.refusals import RefusalStore
from records.tables import intake_refusals
from starters import refusals_cli
from starters.app import create_app
from starters.salesforce import SalesforceFields
from starters.settings import StarterSettings
from tests.harness.postgres import create_database
from tests.harness.starters_checks import exists, signals_of, start_input
from tests.harness.starters_fixtures import count_eventually, deal_body, serve, settings_for, signed, unique
from tests.harness.vendor_fixtures import (
    SALESFORCE_ORG,
    SEGMENT_MAPPING,
    SOAP_HEADERS,
    opportunity_id,
    salesforce_envelope,
    segment_signed,
    segment_track,
)

BILLING_EMAIL = "ops@initech.example"


@pytest_asyncio.fixture
async def client(dev_env: Any) -> Client:
    return dev_env.client


def settings_with(client: Client, records_url: str, tmp_path: Path, **overrides: Any) -> StarterSettings:
    return settings_for(
        client.service_client.config.target_host,
        onboarding_database_url=records_url,
        onboarding_data_dir=tmp_path,
        **overrides,
    )


async def intake(settings: StarterSettings, *argv: str) -> tuple[int, str]:
    args = parser().parse_args(["intake", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = await refusals_cli.run(args, out, err, settings)  # type: ignore[misc]
    return code, out.getvalue() + err.getvalue()


async def executions(client: Client, workflow_id: str) -> int:
    return len([w async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")])


def ack(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    return b"<Ack>true</Ack>" in response.content


async def stored_bytes(settings: StarterSettings) -> bytes:
    db = Database.from_settings(settings.onboarding_database_url, settings.onboarding_data_dir)
    try:
        async with db.begin() as conn:
            rows = (await conn.execute(select(intake_refusals))).all()
    finally:
        await db.dispose()
    return json.dumps([r._asdict() for r in rows], default=repr).encode()


async def test_an_unmappable_salesforce_notification_waits_for_a_human_and_the_others_start(
    client: Client, records_url: str, tmp_path: Path
) -> None:
    """Before, one closed-won notification without a contact email made the whole message a
    422: the valid ones in it did not start until Salesforce gave up (24 hours)."""
    settings = settings_with(client, records_url, tmp_path, salesforce_org_ids=[SALESFORCE_ORG])
    won, unmappable = opportunity_id(), opportunity_id()
    envelope = salesforce_envelope(
        "salesforce/two-notifications.xml",
        **{
            "0065e00000AbCdFAAZ": won,
            "0065e00000AbCdGAAZ": unmappable,
            # closed-won too, its contact's email in a field SALESFORCE_FIELDS does not name yet
            "<sf:IsWon>false</sf:IsWon>": "<sf:IsWon>true</sf:IsWon>"
            f"<sf:Billing_Contact_Email__c>{BILLING_EMAIL}</sf:Billing_Contact_Email__c>",
        },
    )
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        assert ack(await http.post("/webhooks/salesforce", content=envelope, headers=SOAP_HEADERS))
        # Salesforce resends (a lost Ack): counted on the same row, nothing starts twice
        assert ack(await http.post("/webhooks/salesforce", content=envelope, headers=SOAP_HEADERS))
    assert await exists(client, f"onboarding-{won}")
    assert not await exists(client, f"onboarding-{unmappable}")

    code, listed = await intake(settings, "list")
    assert code == 0
    [row] = listed.splitlines()
    ident = f"salesforce:{SALESFORCE_ORG[:15]}:04l5e00000FbC8sAAF"
    assert row.startswith(f"{ident}  waiting") and f"deal {unmappable}" in row and "(received 2x)" in row
    assert "Notification.1.sObject.Primary_Contact_Email__c" in row
    # the records hold ids and field names; the Opportunity's values only encrypted
    stored = await stored_bytes(settings)
    for private in (BILLING_EMAIL.encode(), b"Initech"):
        assert private not in stored
    code, shown = await intake(settings, "show", ident, "--content")
    assert json.loads(shown)["content"]["sObject"]["Billing_Contact_Email__c"] == BILLING_EMAIL

    # retried before the fix: still refused, still waiting
    code, said = await intake(settings, "retry", ident)
    assert code == 1 and "still refused" in said
    assert not await exists(client, f"onboarding-{unmappable}")

    fixed = settings.model_copy(
        update={"salesforce_fields": SalesforceFields(contact_email="Billing_Contact_Email__c")}
    )
    code, said = await intake(fixed, "retry", ident, "--by", "maya")
    assert code == 0 and f"started onboarding-{unmappable}" in said
    journey = await start_input(client, f"onboarding-{unmappable}")
    assert journey.deal is not None and journey.deal.champion.email == BILLING_EMAIL
    # both journeys are found by their company's name, the retried one as the other
    db = Database.from_settings(records_url, tmp_path)
    try:
        for deal_id in (won, unmappable):
            started = await start_input(client, f"onboarding-{deal_id}")
            assert started.deal is not None
            found = await AccountDirectory(db).find(started.deal.account.name.upper())
            assert deal_id in [m.deal_id for m in found.matches]
    finally:
        await db.dispose()
    # a second retry (twice clicked, or --again) starts nothing new
    code, said = await intake(fixed, "retry", ident)
    assert code == 0 and "already retried by maya" in said
    code, said = await intake(fixed, "retry", ident, "--again", "--by", "maya")
    assert code == 0 and "started" not in said
    assert await executions(client, f"onboarding-{unmappable}") == 1
    code, listed = await intake(settings, "list")
    assert listed.strip() == "no refused deliveries waiting"
    db = Database.from_settings(records_url, tmp_path)
    kept = await RefusalStore(db).list()
    await db.dispose()
    assert [(k.status.value, k.retried_by, k.deal_id) for k in kept] == [("retried", "maya", unmappable)]


async def test_segment_refusals_are_kept_and_a_retry_after_a_mapping_fix_delivers_once(
    client: Client, records_url: str, tmp_path: Path
) -> None:
    """A Segment 4xx is final (Segment never sends the call again): before, a refused call was
    gone. The product renamed `deal_id` to `dealId`: both the single call (422) and the
    batch's rejected call (named in the 202) are kept, and delivered after the fix."""
    settings = settings_with(client, records_url, tmp_path)
    single_deal, batch_deal = unique("SEG"), unique("SEG")
    renamed = segment_track(unique("m"), "unused")
    renamed["properties"] = {"dealId": single_deal, "rows": 3}
    in_batch = segment_track(unique("m"), "unused")
    in_batch["properties"] = {"dealId": batch_deal}
    good = segment_track(unique("m"), batch_deal)
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        raw, headers = segment_signed(renamed)
        assert (await http.post("/events/segment", content=raw, headers=headers)).status_code == 422
        raw, headers = segment_signed([good, in_batch])
        answer = await http.post("/events/segment", content=raw, headers=headers)
        assert answer.status_code == 202 and [r["index"] for r in answer.json()["rejected"]] == [1]

    code, listed = await intake(settings, "list", "--source", "segment")
    ids = {line.split()[0] for line in listed.splitlines()}
    assert ids == {f"segment:{renamed['messageId']}", f"segment:{in_batch['messageId']}"}
    assert "user-97980cfea0067" not in (await stored_bytes(settings)).decode()

    fixed = settings.model_copy(
        update={"segment_mapping": settings.segment_mapping.model_copy(update={"deal_id_path": "properties.dealId"})}
    )
    for call, deal in ((renamed, single_deal), (in_batch, batch_deal)):
        code, said = await intake(fixed, "retry", f"segment:{call['messageId']}")
        assert code == 0 and f"onboarding-{deal}" in said, said
        code, said = await intake(fixed, "retry", f"segment:{call['messageId']}", "--again")
        assert code == 0
        # signalled once: the second retry is the same event id, which the journey takes once
        found = [b["event_id"] for _, b in await signals_of(client, f"onboarding-{deal}")]
        assert found.count(call["messageId"]) >= 1
    assert SEGMENT_MAPPING["rules"]  # the rules themselves were not touched by the fix


async def test_salesforce_gets_ack_false_when_the_records_cannot_keep_a_refusal(client: Client, postgres: str) -> None:
    """Ack true makes Salesforce forget the whole message: an unmappable notification is
    acknowledged only once it is kept. With the records gone the answer is Ack false, nothing
    of the message starts, and Salesforce delivers it again."""
    url = await create_database(postgres)
    settings = settings_for(
        client.service_client.config.target_host, onboarding_database_url=url, salesforce_org_ids=[SALESFORCE_ORG]
    )
    won, unmappable = opportunity_id(), opportunity_id()
    envelope = salesforce_envelope(
        "salesforce/two-notifications.xml",
        **{
            "0065e00000AbCdFAAZ": won,
            "0065e00000AbCdGAAZ": unmappable,
            "<sf:IsWon>false</sf:IsWon>": "<sf:IsWon>true</sf:IsWon>",
        },
    )
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        connection = await asyncpg.connect(f"{postgres}/postgres")
        try:
            await connection.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await connection.close()
        response = await http.post("/webhooks/salesforce", content=envelope, headers=SOAP_HEADERS)
        assert response.status_code == 200 and b"<Ack>false</Ack>" in response.content
        assert response.headers["retry-after"] == "5"
    assert not await exists(client, f"onboarding-{won}")


async def test_a_segment_call_for_an_account_without_a_journey_is_kept_and_delivered_once_it_has_one(
    client: Client, records_url: str, tmp_path: Path
) -> None:
    """Segment's 404 is final (it retries 408, 410, 429, 460 and 5xx only): before, the call
    was lost. Now it is kept; once the account's journey runs, a retry delivers it."""
    settings = settings_with(client, records_url, tmp_path)
    deal_id = unique("SEG")
    account = f"ACME-{deal_id}"  # the account deal_body gives the deal
    call = segment_track(unique("m"), "unused")
    call["properties"] = {"account_id": account}
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        raw, headers = segment_signed(call)
        assert (await http.post("/events/segment", content=raw, headers=headers)).status_code == 404
        code, listed = await intake(settings, "list")
        assert listed.startswith(f"segment:{call['messageId']}  waiting") and "journey-not-found" in listed
        raw, headers = signed(deal_body(deal_id))
        assert (await http.post("/webhooks/deal-closed", content=raw, headers=headers)).status_code == 202
    assert await count_eventually(client, f"CustomerId = '{account}'", 1) == 1
    code, said = await intake(settings, "retry", f"segment:{call['messageId']}")
    assert code == 0 and f"signalled onboarding-{deal_id}" in said, said
    assert [b["event_id"] for _, b in await signals_of(client, f"onboarding-{deal_id}")] == [call["messageId"]]
