"""The HTTP starters on a real uvicorn against a real Temporal dev server (no worker needed:
these tests look at what was started or signalled, not at what a journey then does)."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from typing import Any

import httpx
import pytest
import pytest_asyncio
import structlog
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey

from contracts.deal import DealClosed
from starters.app import create_app
from starters.settings import StarterSettings
from starters.signatures import sign_hubspot_v3
from tests.harness.starters_checks import PROBLEM, assert_problem, exists, signals_of, start_input
from tests.harness.starters_fixtures import (
    HUBSPOT_SECRET,
    OLD_SECRET,
    SECRET,
    count_eventually,
    deal_body,
    free_port,
    post_all,
    serve,
    settings_for,
    signed,
    start_dev_server,
    unique,
)
from tests.harness.vendor_fixtures import fixture


@pytest_asyncio.fixture(scope="module")
async def client(dev_env: Any) -> Client:
    return dev_env.client


@pytest_asyncio.fixture(scope="module")
async def base_url(client: Client) -> Any:
    # Old and new secret configured together: a rotation in progress.
    settings = settings_for(client.service_client.config.target_host, onboarding_webhook_secret=[SECRET, OLD_SECRET])
    async with serve(create_app(settings)) as url:
        yield url


@pytest_asyncio.fixture
async def http(base_url: str) -> Any:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as h:
        yield h


# The instant the service below reads from its clock, whatever the time: signature windows are
# checked at their exact edges there, so a second of scheduling cannot decide a test.
FROZEN_NOW = 1_800_000_000


@pytest_asyncio.fixture(scope="module")
async def frozen_url(client: Client) -> Any:
    settings = settings_for(client.service_client.config.target_host)
    async with serve(create_app(settings, clock=lambda: float(FROZEN_NOW))) as url:
        yield url


# --- the generic deal-closed webhook -------------------------------------------------------------


async def test_signed_webhook_starts_visible_journey(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("D")
    raw, headers = signed(deal_body(deal_id, amount=24000, segment="mid-market"))
    response = await http.post("/webhooks/deal-closed", content=raw, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json() == {"workflow_id": f"onboarding-{deal_id}", "created": True}

    handle = client.get_workflow_handle(f"onboarding-{deal_id}")
    desc = await handle.describe()
    assert desc.workflow_type == "OnboardingWorkflow" and desc.task_queue.startswith("starters-")
    assert desc.status == WorkflowExecutionStatus.RUNNING
    assert await desc.static_summary() == f"{deal_id} · Acme Corp (ACME-{deal_id}) · mid-market · 24,000 USD"
    details = await desc.static_details()
    assert details and f"ACME-{deal_id}" in details
    assert "ana@acme.example" not in details and "Ana Ruiz" not in details and "Acme Corp" not in details
    sa = desc.typed_search_attributes
    assert sa.get(SearchAttributeKey.for_keyword("DealId")) == deal_id
    assert sa.get(SearchAttributeKey.for_keyword("CustomerId")) == f"ACME-{deal_id}"
    assert sa.get(SearchAttributeKey.for_keyword("Segment")) == "mid-market"
    assert sa.get(SearchAttributeKey.for_keyword("OnboardingState")) == "awaiting_action"
    journey = await start_input(client, f"onboarding-{deal_id}")
    assert journey.deal_id == deal_id and journey.deal is not None and journey.crm is None
    assert journey.deal.contacts[0].email == "ana@acme.example"
    # visible through visibility too (what the Web UI and support staff search)
    assert await count_eventually(client, f"DealId = '{deal_id}' AND OnboardingState = 'awaiting_action'", 1) == 1


async def test_duplicate_delivery_same_id_not_created(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("D")
    raw, headers = signed(deal_body(deal_id))
    first = await http.post("/webhooks/deal-closed", content=raw, headers=headers)
    again = await http.post("/webhooks/deal-closed", content=raw, headers=headers)
    # a CRM retry is signed afresh: new timestamp, same body
    raw2, headers2 = signed(deal_body(deal_id), msg_id=headers["webhook-id"])
    third = await http.post("/webhooks/deal-closed", content=raw2, headers=headers2)
    assert first.json() == {"workflow_id": f"onboarding-{deal_id}", "created": True}
    assert again.json() == third.json() == {"workflow_id": f"onboarding-{deal_id}", "created": False}
    assert await count_eventually(client, f"DealId = '{deal_id}'", 1) == 1
    assert await signals_of(client, f"onboarding-{deal_id}") == []  # redeliveries write no history


async def test_redelivery_after_journey_finished_starts_nothing(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("D")
    raw, headers = signed(deal_body(deal_id))
    assert (await http.post("/webhooks/deal-closed", content=raw, headers=headers)).json()["created"] is True
    handle = client.get_workflow_handle(f"onboarding-{deal_id}")
    await handle.terminate("test: journey over")
    late = await http.post("/webhooks/deal-closed", content=raw, headers=headers)
    assert late.status_code == 202 and late.json() == {"workflow_id": f"onboarding-{deal_id}", "created": False}
    assert (
        await client.get_workflow_handle(f"onboarding-{deal_id}").describe()
    ).status == WorkflowExecutionStatus.TERMINATED


# --- signatures --------------------------------------------------------------------------------


async def test_rotated_secrets_both_accepted(http: httpx.AsyncClient) -> None:
    for secret in (OLD_SECRET, SECRET):
        raw, headers = signed(deal_body(unique("D")), secret)
        response = await http.post("/webhooks/deal-closed", content=raw, headers=headers)
        assert response.status_code == 202, response.text


def _tamper_cases() -> dict[str, Any]:
    other = "whsec_" + "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZw=="

    def wrong_secret(deal: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        return signed(deal, other)

    # An hour out, far from the 5-minute edge (tested with a frozen clock below).
    def stale(deal: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        return signed(deal, timestamp=int(time.time()) - 3600)

    def future(deal: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        return signed(deal, timestamp=int(time.time()) + 3600)

    def replayed_changed_body(deal: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        _, headers = signed(deal)
        return json.dumps({**deal, "amount": 1}).encode(), headers

    def missing(deal: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        return json.dumps(deal).encode(), {"content-type": "application/json"}

    def garbage_signature(deal: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        raw, headers = signed(deal)
        headers["webhook-signature"] = "v1,???not-base64 v2"
        return raw, headers

    return {f.__name__: f for f in (wrong_secret, stale, future, replayed_changed_body, missing, garbage_signature)}


@pytest.mark.parametrize("path", ["/webhooks/deal-closed", "/events"])
@pytest.mark.parametrize("case", list(_tamper_cases()))
async def test_bad_signatures_are_401_and_start_nothing(
    http: httpx.AsyncClient, client: Client, case: str, path: str
) -> None:
    deal_id = unique("D")
    body = (
        deal_body(deal_id)
        if path == "/webhooks/deal-closed"
        else {"event_id": unique("e"), "deal_id": deal_id, "type": "taken", "action": "dataset_uploaded"}
    )
    raw, headers = _tamper_cases()[case](body)
    response = await http.post(path, content=raw, headers=headers)
    assert_problem(response, 401)
    assert not await exists(client, f"onboarding-{deal_id}")


@pytest.mark.parametrize("path", ["/webhooks/deal-closed", "/events"])
@pytest.mark.parametrize(("offset", "accepted"), [(-301, False), (-300, True), (300, True), (301, False)])
async def test_the_standard_webhooks_window_is_five_minutes_either_way(
    frozen_url: str, client: Client, path: str, offset: int, accepted: bool
) -> None:
    deal_id = unique("D")
    body = (
        deal_body(deal_id)
        if path == "/webhooks/deal-closed"
        else {"event_id": unique("e"), "deal_id": deal_id, "type": "taken", "action": "dataset_uploaded"}
    )
    raw, headers = signed(body, timestamp=FROZEN_NOW + offset)
    async with httpx.AsyncClient(base_url=frozen_url, timeout=30) as http:
        response = await http.post(path, content=raw, headers=headers)
    if accepted:
        assert response.status_code == 202, response.text
        assert await exists(client, f"onboarding-{deal_id}")
    else:
        problem = assert_problem(response, 401)
        assert ("older than" if offset < 0 else "in the future") in problem["detail"]
        assert not await exists(client, f"onboarding-{deal_id}")


# --- bad input ---------------------------------------------------------------------------------


async def test_bad_inputs_get_problem_details_and_start_nothing(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("D")
    path = "/webhooks/deal-closed"

    raw, headers = signed(deal_body(deal_id))
    assert_problem(await http.post(path, content=raw, headers={**headers, "content-type": "text/plain"}), 415)
    no_type = {k: v for k, v in headers.items() if k != "content-type"}
    assert_problem(await http.post(path, content=raw, headers=no_type), 415)

    big = deal_body(deal_id, product="x" * (1024 * 1024))
    raw, headers = signed(big)
    assert_problem(await http.post(path, content=raw, headers=headers), 413)

    async def chunks() -> Any:  # no Content-Length: the limit is enforced while reading
        for _ in range(17):
            yield b" " * 65536

    assert_problem(await http.post(path, content=chunks(), headers=signed(b"{}")[1]), 413)

    raw, headers = signed(b'{"deal_id": "' + deal_id.encode() + b'", ')
    body = assert_problem(await http.post(path, content=raw, headers=headers), 400)
    assert "line 1" in body["detail"]
    raw, headers = signed(b'{"amount": NaN}')
    assert_problem(await http.post(path, content=raw, headers=headers), 400)

    bad = deal_body(
        deal_id,
        amount=-5,
        closed_at="2026-11-20T15:04:05",
        account={"id": "A", "name": "Acme", "timezone": "Mars/Olympus"},
        contacts=[{"email": "not-an-email"}],
        surprise=True,
    )
    raw, headers = signed(bad)
    body = assert_problem(await http.post(path, content=raw, headers=headers), 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"amount", "closed_at", "account.timezone", "contacts.0.email", "surprise"}
    for name in fields:
        assert name in body["detail"]
    assert "not-an-email" not in json.dumps(body)  # submitted values are not echoed

    raw, headers = signed([deal_body(deal_id)])
    assert_problem(await http.post(path, content=raw, headers=headers), 422)

    assert not await exists(client, f"onboarding-{deal_id}")


async def test_events_schema_errors_name_fields(http: httpx.AsyncClient) -> None:
    raw, headers = signed({"event_id": "e-1", "type": "taken"})
    body = assert_problem(await http.post("/events", content=raw, headers=headers), 422)
    assert {e["field"] for e in body["errors"]} == {"account_id", "action"}
    raw, headers = signed({"event_id": "e-1", "type": "later", "deal_id": "D 1"})
    body = assert_problem(await http.post("/events", content=raw, headers=headers), 422)
    assert {"type", "deal_id"} <= {e["field"] for e in body["errors"]}


async def test_unknown_route_and_method_are_problems(http: httpx.AsyncClient) -> None:
    assert_problem(await http.get("/nope"), 404)
    assert_problem(await http.get("/webhooks/deal-closed"), 405)


def test_default_settings_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "ONBOARDING_WEBHOOK_SECRET", "HUBSPOT_CLOSED_WON_STAGES"):
        monkeypatch.delenv(name, raising=False)
    defaults = StarterSettings()
    assert (defaults.temporal_address, defaults.temporal_namespace, defaults.onboarding_task_queue) == (
        "localhost:7233",
        "default",
        "onboarding",
    )
    assert defaults.hubspot_closed_won_stages == ["closedwon"]
    monkeypatch.setenv("ONBOARDING_WEBHOOK_SECRET", f"{SECRET}, {OLD_SECRET}")
    monkeypatch.setenv("HUBSPOT_CLOSED_WON_STAGES", "closedwon contractsigned")
    configured = StarterSettings()
    assert [s.get_secret_value() for s in configured.onboarding_webhook_secret] == [SECRET, OLD_SECRET]
    assert configured.hubspot_closed_won_stages == ["closedwon", "contractsigned"]
    monkeypatch.setenv("ONBOARDING_WEBHOOK_SECRET", "whsec_***not-base64***")
    with pytest.raises(ValueError) as caught:
        StarterSettings()
    assert "not-base64" not in str(caught.value)  # a bad secret is never echoed


async def test_health_and_docs(http: httpx.AsyncClient) -> None:
    health = await http.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "temporal": "reachable", "records": "reachable", "down": []}
    assert (await http.get("/livez")).json() == {"status": "ok"}
    assert (await http.get("/docs")).status_code == 200
    spec = (await http.get("/openapi.json")).json()
    assert {"/webhooks/deal-closed", "/webhooks/hubspot", "/events", "/healthz"} <= set(spec["paths"])
    assert "DealClosed" in spec["components"]["schemas"]
    assert PROBLEM in spec["paths"]["/webhooks/deal-closed"]["post"]["responses"]["401"]["content"]


async def test_logs_hold_no_secrets_or_contact_details(http: httpx.AsyncClient) -> None:
    deal_id = unique("D")
    with structlog.testing.capture_logs() as logs:
        raw, headers = signed(deal_body(deal_id))
        await http.post("/webhooks/deal-closed", content=raw, headers=headers)
        raw, headers = signed(deal_body(deal_id, contacts=[{"email": "bad@", "name": "Ana Ruiz"}]))
        await http.post("/webhooks/deal-closed", content=raw, headers=headers)
        raw, headers = signed(deal_body(deal_id), "whsec_" + "c2VjcmV0LXRoYXQtaXMtd3Jvbmc=")
        await http.post("/webhooks/deal-closed", content=raw, headers=headers)
    text = json.dumps(logs, default=str)
    assert deal_id in text  # the identifiers are there ...
    for private in ("ana@acme.example", "Ana Ruiz", "bad@", SECRET[6:], OLD_SECRET[6:], headers["webhook-signature"]):
        assert private not in text  # ... contact details, secrets and signatures are not


# --- HubSpot -----------------------------------------------------------------------------------


def hubspot_events(deal_id: int, stage: str = "closedwon") -> list[dict[str, Any]]:
    base = {
        "subscriptionId": 4242,
        "portalId": 62515,
        "appId": 54321,
        "occurredAt": int(time.time() * 1000),
        "attemptNumber": 0,
        "changeSource": "CRM",
    }
    return [
        {
            **base,
            "eventId": 1,
            "subscriptionType": "deal.propertyChange",
            "objectId": deal_id,
            "propertyName": "dealstage",
            "propertyValue": stage,
        },
        {**base, "eventId": 2, "subscriptionType": "contact.creation", "objectId": 77, "changeFlag": "NEW"},
        {
            **base,
            "eventId": 3,
            "subscriptionType": "deal.propertyChange",
            "objectId": deal_id + 1,
            "propertyName": "dealstage",
            "propertyValue": "appointmentscheduled",
        },
        {
            **base,
            "eventId": 4,
            "subscriptionType": "deal.propertyChange",
            "objectId": deal_id,
            "propertyName": "dealstage",
            "propertyValue": stage,
        },  # HubSpot may repeat an event
    ]


async def test_hubspot_closed_won_starts_journey(http: httpx.AsyncClient, client: Client, base_url: str) -> None:
    deal_id = random.randint(10**9, 10**12)
    raw = json.dumps(hubspot_events(deal_id)).encode()
    uri = f"{base_url}/webhooks/hubspot"
    headers = sign_hubspot_v3(HUBSPOT_SECRET, "POST", uri, raw, int(time.time() * 1000))
    response = await http.post(
        "/webhooks/hubspot", content=raw, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"journeys": [{"workflow_id": f"onboarding-{deal_id}", "created": True}], "ignored": 2}
    journey = await start_input(client, f"onboarding-{deal_id}")
    assert (journey.deal_id, journey.deal, journey.crm) == (str(deal_id), None, "hubspot")
    assert not await exists(client, f"onboarding-{deal_id + 1}")

    again = await http.post("/webhooks/hubspot", content=raw, headers={**headers, "content-type": "application/json"})
    assert again.json()["journeys"] == [{"workflow_id": f"onboarding-{deal_id}", "created": False}]

    # another configured closed-won stage works too
    raw = json.dumps(hubspot_events(deal_id + 7, stage="contractsigned")[:1]).encode()
    headers = sign_hubspot_v3(HUBSPOT_SECRET, "POST", uri, raw, int(time.time() * 1000))
    ok = await http.post("/webhooks/hubspot", content=raw, headers={**headers, "content-type": "application/json"})
    assert ok.json()["journeys"] == [{"workflow_id": f"onboarding-{deal_id + 7}", "created": True}]


async def test_hubspot_generic_format_starts_journey(http: httpx.AsyncClient, client: Client, base_url: str) -> None:
    """Apps on HubSpot's developer platform subscribe in the generic format: `subscriptionType:
    object.propertyChange`, the object's type in `objectTypeId` ("0-3" = deal), signed v3
    like the classic format (developers.hubspot.com: "Create generic webhook subscriptions",
    "Configure webhooks" on the developer platform, and "Validating requests": v3 with
    X-HubSpot-Request-Timestamp). tests/fixtures/vendors/hubspot/generic-deal-won.json."""
    deal_id = random.randint(10**9, 10**12)
    events = json.loads(fixture("hubspot/generic-deal-won.json"))
    events[0]["objectId"], events[1]["objectId"], events[2]["objectId"] = deal_id, deal_id + 1, deal_id + 2
    events[0]["occurredAt"] = int(time.time() * 1000)
    raw = json.dumps(events).encode()
    headers = sign_hubspot_v3(HUBSPOT_SECRET, "POST", f"{base_url}/webhooks/hubspot", raw, int(time.time() * 1000))
    response = await http.post(
        "/webhooks/hubspot", content=raw, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 202, response.text
    # a custom object's `dealstage` and a deal's creation start nothing
    assert response.json() == {"journeys": [{"workflow_id": f"onboarding-{deal_id}", "created": True}], "ignored": 2}
    journey = await start_input(client, f"onboarding-{deal_id}")
    assert (journey.deal_id, journey.deal, journey.crm) == (str(deal_id), None, "hubspot")
    assert not await exists(client, f"onboarding-{deal_id + 1}")
    assert not await exists(client, f"onboarding-{deal_id + 2}")


async def test_hubspot_bad_signatures_are_401(http: httpx.AsyncClient, client: Client, base_url: str) -> None:
    deal_id = random.randint(10**9, 10**12)
    raw = json.dumps(hubspot_events(deal_id)).encode()
    uri = f"{base_url}/webhooks/hubspot"
    now = int(time.time() * 1000)
    cases = {
        # an hour out, far from the 5-minute edge (tested with a frozen clock below)
        "stale": sign_hubspot_v3(HUBSPOT_SECRET, "POST", uri, raw, now - 3_600_000),
        "future": sign_hubspot_v3(HUBSPOT_SECRET, "POST", uri, raw, now + 3_600_000),
        "wrong secret": sign_hubspot_v3("not-the-secret", "POST", uri, raw, now),
        "other uri": sign_hubspot_v3(HUBSPOT_SECRET, "POST", uri + "?x=1", raw, now),
        "missing": {},
        "timestamp not a number": {
            **sign_hubspot_v3(HUBSPOT_SECRET, "POST", uri, raw, now),
            "X-HubSpot-Request-Timestamp": "soon",
        },
    }
    for _, headers in cases.items():
        response = await http.post(
            "/webhooks/hubspot", content=raw, headers={**headers, "content-type": "application/json"}
        )
        assert_problem(response, 401)
    changed = raw.replace(b"closedwon", b"closedwoN")
    headers = sign_hubspot_v3(HUBSPOT_SECRET, "POST", uri, raw, now)
    response = await http.post(
        "/webhooks/hubspot", content=changed, headers={**headers, "content-type": "application/json"}
    )
    assert_problem(response, 401)
    assert not await exists(client, f"onboarding-{deal_id}")


@pytest.mark.parametrize(
    ("offset_ms", "accepted"), [(-300_001, False), (-300_000, True), (300_000, True), (300_001, False)]
)
async def test_the_hubspot_window_is_five_minutes_either_way(
    frozen_url: str, client: Client, offset_ms: int, accepted: bool
) -> None:
    deal_id = random.randint(10**9, 10**12)
    raw = json.dumps(hubspot_events(deal_id)[:1]).encode()
    uri = f"{frozen_url}/webhooks/hubspot"
    headers = sign_hubspot_v3(HUBSPOT_SECRET, "POST", uri, raw, FROZEN_NOW * 1000 + offset_ms)
    async with httpx.AsyncClient(base_url=frozen_url, timeout=30) as http:
        response = await http.post(
            "/webhooks/hubspot", content=raw, headers={**headers, "content-type": "application/json"}
        )
    if accepted:
        assert response.status_code == 202, response.text
        assert await exists(client, f"onboarding-{deal_id}")
    else:
        problem = assert_problem(response, 401)
        assert ("older than" if offset_ms < 0 else "in the future") in problem["detail"]
        assert not await exists(client, f"onboarding-{deal_id}")


async def test_hubspot_behind_proxy_uses_public_url(client: Client) -> None:
    settings = settings_for(client.service_client.config.target_host, public_base_url="https://hooks.example.com/")
    deal_id = random.randint(10**9, 10**12)
    raw = json.dumps(hubspot_events(deal_id)[:1]).encode()
    headers = sign_hubspot_v3(
        HUBSPOT_SECRET, "POST", "https://hooks.example.com/webhooks/hubspot", raw, int(time.time() * 1000)
    )
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as h:
        response = await h.post(
            "/webhooks/hubspot", content=raw, headers={**headers, "content-type": "application/json"}
        )
    assert response.status_code == 202, response.text


# --- product events (no worker: what reaches the journey's history) ------------------------------


async def test_event_before_deal_creates_waiting_journey(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("D")
    workflow_id = f"onboarding-{deal_id}"
    raw, headers = signed(
        {
            "event_id": "e-early",
            "deal_id": deal_id,
            "type": "taken",
            "action": "dataset_uploaded",
            "occurred_at": "2026-11-20T16:00:00Z",
        }
    )
    response = await http.post("/events", content=raw, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json() == {
        "event_id": "e-early",
        "signal": "action_taken",
        "deliveries": [{"workflow_id": workflow_id, "outcome": "created_waiting_for_deal"}],
    }
    journey = await start_input(client, workflow_id)
    assert (journey.deal, journey.crm) == (None, None)

    raw, headers = signed(deal_body(deal_id))
    deal = await http.post("/webhooks/deal-closed", content=raw, headers=headers)
    assert deal.json() == {"workflow_id": workflow_id, "created": False}
    signals = await signals_of(client, workflow_id)
    assert [name for name, _ in signals] == ["action_taken", "deal_closed"]
    assert signals[0][1]["event_id"] == "e-early"
    assert DealClosed.model_validate(signals[1][1]).deal_id == deal_id


async def test_events_become_signals_with_event_id(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("D")
    raw, headers = signed(deal_body(deal_id))
    await http.post("/webhooks/deal-closed", content=raw, headers=headers)
    sent = [
        {"event_id": "e-1", "deal_id": deal_id, "type": "taken", "action": "dataset_uploaded"},
        {
            "event_id": "e-2",
            "deal_id": deal_id,
            "type": "failed",
            "action": "dataset_uploaded",
            "reason": "CSV too big",
        },
        {"event_id": "e-3", "deal_id": deal_id, "type": "help", "message": "stuck on import"},
    ]
    for event in sent:
        raw, headers = signed(event)
        response = await http.post("/events", content=raw, headers=headers)
        assert response.status_code == 202, response.text
        assert response.json()["deliveries"] == [{"workflow_id": f"onboarding-{deal_id}", "outcome": "signalled"}]
    signals = await signals_of(client, f"onboarding-{deal_id}")
    assert signals == [
        ("action_taken", {"action": "dataset_uploaded", "event_id": "e-1", "occurred_at": None, "source": "product"}),
        ("action_failed", {"action": "dataset_uploaded", "reason": "CSV too big", "event_id": "e-2"}),
        ("help_requested", {"message": "stuck on import", "event_id": "e-3"}),
    ]


async def test_event_by_account_id(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("D")
    raw, headers = signed(deal_body(deal_id))
    await http.post("/webhooks/deal-closed", content=raw, headers=headers)
    await count_eventually(client, f"CustomerId = 'ACME-{deal_id}'", 1)
    raw, headers = signed({"event_id": "e-acc", "account_id": f"ACME-{deal_id}", "type": "help"})
    response = await http.post("/events", content=raw, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["deliveries"] == [{"workflow_id": f"onboarding-{deal_id}", "outcome": "signalled"}]
    assert ("help_requested", {"message": "", "event_id": "e-acc"}) in await signals_of(client, f"onboarding-{deal_id}")


async def test_event_for_unknown_account_is_refused_not_dropped(http: httpx.AsyncClient) -> None:
    raw, headers = signed({"event_id": "e-lost", "account_id": "NO-SUCH-'ACCOUNT", "type": "taken", "action": "x"})
    response = await http.post("/events", content=raw, headers=headers)
    body = assert_problem(response, 404)
    assert response.headers["retry-after"] == "60"
    assert "NO-SUCH" in body["detail"]


async def test_event_for_finished_journey_is_reported(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("D")
    raw, headers = signed(deal_body(deal_id))
    await http.post("/webhooks/deal-closed", content=raw, headers=headers)
    await client.get_workflow_handle(f"onboarding-{deal_id}").terminate("test")
    raw, headers = signed({"event_id": "e-late", "deal_id": deal_id, "type": "taken", "action": "x"})
    response = await http.post("/events", content=raw, headers=headers)
    assert response.status_code == 202
    assert response.json()["deliveries"] == [{"workflow_id": f"onboarding-{deal_id}", "outcome": "journey_closed"}]


# --- load and outages -----------------------------------------------------------------------------


async def test_duplicate_storm(http: httpx.AsyncClient, client: Client) -> None:
    rng = random.Random(20261120)
    account = unique("STORM")
    unique_deals = [unique("S") for _ in range(350)]
    deliveries: list[tuple[str, str | None]] = [(d, None) for d in unique_deals]
    for _ in range(150):  # 30 % of 500 are redeliveries, some with the same webhook-id
        deliveries.append((rng.choice(unique_deals), rng.choice([None, "same"])))
    rng.shuffle(deliveries)
    first_ids: dict[str, str] = {}

    def request(deal_id: str, mode: str | None) -> tuple[bytes, dict[str, str]]:
        body = deal_body(deal_id, account={"id": account, "name": "Storm Inc"})
        raw, headers = signed(body, msg_id=first_ids.get(deal_id) if mode == "same" else None)
        first_ids.setdefault(deal_id, headers["webhook-id"])
        return raw, headers

    prepared = [request(d, m) for d, m in deliveries]
    responses = await post_all(str(http.base_url), "/webhooks/deal-closed", prepared, concurrency=50)
    assert Counter(r.status_code for r in responses) == {202: 500}
    created = Counter(r.json()["workflow_id"] for r in responses if r.json()["created"])
    assert set(created) == {f"onboarding-{d}" for d in unique_deals}
    assert set(created.values()) == {1}  # exactly one delivery per deal reports the creation
    assert await count_eventually(client, f"CustomerId = '{account}'", len(unique_deals), timeout=30) == 350


async def test_temporal_down_then_back(tmp_path: Any) -> None:
    port = free_port()
    settings = settings_for(f"127.0.0.1:{port}", temporal_rpc_timeout_seconds=1.0)
    deal_id = unique("D")
    raw, headers = signed(deal_body(deal_id))
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as h:
        down = await h.post("/webhooks/deal-closed", content=raw, headers=headers)
        assert_problem(down, 503)
        assert down.headers["retry-after"] == "5"
        health = await h.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        assert health.json()["down"] == ["temporal"] and health.json()["records"] == "reachable"
        assert (await h.get("/livez")).status_code == 200  # what a load balancer checks

        env = await start_dev_server(port=port)
        try:
            retried = await h.post("/webhooks/deal-closed", content=raw, headers=headers)  # the CRM's retry
            assert retried.status_code == 202, retried.text
            assert retried.json() == {"workflow_id": f"onboarding-{deal_id}", "created": True}
            assert await exists(env.client, f"onboarding-{deal_id}")
            assert (await h.get("/healthz")).status_code == 200
        finally:
            await env.shutdown()

        # connected once, then lost: still a bounded 503, not a hang or a 500
        raw, headers = signed(deal_body(unique("D")))
        started = time.monotonic()
        lost = await h.post("/webhooks/deal-closed", content=raw, headers=headers)
        assert_problem(lost, 503)
        assert time.monotonic() - started < 10
