"""Property-based fuzz of the HTTP starters: whatever arrives, never a 5xx, and every refusal
is application/problem+json. In-process ASGI (fast); a real dev server behind it, so bodies
that happen to be valid really start or signal journeys."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from starters.app import create_app
from starters.signatures import sign_hubspot_v3
from tests.starters_fixtures import HUBSPOT_SECRET, deal_body, settings_for, signed

EXAMPLES = 260  # x 4 properties: over 1,000 generated requests
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
PATHS = ["/webhooks/deal-closed", "/events", "/webhooks/hubspot"]

header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/cloudevents+json",
        "",
        "application/json;;",
        "multipart/form-data; boundary=x",
    ]
)


class Poster:
    """Synchronous POSTs (hypothesis drives plain functions) through httpx's in-process ASGI
    transport, on an event loop of its own in a background thread."""

    def __init__(self, app: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return asyncio.run_coroutine_threadsafe(self._client.post(path, **kwargs), self._loop).result(timeout=60)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@pytest.fixture(scope="module")
def http(dev_env: Any) -> Any:
    poster = Poster(create_app(settings_for(dev_env.client.service_client.config.target_host)))
    yield poster
    poster.close()


def check(response: Any, seen: Counter[int]) -> None:
    seen[response.status_code] += 1
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
        body = response.json()
        assert body["status"] == response.status_code


def test_fuzz_unsigned_or_garbled(http: Poster) -> None:
    seen: Counter[int] = Counter()

    @FUZZ
    @given(
        path=st.sampled_from(PATHS),
        body=st.binary(max_size=512) | json_values.map(lambda v: json.dumps(v).encode()),
        content_type=content_types,
        headers=st.dictionaries(
            st.sampled_from(
                [
                    "webhook-id",
                    "webhook-timestamp",
                    "webhook-signature",
                    "x-hubspot-signature-v3",
                    "x-hubspot-request-timestamp",
                    "x-extra",
                ]
            ),
            header_text,
            max_size=6,
        ),
    )
    def run(path: str, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        check(http.post(path, content=body, headers={**headers, "content-type": content_type}), seen)

    run()
    assert sum(seen.values()) >= EXAMPLES
    assert 401 in seen and 415 in seen


def test_fuzz_signed_json(http: Poster) -> None:
    seen: Counter[int] = Counter()

    @FUZZ
    @given(
        path=st.sampled_from(["/webhooks/deal-closed", "/events"]),
        body=json_values.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=256),
    )
    def run(path: str, body: bytes) -> None:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            body = body.decode("latin-1").encode("utf-8")  # signing needs text
        raw, headers = signed(body)
        check(http.post(path, content=raw, headers=headers), seen)

    run()
    assert sum(seen.values()) >= EXAMPLES
    assert 422 in seen and 400 in seen


def test_fuzz_mutated_deals_and_events(http: Poster) -> None:
    seen: Counter[int] = Counter()
    event = {
        "event_id": "e-1",
        "deal_id": "FUZZ-1",
        "type": "taken",
        "action": "dataset_uploaded",
        "occurred_at": "2026-11-20T16:00:00Z",
    }

    @FUZZ
    @given(
        kind=st.sampled_from(["deal", "event"]),
        deal_id=st.from_regex(r"FUZZ-[A-Za-z0-9._:-]{1,12}", fullmatch=True),
        changes=st.dictionaries(
            st.sampled_from(
                [
                    "deal_id",
                    "closed_at",
                    "amount",
                    "currency",
                    "segment",
                    "product",
                    "account",
                    "contacts",
                    "event_id",
                    "type",
                    "action",
                    "account_id",
                    "occurred_at",
                    "extra",
                ]
            ),
            json_values,
            max_size=3,
        ),
        drop=st.lists(
            st.sampled_from(["deal_id", "closed_at", "amount", "account", "contacts", "event_id", "type", "action"]),
            max_size=2,
        ),
    )
    def run(kind: str, deal_id: str, changes: dict[str, Any], drop: list[str]) -> None:
        body = deal_body(deal_id) if kind == "deal" else {**event, "deal_id": deal_id}
        body.update(changes)
        for key in drop:
            body.pop(key, None)
        raw, headers = signed(body)
        check(http.post("/webhooks/deal-closed" if kind == "deal" else "/events", content=raw, headers=headers), seen)

    run()
    assert sum(seen.values()) >= EXAMPLES
    assert 202 in seen and 422 in seen


def test_fuzz_hubspot_batches(http: Poster) -> None:
    seen: Counter[int] = Counter()
    entry = st.fixed_dictionaries(
        {
            "objectId": st.integers(min_value=-5, max_value=10**15) | st.text(max_size=5),
            "subscriptionType": st.sampled_from(["deal.propertyChange", "deal.creation", "contact.creation"])
            | st.text(max_size=10),
            "propertyName": st.sampled_from(["dealstage", "amount"]) | st.none(),
            "propertyValue": st.sampled_from(["closedwon", "contractsigned", "qualifiedtobuy"]) | json_values,
        },
        optional={"eventId": st.integers(), "occurredAt": json_values, "attemptNumber": st.integers(0, 10)},
    )

    @FUZZ
    @given(batch=st.lists(entry, max_size=5) | json_values)
    def run(batch: Any) -> None:
        raw = json.dumps(batch).encode()
        uri = "http://testserver/webhooks/hubspot"
        headers = sign_hubspot_v3(HUBSPOT_SECRET, "POST", uri, raw, int(time.time() * 1000))
        check(
            http.post("/webhooks/hubspot", content=raw, headers={**headers, "content-type": "application/json"}), seen
        )

    run()
    assert sum(seen.values()) >= EXAMPLES
    assert 422 in seen
