"""`POST /webhooks/salesforce`: Salesforce outbound messages (SOAP) on a real uvicorn against a
real dev server, sent as Salesforce sends them (tests/fixtures/vendors/salesforce/)."""

from __future__ import annotations

import json
import time
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import pytest_asyncio
import structlog
from temporalio.client import Client

from starters.app import create_app
from starters.salesforce import OUTBOUND
from tests.harness.starters_checks import assert_problem, exists, history_of, signals_of, start_input
from tests.harness.starters_fixtures import free_port, serve, settings_for, start_dev_server
from tests.harness.vendor_fixtures import (
    SALESFORCE_OPPORTUNITY,
    SALESFORCE_ORG,
    SOAP_HEADERS,
    fixture,
    opportunity_id,
    salesforce_envelope,
)

PATH = "/webhooks/salesforce"


@pytest_asyncio.fixture(scope="module")
async def client(dev_env: Any) -> Client:
    return dev_env.client


@pytest_asyncio.fixture(scope="module")
async def http(client: Client) -> Any:
    # the 15-character form of the org id, as Setup > Company Information shows it
    settings = settings_for(client.service_client.config.target_host, salesforce_org_ids=[SALESFORCE_ORG[:15]])
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as h:
        yield h


def ack_of(response: httpx.Response) -> str:
    """The Ack of a notificationsResponse, read as Salesforce reads it."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    ack = root.find(f".//{{{OUTBOUND}}}notificationsResponse/{{{OUTBOUND}}}Ack")
    assert ack is not None, response.text
    return ack.text or ""


async def test_closed_won_opportunity_starts_its_journey_with_the_mapped_deal(
    http: httpx.AsyncClient, client: Client
) -> None:
    opp = opportunity_id()
    response = await http.post(PATH, content=salesforce_envelope(**{SALESFORCE_OPPORTUNITY: opp}), headers=SOAP_HEADERS)
    assert ack_of(response) == "true"
    # the answer is the documented one, byte for byte in meaning
    documented = ElementTree.fromstring(fixture("salesforce/ack.xml"))
    assert [e.tag for e in ElementTree.fromstring(response.content).iter()] == [e.tag for e in documented.iter()]

    journey = await start_input(client, f"onboarding-{opp}")
    assert journey.deal_id == opp and journey.crm is None and journey.deal is not None
    deal = journey.deal
    assert deal.closed_at.isoformat() == "2026-11-20T00:00:00+00:00"
    assert (deal.amount, deal.currency, deal.segment, deal.product) == (24000.0, "USD", "mid-market", "analytics")
    assert (deal.account.id, deal.account.name, deal.account.timezone) == (
        "0015e00000XyZ12AAB",
        "Acme Corp",
        "America/Chicago",
    )
    assert [(c.email, c.name, c.role) for c in deal.contacts] == [("ana@acme.example", "Ana Ruiz", "champion")]


async def test_retry_after_a_lost_ack_starts_nothing_new_and_acks_true(http: httpx.AsyncClient, client: Client) -> None:
    opp = opportunity_id()
    envelope = salesforce_envelope(**{SALESFORCE_OPPORTUNITY: opp})
    assert ack_of(await http.post(PATH, content=envelope, headers=SOAP_HEADERS)) == "true"
    handle = client.get_workflow_handle(f"onboarding-{opp}")
    run_id = (await handle.describe()).run_id
    events_before = len(await history_of(client, handle.id))
    # Salesforce never saw the Ack (a timeout, a dropped connection): it sends the same message again
    for _ in range(2):
        assert ack_of(await http.post(PATH, content=envelope, headers=SOAP_HEADERS)) == "true"
    assert (await handle.describe()).run_id == run_id
    assert len(await history_of(client, handle.id)) == events_before
    assert await signals_of(client, handle.id) == []


async def test_every_notification_is_handled_before_the_ack(http: httpx.AsyncClient, client: Client) -> None:
    won, still_open = opportunity_id(), opportunity_id()
    envelope = salesforce_envelope(
        "salesforce/two-notifications.xml", **{"0065e00000AbCdFAAZ": won, "0065e00000AbCdGAAZ": still_open}
    )
    assert ack_of(await http.post(PATH, content=envelope, headers=SOAP_HEADERS)) == "true"
    journey = await start_input(client, f"onboarding-{won}")
    assert journey.deal is not None and journey.deal.account.timezone == "UTC"  # xsi:nil: the default
    assert journey.deal.segment == "smb" and journey.deal.currency == "USD"
    assert not await exists(client, f"onboarding-{still_open}")


async def test_stage_name_alone_says_closed_won(http: httpx.AsyncClient, client: Client) -> None:
    opp = opportunity_id()
    envelope = salesforce_envelope(**{SALESFORCE_OPPORTUNITY: opp, "<sf:IsWon>true</sf:IsWon>": ""})
    assert ack_of(await http.post(PATH, content=envelope, headers=SOAP_HEADERS)) == "true"
    assert await exists(client, f"onboarding-{opp}")


async def test_configured_field_mapping(client: Client) -> None:
    settings = settings_for(
        client.service_client.config.target_host,
        salesforce_fields={"stage": "Custom_Stage__c", "closed_won_stages": ["Signed"], "segment": "Name"},
    )
    opp = opportunity_id()
    envelope = salesforce_envelope(
        **{
            SALESFORCE_OPPORTUNITY: opp,
            "<sf:IsWon>true</sf:IsWon>": "<sf:Custom_Stage__c>Signed</sf:Custom_Stage__c>",
        }
    )
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as h:
        assert ack_of(await h.post(PATH, content=envelope, headers=SOAP_HEADERS)) == "true"
    journey = await start_input(client, f"onboarding-{opp}")
    assert journey.deal is not None and journey.deal.segment == "Acme Corp - Analytics"


async def test_another_organization_is_401_and_starts_nothing(http: httpx.AsyncClient, client: Client) -> None:
    opp = opportunity_id()
    for organization in ("00D5e000000OtHeRAK", ""):
        envelope = salesforce_envelope(**{SALESFORCE_OPPORTUNITY: opp, SALESFORCE_ORG: organization})
        body = assert_problem(await http.post(PATH, content=envelope, headers=SOAP_HEADERS), 401)
        assert "OrganizationId" in body["detail"]
    assert not await exists(client, f"onboarding-{opp}")


async def test_malformed_bodies_are_refused_and_start_nothing(http: httpx.AsyncClient, client: Client) -> None:
    opp = opportunity_id()
    envelope = salesforce_envelope(**{SALESFORCE_OPPORTUNITY: opp})
    assert_problem(await http.post(PATH, content=envelope, headers={"content-type": "application/json"}), 415)
    body = assert_problem(await http.post(PATH, content=envelope[:-40], headers=SOAP_HEADERS), 400)
    assert "well-formed" in body["detail"]
    not_soap = b"<notifications xmlns='http://soap.sforce.com/2005/09/outbound'/>"
    assert_problem(await http.post(PATH, content=not_soap, headers=SOAP_HEADERS), 400)
    no_notification = salesforce_envelope(**{SALESFORCE_OPPORTUNITY: opp}).replace(b"<notifications ", b"<other ")
    no_notification = no_notification.replace(b"</notifications>", b"</other>")
    assert_problem(await http.post(PATH, content=no_notification, headers=SOAP_HEADERS), 400)
    # well-formed, our organization, but the notification has no opportunity id: it cannot
    # start, so it is acknowledged and kept for a human, naming the field
    no_id = salesforce_envelope(**{f"<sf:Id>{SALESFORCE_OPPORTUNITY}</sf:Id>": ""})
    with structlog.testing.capture_logs() as logs:
        assert ack_of(await http.post(PATH, content=no_id, headers=SOAP_HEADERS)) == "true"
    [kept] = [e for e in logs if e["event"] == "salesforce_notification_kept"]
    assert kept["fields"] == ["Notification.0.sObject.Id"]
    assert not await exists(client, f"onboarding-{opp}")


async def test_a_closed_won_opportunity_that_cannot_start_is_kept_and_the_others_start(
    http: httpx.AsyncClient, client: Client
) -> None:
    """Before: 422 for the whole message, so the valid notification waited with the bad one
    until the record was fixed or Salesforce gave up (24 hours). Now the valid one starts, the
    Ack is true, and the bad one is kept for a human with every field in its way
    (`onboarding intake`, tests/starters/test_starters_refusals.py)."""
    won, other = opportunity_id(), opportunity_id()
    envelope = salesforce_envelope(
        "salesforce/two-notifications.xml",
        **{
            "0065e00000AbCdFAAZ": won,
            "0065e00000AbCdGAAZ": other,
            # the second notification is closed-won too, without the contact's email
            "<sf:IsWon>false</sf:IsWon>": "<sf:IsWon>true</sf:IsWon><sf:Account_Timezone__c>Mars/Base</sf:Account_Timezone__c>",
        },
    )
    with structlog.testing.capture_logs() as logs:
        assert ack_of(await http.post(PATH, content=envelope, headers=SOAP_HEADERS)) == "true"
    [kept] = [e for e in logs if e["event"] == "salesforce_notification_kept"]
    assert (kept["notification_id"], kept["opportunity_id"]) == ("04l5e00000FbC8sAAF", other)
    assert set(kept["fields"]) == {
        "Notification.1.sObject.Primary_Contact_Email__c",
        "Notification.1.sObject.Account_Timezone__c",
    }
    assert await exists(client, f"onboarding-{won}")
    assert not await exists(client, f"onboarding-{other}")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>&lol9;</OrganizationId>
</notifications></soapenv:Body></soapenv:Envelope>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>&secret;</OrganizationId>
</notifications></soapenv:Body></soapenv:Envelope>"""


