"""End to end: webhooks and product events through the HTTP service move journeys run by a
real worker on the dev server (real time; every wait is a bounded poll of the status query)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowHandle

from contracts.signals import Cancel
from contracts.status import OnboardingState, Status
from starters.app import create_app
from starters.signatures import sign_hubspot_v3
from tests.harness.starters_checks import signals_of
from tests.harness.starters_fixtures import (
    HUBSPOT_SECRET,
    HUBSPOT_TOKEN,
    deal_body,
    fake_hubspot,
    serve,
    settings_for,
    signed,
    unique,
)
from tests.harness.support import (
    assert_replays,
    journey_worker,
    told,
    wait_for_status,
    write_playbook,
)
from tests.harness.vendor_fixtures import (
    PIPEDRIVE_SEGMENT_FIELD,
    PIPEDRIVE_TOKEN,
    SALESFORCE_OPPORTUNITY,
    SOAP_HEADERS,
    fake_pipedrive,
    opportunity_id,
    pipedrive_delivery,
    salesforce_envelope,
    segment_signed,
    segment_track,
)
from workflows.onboarding import OnboardingWorkflow


@dataclass
class Stack:
    client: Client
    http: httpx.AsyncClient
    base_url: str
    hubspot: dict[str, Any]
    pipedrive: dict[str, Any]


@pytest_asyncio.fixture(scope="module")
async def stack(dev_env: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    client = dev_env.client
    crm_app, crm_state = fake_hubspot()
    pipedrive_app, pipedrive_state = fake_pipedrive()
    async with serve(crm_app) as crm_url, serve(pipedrive_app) as pipedrive_url:
        with pytest.MonkeyPatch.context() as env:
            # read by the worker's fetch_hubspot_deal and fetch_pipedrive_deal when the worker is built
            env.setenv("HUBSPOT_API_BASE", crm_url)
            env.setenv("HUBSPOT_ACCESS_TOKEN", HUBSPOT_TOKEN)
            env.setenv("PIPEDRIVE_API_BASE", pipedrive_url)
            env.setenv("PIPEDRIVE_API_TOKEN", PIPEDRIVE_TOKEN)
            env.setenv("PIPEDRIVE_SEGMENT_FIELD", PIPEDRIVE_SEGMENT_FIELD)
            tmp = tmp_path_factory.mktemp("starters-e2e")
            worker = journey_worker(client, tmp, playbooks=write_playbook(tmp / "playbooks", _always_open))
            task_queue = await worker.__aenter__()
        try:
            settings = settings_for(client.service_client.config.target_host, onboarding_task_queue=task_queue)
            async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
                yield Stack(client, http, url, crm_state, pipedrive_state)
        finally:
            await worker.__aexit__(None, None, None)


def _always_open(playbook: dict[str, Any]) -> None:
    # Real time on the dev server: business hours around the clock, so directions and help
    # go out now rather than at the customer's next 09:00.
    playbook["business_hours"] = {
        "start": "00:00",
        "end": "23:59:59",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    }


def events(s: Status, name: str) -> list[Any]:
    return [e for e in s.timeline if e.event == name]


async def post(stack: Stack, path: str, body: Any) -> dict[str, Any]:
    raw, headers = signed(body)
    response = await stack.http.post(path, content=raw, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


async def close(handle: WorkflowHandle) -> None:
    await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
    await handle.result()
    await assert_replays(handle)


async def hubspot_closed_won(stack: Stack, object_id: int) -> None:
    body = [
        {
            "eventId": 1,
            "subscriptionId": 4242,
            "portalId": 62515,
            "appId": 54321,
            "occurredAt": int(time.time() * 1000),
            "subscriptionType": "deal.propertyChange",
            "attemptNumber": 0,
            "objectId": object_id,
            "changeSource": "CRM",
            "propertyName": "dealstage",
            "propertyValue": "closedwon",
        }
    ]
    raw = json.dumps(body).encode()
    headers = sign_hubspot_v3(
        HUBSPOT_SECRET, "POST", f"{stack.base_url}/webhooks/hubspot", raw, int(time.time() * 1000)
    )
    response = await stack.http.post(
        "/webhooks/hubspot", content=raw, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 202, response.text


async def started_journey(stack: Stack) -> tuple[str, WorkflowHandle]:
    deal_id = unique("E2E")
    assert (await post(stack, "/webhooks/deal-closed", deal_body(deal_id)))["created"] is True
    handle = stack.client.get_workflow_handle(f"onboarding-{deal_id}")
    await wait_for_status(handle, told("first_action"))
    return deal_id, handle


async def test_taken_event_moves_the_journey(stack: Stack) -> None:
    deal_id, handle = await started_journey(stack)
    reply = await post(
        stack,
        "/events",
        {
            "event_id": unique("e"),
            "deal_id": deal_id,
            "type": "taken",
            "action": "dataset_uploaded",
            "occurred_at": "2026-11-20T16:00:00Z",
        },
    )
    assert reply["deliveries"] == [{"workflow_id": f"onboarding-{deal_id}", "outcome": "signalled"}]
    moved = await wait_for_status(handle, told("first_value"))
    assert events(moved, "action taken")
    await close(handle)


async def test_failed_event_gets_help_and_a_duplicate_has_no_second_effect(stack: Stack) -> None:
    deal_id, handle = await started_journey(stack)
    failure = {
        "event_id": unique("f"),
        "deal_id": deal_id,
        "type": "failed",
        "action": "dataset_uploaded",
        "reason": "CSV has no header",
    }
    first = await post(stack, "/events", failure)
    again = await post(stack, "/events", failure)  # redelivered: new webhook-id, same event id
    # answered at the edge from the records: the journey never sees the redelivery
    assert again == {**first, "duplicate": True}
    state = await wait_for_status(handle, lambda s: bool(events(s, "sent help")))
    assert len(events(state, "sent help")) == 1 and len(events(state, "action failed")) == 1
    assert [name for name, _ in await signals_of(stack.client, handle.id)].count("action_failed") == 1
    assert state.state is OnboardingState.awaiting_action  # a second failure would have escalated
    await close(handle)


async def test_help_event_by_account_escalates(stack: Stack) -> None:
    deal_id, handle = await started_journey(stack)
    reply = await post(
        stack,
        "/events",
        {"event_id": unique("h"), "account_id": f"ACME-{deal_id}", "type": "help", "message": "Which file format?"},
    )
    assert reply["deliveries"] == [{"workflow_id": f"onboarding-{deal_id}", "outcome": "signalled"}]
    escalated = await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated)
    assert escalated.reason == "customer asked for help: Which file format?"
    await close(handle)


async def test_event_before_the_journey_is_applied_when_it_starts(stack: Stack) -> None:
    deal_id = unique("E2E")
    handle = stack.client.get_workflow_handle(f"onboarding-{deal_id}")
    early = await post(
        stack, "/events", {"event_id": unique("e"), "deal_id": deal_id, "type": "taken", "action": "dataset_uploaded"}
    )
    assert early["deliveries"] == [{"workflow_id": f"onboarding-{deal_id}", "outcome": "created_waiting_for_deal"}]
    waiting = await wait_for_status(handle, lambda s: s.stage == "")
    assert waiting.reason == "starting: waiting for deal details"

    assert await post(stack, "/webhooks/deal-closed", deal_body(deal_id)) == {
        "workflow_id": f"onboarding-{deal_id}",
        "created": False,
    }
    # the first milestone completes from the event that came first
    moved = await wait_for_status(handle, told("first_value"))
    assert moved.deal_id == deal_id and len(events(moved, "action taken")) == 1
    await close(handle)


async def test_hubspot_closed_won_journey_reads_the_deal_from_the_crm(stack: Stack) -> None:
    object_id = random.randint(10**8, 10**11)
    await hubspot_closed_won(stack, object_id)
    handle = stack.client.get_workflow_handle(f"onboarding-{object_id}")
    state = await wait_for_status(handle, told("first_action"))
    assert state.deal_id == str(object_id) and state.owner
    assert stack.hubspot["calls"]["deal"] >= 1 and stack.hubspot["calls"]["contacts"] >= 1
    desc = await handle.describe()
    from contracts.search_attributes import CUSTOMER_ID, SEGMENT

    # the workflow upserts what the CRM said once it has read the deal
    assert desc.typed_search_attributes.get(CUSTOMER_ID) == "501"
    assert desc.typed_search_attributes.get(SEGMENT) == "enterprise"
    await close(handle)


async def test_event_before_the_hubspot_webhook_waits_and_the_deal_is_read_from_the_crm(stack: Stack) -> None:
    object_id = random.randint(10**8, 10**11)
    early = await post(
        stack,
        "/events",
        {"event_id": unique("e"), "deal_id": str(object_id), "type": "taken", "action": "dataset_uploaded"},
    )
    assert early["deliveries"][0]["outcome"] == "created_waiting_for_deal"
    handle = stack.client.get_workflow_handle(f"onboarding-{object_id}")
    await wait_for_status(handle, lambda s: s.reason == "starting: waiting for deal details")
    await hubspot_closed_won(stack, object_id)
    # the journey learns the CRM has the deal, reads it, and the early action completes the first milestone
    moved = await wait_for_status(handle, told("first_value"))
    assert moved.deal_id == str(object_id) and events(moved, "deal is in the CRM")
    await close(handle)


async def test_salesforce_closed_won_opportunity_gets_its_kickoff(stack: Stack) -> None:
    opp = opportunity_id()
    envelope = salesforce_envelope(**{SALESFORCE_OPPORTUNITY: opp})
    response = await stack.http.post("/webhooks/salesforce", content=envelope, headers=SOAP_HEADERS)
    assert response.status_code == 200 and b"<Ack>true</Ack>" in response.content, response.text
    handle = stack.client.get_workflow_handle(f"onboarding-{opp}")
    state = await wait_for_status(handle, told("first_action"))
    assert state.deal_id == opp and state.owner
    await close(handle)


async def test_pipedrive_won_deal_journey_reads_the_deal_from_pipedrive(stack: Stack) -> None:
    deal = random.randint(10**8, 10**11)
    raw, headers = pipedrive_delivery(deal)
    response = await stack.http.post("/webhooks/pipedrive", content=raw, headers=headers)
    assert response.status_code == 202 and response.json()["journeys"][0]["created"] is True, response.text
    handle = stack.client.get_workflow_handle(f"onboarding-{deal}")
    state = await wait_for_status(handle, told("first_action"))
    assert state.deal_id == str(deal) and state.owner
    assert stack.pipedrive["calls"]["deal"] >= 1 and stack.pipedrive["calls"]["person"] >= 1
    from contracts.search_attributes import CUSTOMER_ID, SEGMENT

    desc = await handle.describe()
    assert desc.typed_search_attributes.get(CUSTOMER_ID) == "77"
    assert desc.typed_search_attributes.get(SEGMENT) == "enterprise"
    # a redelivery once the journey has its deal writes nothing to it
    events_before = len((await handle.fetch_history()).events)
    again = await stack.http.post("/webhooks/pipedrive", content=raw, headers=headers)
    assert again.json()["journeys"] == [{"workflow_id": f"onboarding-{deal}", "created": False}]
    history = (await handle.fetch_history()).events
    assert not [e for e in history[events_before:] if e.HasField("workflow_execution_signaled_event_attributes")]
    await close(handle)


async def test_segment_failure_gets_help_once_and_a_redelivery_is_ignored(stack: Stack) -> None:
    deal_id, handle = await started_journey(stack)
    failure = segment_track(unique("msg"), deal_id, "Dataset Import Failed", error="CSV has no header")
    answers = []
    for _ in range(2):  # Segment retried: the same messageId
        raw, headers = segment_signed(failure)
        response = await stack.http.post("/events/segment", content=raw, headers=headers)
        assert response.status_code == 200 and response.json()["accepted"], response.text
        answers.append(response.json()["accepted"][0])
    assert answers[1] == {**answers[0], "duplicate": True}  # answered at the edge
    state = await wait_for_status(handle, lambda s: bool(events(s, "sent help")))
    assert len(events(state, "sent help")) == 1 and len(events(state, "action failed")) == 1
    assert [name for name, _ in await signals_of(stack.client, handle.id)].count("action_failed") == 1
    await close(handle)


async def test_event_before_the_pipedrive_webhook_waits_and_the_deal_is_read_from_pipedrive(stack: Stack) -> None:
    deal = random.randint(10**8, 10**11)
    early = await post(
        stack,
        "/events",
        {"event_id": unique("e"), "deal_id": str(deal), "type": "taken", "action": "dataset_uploaded"},
    )
    assert early["deliveries"][0]["outcome"] == "created_waiting_for_deal"
    handle = stack.client.get_workflow_handle(f"onboarding-{deal}")
    await wait_for_status(handle, lambda s: s.reason == "starting: waiting for deal details")
    raw, headers = pipedrive_delivery(deal)
    response = await stack.http.post("/webhooks/pipedrive", content=raw, headers=headers)
    assert response.json()["journeys"] == [{"workflow_id": f"onboarding-{deal}", "created": False}]
    # deal_in_crm {crm: "pipedrive"}: the journey reads the deal and the early action completes the first milestone
    moved = await wait_for_status(handle, told("first_value"))
    assert moved.deal_id == str(deal) and events(moved, "deal is in the CRM")
    await close(handle)
