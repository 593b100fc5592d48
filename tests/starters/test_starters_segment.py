"""`POST /events/segment`: Segment's webhook destination (track calls, X-Signature) on a real
uvicorn against a real dev server (tests/fixtures/vendors/segment/)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest_asyncio
import structlog
from temporalio.client import Client

from starters.app import create_app
from tests.harness.starters_checks import assert_problem, exists, signals_of
from tests.harness.starters_fixtures import deal_body, serve, settings_for, signed, unique
from tests.harness.vendor_fixtures import (
    OLD_SEGMENT_SECRET,
    SEGMENT_SECRET,
    fixture,
    segment_signed,
    segment_track,
)

PATH = "/events/segment"


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


async def test_the_documented_track_call_becomes_action_taken(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("SEG")
    call = json.loads(fixture("segment/track.json"))
    call["properties"]["deal_id"] = deal_id
    raw, headers = segment_signed(call)
    response = await http.post(PATH, content=raw, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "accepted": [
            {
                "message_id": call["messageId"],
                "signal": "action_taken",
                "deliveries": [{"workflow_id": f"onboarding-{deal_id}", "outcome": "created_waiting_for_deal"}],
            }
        ],
        "ignored": 0,
    }
    assert await signals_of(client, f"onboarding-{deal_id}") == [
        (
            "action_taken",
            {
                "action": "dataset_uploaded",
                "event_id": call["messageId"],  # the journey de-duplicates on messageId
                "occurred_at": "2026-11-20T16:00:00.314000Z",
                "source": "segment",
            },
        )
    ]


async def test_a_redelivered_message_carries_the_same_event_id(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("SEG")
    raw, headers = signed(deal_body(deal_id))
    assert (await http.post("/webhooks/deal-closed", content=raw, headers=headers)).status_code == 202
    message_id = unique("msg")
    for _ in range(2):
        raw, headers = segment_signed(segment_track(message_id, deal_id))
        response = await http.post(PATH, content=raw, headers=headers)
        assert response.json()["accepted"][0]["deliveries"][0]["outcome"] == "signalled"
    signals = await signals_of(client, f"onboarding-{deal_id}")
    assert [(name, body["event_id"]) for name, body in signals] == [("action_taken", message_id)] * 2


async def test_properties_choose_the_event_type(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("SEG")
    failed = segment_track(unique("m"), deal_id, "Import Finished", status="failed", error="CSV has no header")
    worked = segment_track(unique("m"), deal_id, "Import Finished", status="ok")
    helped = segment_track(unique("m"), deal_id, "Help Requested", question="Which file format?")
    raw, headers = segment_signed([failed, worked, helped])
    response = await http.post(PATH, content=raw, headers=headers)
    assert [a["signal"] for a in response.json()["accepted"]] == ["action_failed", "action_taken", "help_requested"]
    signals = await signals_of(client, f"onboarding-{deal_id}")
    assert signals[0] == (
        "action_failed",
        {"action": "dataset_uploaded", "reason": "CSV has no header", "event_id": failed["messageId"]},
    )
    assert signals[2] == ("help_requested", {"message": "Which file format?", "event_id": helped["messageId"]})


async def test_unmapped_calls_are_acknowledged_and_counted(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("SEG")
    batch = json.loads(fixture("segment/batch.json"))  # a mapped failure and an identify call
    batch[0]["properties"]["deal_id"] = deal_id
    unmapped = segment_track(unique("m"), deal_id, "Page Scrolled")
    raw, headers = segment_signed([*batch, unmapped])
    response = await http.post(PATH, content=raw, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ignored"] == 2 and [a["signal"] for a in body["accepted"]] == ["action_failed"]

    other = unique("SEG")
    raw, headers = segment_signed(segment_track(unique("m"), other, "Page Scrolled"))
    response = await http.post(PATH, content=raw, headers=headers)
    assert response.status_code == 200 and response.json() == {"accepted": [], "ignored": 1}
    assert not await exists(client, f"onboarding-{other}")


async def test_bad_signatures_are_401_and_deliver_nothing(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("SEG")
    raw, headers = segment_signed(segment_track(unique("m"), deal_id))
    cases = {
        "missing": {"content-type": "application/json"},
        "wrong secret": segment_signed(raw, "not-the-secret")[1],
        "other body": segment_signed(raw + b" ")[1],
        "sha256 instead of sha1": {**headers, "X-Signature": "0" * 64},
        "not hex": {**headers, "X-Signature": "zz"},
    }
    for _, case in cases.items():
        assert_problem(await http.post(PATH, content=raw, headers=case), 401)
    assert not await exists(client, f"onboarding-{deal_id}")
    # during a rotation the previous secret still signs
    raw, headers = segment_signed(segment_track(unique("m"), deal_id), OLD_SEGMENT_SECRET)
    assert (await http.post(PATH, content=raw, headers=headers)).status_code == 200


async def test_malformed_bodies_name_the_segment_field_and_deliver_nothing(
    http: httpx.AsyncClient, client: Client
) -> None:
    deal_id = unique("SEG")
    good = segment_track(unique("m"), deal_id)
    raw, headers = segment_signed(b'{"type": "track", ')
    assert_problem(await http.post(PATH, content=raw, headers=headers), 400)

    cases: dict[str, tuple[Any, set[str]]] = {
        "no messageId": ({k: v for k, v in good.items() if k != "messageId"}, {"messageId"}),
        "no user": ({k: v for k, v in good.items() if k not in ("userId", "anonymousId")}, {"userId"}),
        "no deal or account": (
            {**good, "properties": {"rows": 3}},
            {"properties.deal_id or properties.account_id"},
        ),
        "bad deal id": (
            {**good, "properties": {"deal_id": "D 1"}},
            {"properties.deal_id", "properties.deal_id or properties.account_id"},
        ),
        # in a batch, the good call is not delivered either, and the index is named
        "batch": ([good, {**good, "messageId": ""}], {"1.messageId"}),
        "empty batch": ([], {"(body)"}),
    }
    for name, (body, fields) in cases.items():
        raw, headers = segment_signed(body)
        problem = assert_problem(await http.post(PATH, content=raw, headers=headers), 422)
        assert {e["field"] for e in problem.get("errors") or []} == fields, name
    assert not await exists(client, f"onboarding-{deal_id}")


async def test_an_account_with_no_journey_is_refused_for_redelivery(http: httpx.AsyncClient) -> None:
    call = segment_track(unique("m"), "unused")
    call["properties"] = {"account_id": unique("NO-ACCOUNT")}
    raw, headers = segment_signed(call)
    response = await http.post(PATH, content=raw, headers=headers)
    assert_problem(response, 404)
    assert response.headers["retry-after"] == "60"


async def test_logs_hold_no_secret_or_customer_text(http: httpx.AsyncClient) -> None:
    deal_id = unique("SEG")
    question = "my colleague ana@acme.example cannot log in"
    with structlog.testing.capture_logs() as logs:
        raw, headers = segment_signed(segment_track(unique("m"), deal_id, "Help Requested", question=question))
        await http.post(PATH, content=raw, headers=headers)
        await http.post(PATH, content=raw, headers={**headers, "X-Signature": "00"})
    text = json.dumps(logs, default=str)
    assert f"onboarding-{deal_id}" in text
    for private in (SEGMENT_SECRET, question, "ana@acme.example", "203.0.113.7", "user-97980cfea0067"):
        assert private not in text
