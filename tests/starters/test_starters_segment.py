"""`POST /events/segment`: Segment's webhook destination (track calls, X-Signature) on a real
uvicorn against a real dev server (tests/fixtures/vendors/segment/). Batches are delivered by
the intake workflow, run here by the worker's own intake worker; no journey runs (the tests
read what reached each journey's history)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import pytest_asyncio
import structlog
from temporalio.client import Client

from contracts.intake import IntakeOutcome
from starters.app import create_app
from starters.settings import StarterSettings
from tests.harness.starters_checks import assert_problem, exists, signals_of
from tests.harness.starters_fixtures import deal_body, serve, settings_for, signed, unique
from tests.harness.vendor_fixtures import (
    OLD_SEGMENT_SECRET,
    SEGMENT_SECRET,
    fixture,
    segment_signed,
    segment_track,
)
from worker import intake_worker

PATH = "/events/segment"


@pytest_asyncio.fixture(scope="module")
async def client(dev_env: Any) -> Client:
    return dev_env.client


@pytest_asyncio.fixture(scope="module")
async def settings(client: Client) -> StarterSettings:
    return settings_for(client.service_client.config.target_host)


@pytest_asyncio.fixture(scope="module")
async def http(client: Client, settings: StarterSettings) -> Any:
    async with (
        serve(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as h,
        intake_worker(client, settings.onboarding_task_queue),
    ):
        yield h


async def delivered(client: Client, response: httpx.Response) -> list[IntakeOutcome]:
    """The outcome of each intake a batch's answer names, once it has delivered everything."""
    assert response.status_code == 202, response.text
    async with asyncio.timeout(120):  # a bound on a stuck intake, not a wait for one
        return [
            await client.get_workflow_handle(wid, result_type=IntakeOutcome).result()
            for wid in response.json()["intake"]
        ]


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


async def test_a_redelivered_message_is_answered_from_the_records_not_signalled_again(
    http: httpx.AsyncClient, client: Client
) -> None:
    deal_id = unique("SEG")
    raw, headers = signed(deal_body(deal_id))
    assert (await http.post("/webhooks/deal-closed", content=raw, headers=headers)).status_code == 202
    message_id = unique("msg")
    answers = []
    for _ in range(2):
        raw, headers = segment_signed(segment_track(message_id, deal_id))
        response = await http.post(PATH, content=raw, headers=headers)
        answers.append(response.json()["accepted"][0])
    assert answers[0]["deliveries"][0]["outcome"] == "signalled" and "duplicate" not in answers[0]
    # the resend is answered from the records with the first answer; nothing reaches the journey
    assert answers[1] == {**answers[0], "duplicate": True}
    signals = await signals_of(client, f"onboarding-{deal_id}")
    assert [(name, body["event_id"]) for name, body in signals] == [("action_taken", message_id)]


async def test_properties_choose_the_event_type(http: httpx.AsyncClient, client: Client) -> None:
    deal_id = unique("SEG")
    failed = segment_track(unique("m"), deal_id, "Import Finished", status="failed", error="CSV has no header")
    worked = segment_track(unique("m"), deal_id, "Import Finished", status="ok")
    helped = segment_track(unique("m"), deal_id, "Help Requested", question="Which file format?")
    raw, headers = segment_signed([failed, worked, helped])
    response = await http.post(PATH, content=raw, headers=headers)
    assert response.json()["queued"] == 3
    await delivered(client, response)
    signals = await signals_of(client, f"onboarding-{deal_id}")
    assert [name for name, _ in signals] == ["action_failed", "action_taken", "help_requested"]
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
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["queued"], body["ignored"], body["rejected"]) == (1, 2, [])
    await delivered(client, response)
    assert [name for name, _ in await signals_of(client, f"onboarding-{deal_id}")] == ["action_failed"]

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
        # a batch of which no call can be used is refused whole, naming each call's field by index
        "batch of bad calls": (
            [{**good, "messageId": ""}, {**good, "properties": {"deal_id": "D 1"}}],
            {"0.messageId", "1.properties.deal_id", "1.properties.deal_id or properties.account_id"},
        ),
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


