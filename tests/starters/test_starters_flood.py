"""Floods stop at the edge (docs/http.md): a resent event is answered from the records
without Temporal, a journey over its rate gets 429 with Retry-After, and Temporal's per-run
signal limit is a 429 with Retry-After, never a code the sender treats as final. Real uvicorn,
real dev servers, records on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from devstack.search_attributes import ALL
from starters.app import create_app
from tests.harness.postgres import create_database
from tests.harness.privacy_keys import CONVERTER
from tests.harness.starters_checks import assert_problem, signals_of
from tests.harness.starters_fixtures import free_port, scripts_bin, serve, settings_for, signed, unique
from tests.harness.vendor_fixtures import segment_signed, segment_track


def event(deal_id: str, event_id: str) -> dict[str, Any]:
    return {"event_id": event_id, "deal_id": deal_id, "type": "taken", "action": "dataset_uploaded"}


async def test_a_resent_event_is_answered_from_the_records_without_temporal(
    dev_env: Any, records_url: str, tmp_path: Path
) -> None:
    client: Client = dev_env.client
    settings = settings_for(
        client.service_client.config.target_host, onboarding_database_url=records_url, onboarding_data_dir=tmp_path
    )
    deal_id, event_id = unique("FLOOD"), unique("e")
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        raw, headers = signed(event(deal_id, event_id))
        first = await http.post("/events", content=raw, headers=headers)
        assert first.status_code == 202 and "duplicate" not in first.json()
        call = segment_track(unique("m"), deal_id)
        raw, headers = segment_signed(call)
        assert (await http.post("/events/segment", content=raw, headers=headers)).status_code == 200
    # the same records, Temporal nowhere to be reached: the resends are still answered
    gone = settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    async with serve(create_app(gone)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        raw, headers = signed(event(deal_id, event_id))  # a new webhook-id, the same event id
        again = await http.post("/events", content=raw, headers=headers)
        assert again.status_code == 202, again.text
        assert again.json() == {**first.json(), "duplicate": True}
        raw, headers = segment_signed(call)
        resent = await http.post("/events/segment", content=raw, headers=headers)
        assert resent.status_code == 200 and resent.json()["accepted"][0]["duplicate"] is True
        # a new event needs Temporal: 503, not an answer from the records
        raw, headers = signed(event(deal_id, unique("e")))
        assert_problem(await http.post("/events", content=raw, headers=headers), 503)
    names = [body["event_id"] for _, body in await signals_of(client, f"onboarding-{deal_id}")]
    assert names == [event_id, call["messageId"]]


async def test_a_journey_over_its_rate_gets_429_with_retry_after(dev_env: Any, tmp_path: Path) -> None:
    client: Client = dev_env.client
    settings = settings_for(
        client.service_client.config.target_host,
        onboarding_data_dir=tmp_path,
        journey_event_rate=0.2,
        journey_event_burst=3,
    )
    flooded, other = unique("FLOOD"), unique("CALM")
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        answers = []
        for i in range(5):
            raw, headers = signed(event(flooded, f"e-{i}"))
            answers.append(await http.post("/events", content=raw, headers=headers))
        assert [a.status_code for a in answers] == [202, 202, 202, 429, 429]
        problem = assert_problem(answers[3], 429)
        assert problem["type"].endswith("journey-rate-limited")
        assert 1 <= int(answers[3].headers["retry-after"]) <= 5  # one token at 0.2 per second
        # another journey is not held back by this one
        raw, headers = signed(event(other, "e-0"))
        assert (await http.post("/events", content=raw, headers=headers)).status_code == 202
        # a refused event was not recorded as delivered: its resend is limited again, not a duplicate
        raw, headers = signed(event(flooded, "e-3"))
        assert (await http.post("/events", content=raw, headers=headers)).status_code == 429
    assert [b["event_id"] for _, b in await signals_of(client, f"onboarding-{flooded}")] == ["e-0", "e-1", "e-2"]


async def test_the_servers_signal_limit_is_429_with_retry_after_not_final(tmp_path: Path) -> None:
    """Temporal refuses a signal past history.maximumSignalsPerExecution with INVALID_ARGUMENT
    ("exceeded workflow execution limit for signal events"); before, the sender got a 503
    problem naming no cause (Segment: a call that was retried blindly). Now 429, its own type,
    and JOURNEY_SIGNAL_LIMIT_RETRY_AFTER_SECONDS."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=scripts_bin("temporal"),
        search_attributes=list(ALL),
        data_converter=CONVERTER,
        dev_server_extra_args=["--dynamic-config-value", "history.maximumSignalsPerExecution=3"],
    )
    try:
        settings = settings_for(env.client.service_client.config.target_host, onboarding_data_dir=tmp_path)
        deal_id = unique("LIMIT")
        async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            statuses = []
            for i in range(4):
                raw, headers = signed(event(deal_id, f"e-{i}"))
                statuses.append(await http.post("/events", content=raw, headers=headers))
            assert [r.status_code for r in statuses[:3]] == [202, 202, 202]
            problem = assert_problem(statuses[3], 429)
            assert problem["type"].endswith("journey-signal-limit")
            assert statuses[3].headers["retry-after"] == "60"
    finally:
        await env.shutdown()


async def test_healthz_names_the_records_database_when_it_is_down(dev_env: Any, postgres: str) -> None:
    """Before, /healthz looked at Temporal only: with the records gone (every refusal and
    event id is kept there) it still said ok."""
    client: Client = dev_env.client
    url = await create_database(postgres)
    settings = settings_for(client.service_client.config.target_host, onboarding_database_url=url)
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        assert (await http.get("/healthz")).json()["down"] == []
        name = url.rsplit("/", 1)[1]
        connection = await asyncpg.connect(f"{postgres}/postgres")
        try:
            await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await connection.close()
        health = await http.get("/healthz")
        assert health.status_code == 503 and health.headers["retry-after"] == "5"
        body = health.json()
        assert (body["status"], body["down"], body["temporal"]) == ("degraded", ["records"], "reachable")
        assert "records database" in body["records"]
        assert (await http.get("/livez")).status_code == 200
        # an event is not taken without the records: 503, which the sender retries
        raw, headers = signed(event(unique("D"), unique("e")))
        problem = assert_problem(await http.post("/events", content=raw, headers=headers), 503)
        assert problem["type"].endswith("records-unavailable")
