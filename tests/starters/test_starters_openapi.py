"""The OpenAPI document (/openapi.json, /docs) lists every public path, method and status code,
and each JSON answer and hand-read body is a named schema. Pinned: a route lost or a status
code dropped in a refactoring shows here. No server needed."""

from __future__ import annotations

from typing import Any

import pytest

from starters.app import create_app
from tests.harness.starters_fixtures import settings_for

REFUSALS = {"400", "401", "413", "415", "422"}
OPERATIONS = {
    ("GET", "/healthz"): {"200", "503"},
    ("GET", "/livez"): {"200"},
    ("POST", "/webhooks/deal-closed"): {"202", *REFUSALS, "503"},
    ("POST", "/webhooks/hubspot"): {"202", *REFUSALS, "503"},
    # Temporal unavailable is an Ack false (200), which Salesforce delivers again
    ("POST", "/webhooks/salesforce"): {"200", *REFUSALS},
    ("POST", "/webhooks/pipedrive"): {"202", *REFUSALS, "503"},
    # 429: too many events for one journey, or its run's signal limit (docs/http.md, floods)
    ("POST", "/events"): {"202", *REFUSALS, "404", "429", "503"},
    # 200: one call, delivered; 202: a batch, queued for its intake workflow
    ("POST", "/events/segment"): {"200", "202", *REFUSALS, "404", "429", "503"},
    ("GET", "/unsubscribe/{token}"): {"200", "422"},
    ("POST", "/unsubscribe/{token}"): {"204", "404", "410", "413", "422", "503"},
}
# answer media type of the success status, and the schema of the JSON ones
ANSWERS = {
    ("GET", "/healthz"): ("application/json", "Health"),
    ("GET", "/livez"): ("application/json", "Live"),
    ("POST", "/webhooks/deal-closed"): ("application/json", "DealAccepted"),
    ("POST", "/webhooks/hubspot"): ("application/json", "HubSpotAccepted"),
    ("POST", "/webhooks/salesforce"): ("text/xml", None),
    ("POST", "/webhooks/pipedrive"): ("application/json", "PipedriveAccepted"),
    ("POST", "/events"): ("application/json", "EventAccepted"),
    ("POST", "/events/segment"): ("application/json", "SegmentAccepted"),
    ("GET", "/unsubscribe/{token}"): ("text/html", None),
    ("POST", "/unsubscribe/{token}"): (None, None),
}
BODIES = {
    ("POST", "/webhooks/deal-closed"): "DealClosed",
    ("POST", "/webhooks/hubspot"): "HubSpotEvents",
    ("POST", "/events"): "ProductEvent",
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app(settings_for("127.0.0.1:1")).openapi()


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method.upper(), path): op for path, ops in spec["paths"].items() for method, op in ops.items()}


def test_paths_methods_and_status_codes_are_pinned(spec: dict[str, Any]) -> None:
    assert {key: set(op["responses"]) for key, op in operations(spec).items()} == OPERATIONS


def test_refusals_are_problem_details(spec: dict[str, Any]) -> None:
    for key, op in operations(spec).items():
        for status in REFUSALS & set(op["responses"]) - ({"422"} if key[1].startswith("/unsubscribe") else set()):
            assert set(op["responses"][status]["content"]) == {"application/problem+json"}, (key, status)


def test_each_answer_is_its_declared_model(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for key, op in operations(spec).items():
        success = min(op["responses"])
        content = op["responses"][success].get("content", {})
        media, model = ANSWERS[key]
        assert list(content) == ([media] if media else []), key
        if model is not None:
            assert content[media]["schema"] == {"$ref": f"#/components/schemas/{model}"}, key
            assert model in schemas


def test_hand_read_bodies_are_documented(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for key, op in operations(spec).items():
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        name = BODIES.get(key)
        assert body == ({"$ref": f"#/components/schemas/{name}"} if name else None), key
        if name:
            assert name in schemas
    assert schemas["HubSpotEvents"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/HubSpotEvent"},
        "minItems": 1,
        "maxItems": 1000,
    }