async def test_a_batch_with_a_bad_call_delivers_the_others_and_names_the_bad_one(
    http: httpx.AsyncClient, client: Client
) -> None:
    """Before, one bad call refused the whole batch (422, final for Segment: every call lost).
    Now the good calls are delivered and each bad one is named in the answer, by position,
    messageId and field, and logged the same way (no values)."""
    deal_id = unique("SEG")
    good = segment_track(unique("m"), deal_id)
    no_id = {**segment_track(unique("m"), deal_id), "messageId": ""}
    bad_deal = segment_track(unique("m"), "D 1")
    raw, headers = segment_signed([good, no_id, bad_deal])
    with structlog.testing.capture_logs() as logs:
        response = await http.post(PATH, content=raw, headers=headers)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["queued"], body["ignored"]) == (1, 0)
    assert [(r["index"], r["message_id"], {e["field"] for e in r["errors"]}) for r in body["rejected"]] == [
        (1, "", {"1.messageId"}),
        (2, bad_deal["messageId"], {"2.properties.deal_id", "2.properties.deal_id or properties.account_id"}),
    ]
    rejected = [e for e in logs if e["event"] == "segment_call_rejected"]
    assert [(e["index"], e["message_id"]) for e in rejected] == [(1, ""), (2, bad_deal["messageId"])]
    [outcome] = await delivered(client, response)
    assert outcome.delivered == 1
    assert [(n, b["event_id"]) for n, b in await signals_of(client, f"onboarding-{deal_id}")] == [
        ("action_taken", good["messageId"])
    ]


async def test_a_batch_signed_as_segment_signs_it_is_delivered(http: httpx.AsyncClient, client: Client) -> None:
    """The body and X-Signature Segment's own code produces for a batch (only the first call's
    JSON.stringify is signed; tests/fixtures/vendors/segment/signed-batch.js, after
    segmentio/action-destinations destinations/webhook): it used to be refused with 401."""
    raw = fixture("segment/signed-batch.json")
    headers = {"content-type": "application/json", "X-Signature": fixture("segment/signed-batch.sig").decode().strip()}
    response = await http.post(PATH, content=raw, headers=headers)
    [outcome] = await delivered(client, response)
    assert outcome.delivered == 2
    signals = await signals_of(client, "onboarding-D-SIGNED-BATCH-1")
    assert signals == [
        (
            "help_requested",
            {
                "message": 'Où est le fichier « café.csv » ? 東京 🎉 a/b \u2028 "quoted" \\ tab',
                "event_id": "ajs-next-batch-signed-0001",
            },
        ),
        (
            "action_taken",
            {
                "action": "dataset_uploaded",
                "event_id": "ajs-next-batch-signed-0002",
                "occurred_at": "2026-11-20T16:00:00.314000Z",
                "source": "segment",
            },
        ),
    ]