@pytest.mark.parametrize("bomb", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
async def test_entity_expansion_is_refused_at_once(http: httpx.AsyncClient, bomb: bytes) -> None:
    began = time.process_time()
    body = assert_problem(await http.post(PATH, content=bomb, headers=SOAP_HEADERS), 400)
    assert "DTD" in body["detail"]
    # expanded, the billion laughs is 3 GB: refusing it costs what any small request costs
    assert time.process_time() - began < 1.0
    assert "root:" not in json.dumps(body)


async def test_temporal_down_answers_ack_false_then_the_redelivery_starts_the_journey() -> None:
    port = free_port()
    settings = settings_for(f"127.0.0.1:{port}", temporal_rpc_timeout_seconds=1.0)
    opp = opportunity_id()
    envelope = salesforce_envelope(**{SALESFORCE_OPPORTUNITY: opp})
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as h:
        down = await h.post(PATH, content=envelope, headers=SOAP_HEADERS)
        assert ack_of(down) == "false" and down.headers["retry-after"] == "5"
        env = await start_dev_server(port=port)
        try:
            assert ack_of(await h.post(PATH, content=envelope, headers=SOAP_HEADERS)) == "true"
            assert await exists(env.client, f"onboarding-{opp}")
        finally:
            await env.shutdown()


async def test_logs_hold_no_contact_details_or_session_id(http: httpx.AsyncClient) -> None:
    session = "00D5e000000GxYz!AQ4AQLs3cr3tS3ss10nT0k3n"
    opp = opportunity_id()
    envelope = salesforce_envelope(
        **{SALESFORCE_OPPORTUNITY: opp, '<SessionId xsi:nil="true"/>': f"<SessionId>{session}</SessionId>"}
    )
    bad = salesforce_envelope(**{"ana@acme.example": "ana-at-acme"})
    with structlog.testing.capture_logs() as logs:
        assert ack_of(await http.post(PATH, content=envelope, headers=SOAP_HEADERS)) == "true"
        # kept for a human (tests/starters/test_starters_refusals.py), named in the logs by ids
        assert ack_of(await http.post(PATH, content=bad, headers=SOAP_HEADERS)) == "true"
    text = json.dumps(logs, default=str)
    assert any(e["event"] == "salesforce_notification_kept" for e in logs)
    assert opp in text  # identifiers are logged ...
    for private in (session, "ana@acme.example", "ana-at-acme", "Ana Ruiz", "Acme Corp"):
        assert private not in text  # ... contact details and the session id are not
