"""The HTTP service's /metrics around a real journey (the time-skipping server): each kind of
answer moves its counter by exactly one, labelled by route template and source, never by a
path as requested."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from starters.app import create_app
from tests.harness.metrics import Scrape, parse, scrape
from tests.harness.privacy_support import http_service
from tests.harness.starters_fixtures import deal_body, settings_for, signed, unique

DEALS = "/webhooks/deal-closed"


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def test_each_answer_moves_its_counter(ts_env, tmp_path, journeys):
    deal_id = unique("D-HTTP")
    async with (
        journeys(ts_env.client) as task_queue,
        http_service(ts_env, task_queue, tmp_path / "data") as base,
        httpx.AsyncClient(base_url=base) as http,
    ):

        async def post(path: str, body: object) -> int:
            raw, headers = signed(body)
            return (await http.post(path, content=raw, headers=headers)).status_code

        before = await scrape(f"{base}/metrics")
        assert await post(DEALS, deal_body(deal_id)) == 202
        unsigned = {"content-type": "application/json", "webhook-id": "m", "webhook-timestamp": "1"}
        assert (await http.post(DEALS, content=b"{}", headers=unsigned)).status_code == 401
        assert await post(DEALS, deal_body(unique("D-HTTP"), amount="lots")) == 422  # kept for staff
        event = {"event_id": "e-1", "deal_id": deal_id, "action": "dataset_uploaded", "type": "taken"}
        assert await post("/events", event) == 202
        assert await post("/events", event) == 202  # the same event: answered from the records
        assert (await http.get("/unsubscribe/not-a-token")).status_code == 404
        assert (await http.get("/no-such-page")).status_code == 404
        after = await scrape(f"{base}/metrics")

    requests = "onboarding_http_requests_total"
    assert moved(before, after, requests, route=DEALS, status="202", method="POST") == 1
    assert moved(before, after, requests, route=DEALS, status="401") == 1
    assert moved(before, after, requests, route=DEALS, status="422") == 1
    assert moved(before, after, requests, route="/events", status="202") == 2
    assert moved(before, after, requests, route="/unsubscribe/{token}", status="404") == 1
    assert moved(before, after, requests, route="unmatched", status="404") == 1
    assert moved(before, after, requests, route="/metrics", status="200") == 1  # the first scrape
    assert not [ls for n, ls, _ in after.samples if n == requests and "not-a-token" in ls.get("route", "")]
    assert moved(before, after, "onboarding_signature_failures_total", source="deal-closed") == 1
    assert moved(before, after, "onboarding_deliveries_kept_for_staff_total", source="deal-closed") == 1
    assert moved(before, after, "onboarding_edge_duplicates_total", source="events") == 1
    assert moved(before, after, "onboarding_temporal_unavailable_total") == 0
    assert after.value("onboarding_records_database_up") == 1


async def test_temporal_and_the_records_down_show(tmp_path):
    """Temporal unreachable: the 503 is counted; the records unreachable: the gauge says 0."""
    temporal_down = settings_for("127.0.0.1:1", onboarding_data_dir=tmp_path, temporal_rpc_timeout_seconds=1.0)
    records_down = settings_for("127.0.0.1:1", onboarding_database_url="postgresql://onboarding@127.0.0.1:1/onboarding")
    async with (
        asgi(create_app(temporal_down)) as http,
        asgi(create_app(records_down)) as other,
    ):
        before = await scrape_app(http)
        event = {"event_id": "e-1", "deal_id": unique("D-DOWN"), "action": "dataset_uploaded", "type": "taken"}
        raw, headers = signed(event)
        assert (await http.post("/events", content=raw, headers=headers)).status_code == 503
        after = await scrape_app(http)
        assert after.value("onboarding_records_database_up") == 1
        assert (await scrape_app(other)).value("onboarding_records_database_up") == 0
    assert moved(before, after, "onboarding_temporal_unavailable_total", route="/events") == 1
    assert moved(before, after, "onboarding_http_requests_total", route="/events", status="503") == 1


def asgi(app: FastAPI) -> httpx.AsyncClient:
    """The app in this process, without its lifespan: the records are opened on first use."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


async def scrape_app(http: httpx.AsyncClient) -> Scrape:
    response = await http.get("/metrics")
    response.raise_for_status()
    return parse(response.text)