async def test_segments_largest_batch_is_queued_then_delivered_once(http: httpx.AsyncClient, client: Client) -> None:
    """4,000 calls, Segment's maximum batch on Webhooks (Actions) (segment-docs,
    catalog/actions-webhook: default 1,000, maximum 4,000): answered 202 once the batch is
    durable, then every call reaches its journey exactly once, in order, through an intake
    that continued as new to keep its history small. The same batch delivered again starts
    nothing. The intake's input is encrypted like every payload (privacy/codec.py)."""
    deals = [unique("BIG") for _ in range(100)]
    question = "ana@acme.example cannot open the import page"
    calls = [
        segment_track(f"{deals[i % 100]}-m{i:04d}", deals[i % 100])
        if i != 3999  # the last call: in the input and an activity of the intake's last run
        else segment_track(f"{deals[99]}-m3999", deals[99], "Help Requested", question=question)
        for i in range(4000)
    ]
    raw, headers = segment_signed(calls)
    response = await http.post(PATH, content=raw, headers=headers)
    assert response.status_code == 202, response.text
    assert (response.json()["queued"], response.json()["rejected"]) == (4000, [])
    outcomes = await delivered(client, response)
    assert sum(o.delivered for o in outcomes) == 4000 and max(o.runs for o in outcomes) >= 2
    expected = {deal: [f"{deal}-m{i:04d}" for i in range(n, 4000, 100)] for n, deal in enumerate(deals)}
    for deal, ids in expected.items():
        assert [b["event_id"] for _, b in await signals_of(client, f"onboarding-{deal}")] == ids

    intakes = response.json()["intake"]
    runs = [(await client.get_workflow_handle(w).describe()).run_id for w in intakes]
    again = await http.post(PATH, content=raw, headers=headers)
    assert again.status_code == 202 and again.json()["intake"] == intakes
    assert [(await client.get_workflow_handle(w).describe()).run_id for w in intakes] == runs
    for deal in (deals[0], deals[7], deals[99]):
        assert len(await signals_of(client, f"onboarding-{deal}")) == 40

    history = await client.get_workflow_handle(intakes[0]).fetch_history()  # the last run
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.input.payloads[0].metadata["encoding"] == b"binary/encrypted"
    assert (await signals_of(client, f"onboarding-{deals[99]}"))[-1][0] == "help_requested"
    raw_history = b"".join(event.SerializeToString() for event in history.events)  # payload bytes as stored
    assert b"-m3999" not in raw_history and b"acme.example" not in raw_history


@pytest.mark.soak  # 1,000 events of 2 KB each: a minute of deliveries, run by `make soak` with the floods
async def test_a_batch_past_temporals_payload_limit_is_queued_in_parts(http: httpx.AsyncClient, client: Client) -> None:
    """Temporal refuses a workflow input over 2 MB (the server's blob size limit, checked on
    the start's whole input): help requests of 1,900 characters make a batch's events pass it,
    so the batch is queued as several intakes, each under the limit, and delivered once."""
    deals = [unique("LONG") for _ in range(10)]
    calls = [
        segment_track(f"{deals[i % 10]}-h{i:04d}", deals[i % 10], "Help Requested", question=f"{i:04d}" + "q" * 1896)
        for i in range(1000)
    ]
    raw, headers = segment_signed(calls)
    response = await http.post(PATH, content=raw, headers=headers)
    outcomes = await delivered(client, response)
    assert len(outcomes) >= 3 and sum(o.delivered for o in outcomes) == 1000
    for n, deal in enumerate(deals):
        signals = await signals_of(client, f"onboarding-{deal}")
        assert [b["event_id"] for _, b in signals] == [f"{deal}-h{i:04d}" for i in range(n, 1000, 10)]


async def test_the_worker_delivers_batches_beside_its_journeys(client: Client, journeys: Any) -> None:
    """`worker.build_worker` runs the intake next to the journeys (`<task queue>-intake`): a
    batch sent to a service pointing at that worker's task queue is delivered."""
    deal_id = unique("SEG")
    async with journeys(client) as task_queue:
        settings = settings_for(client.service_client.config.target_host, onboarding_task_queue=task_queue)
        async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as h:
            calls = [segment_track(unique("m"), deal_id), segment_track(unique("m"), deal_id, "Page Scrolled")]
            raw, headers = segment_signed(calls)
            response = await h.post(PATH, content=raw, headers=headers)
            [outcome] = await delivered(client, response)
            assert outcome.delivered == 1
            assert [n for n, _ in await signals_of(client, f"onboarding-{deal_id}")] == ["action_taken"]


async def test_a_batch_body_has_segments_own_limit(client: Client) -> None:
    """Whole Segment events are kilobytes each: 4,000 of them pass the 1 MiB every other
    endpoint takes, so `/events/segment` has its own limit (SEGMENT_MAX_BODY_BYTES); over it,
    413 before anything is read further."""
    settings = settings_for(client.service_client.config.target_host, segment_max_body_bytes=4096)
    assert settings.max_body_bytes == 1024 * 1024
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as h:
        raw, headers = segment_signed([segment_track(unique("m"), unique("SEG")) for _ in range(6)])
        assert len(raw) > 4096
        assert_problem(await h.post(PATH, content=raw, headers=headers), 413)
