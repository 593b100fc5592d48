"""Senders and APIs of the vendors we integrate, speaking their documented formats: the
fixture bodies of tests/fixtures/vendors/ (with the test's own ids), their credentials, and
a local server answering as Pipedrive's API v2 does."""

from __future__ import annotations

import copy
import json
import random
import string
from collections import Counter
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from starters.pipedrive import basic_auth
from starters.segment import sign_segment

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"

SALESFORCE_ORG = "00D5e000000GxYzEAK"  # the fixtures' organization
SALESFORCE_OPPORTUNITY = "0065e00000AbCdEAAZ"  # the closed-won opportunity of the single-notification fixture
PIPEDRIVE_USER = "onboarding-hook"
PIPEDRIVE_PASSWORD = "pipedrive-basic-password-for-tests"
PIPEDRIVE_TOKEN = "pipedrive-api-token-for-tests"
PIPEDRIVE_SEGMENT_FIELD = "5f3ea6b6b36a4e1a9f5a2c0b8e1d7f3a9c2b4d6e"
PIPEDRIVE_PRODUCT_FIELD = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
PIPEDRIVE_TIMEZONE_FIELD = "c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3"
SEGMENT_SECRET = "segment-shared-secret-for-tests"
OLD_SEGMENT_SECRET = "segment-previous-secret-for-tests"
SEGMENT_MAPPING: dict[str, Any] = {
    "rules": [
        {"event": "Dataset Uploaded", "type": "taken", "action": "dataset_uploaded"},
        {
            "event": "Dataset Import Failed",
            "type": "failed",
            "action": "dataset_uploaded",
            "reason_path": "properties.error",
        },
        {
            "event": "Import Finished",
            "when": {"properties.status": "failed"},
            "type": "failed",
            "action": "dataset_uploaded",
            "reason_path": "properties.error",
        },
        {"event": "Import Finished", "type": "taken", "action": "dataset_uploaded"},
        {"event": "Help Requested", "type": "help", "message_path": "properties.question"},
    ]
}


def vendor_settings() -> dict[str, Any]:
    """StarterSettings values for the three integrations (tests.harness.starters_fixtures.settings_for)."""
    return {
        "salesforce_org_ids": [SALESFORCE_ORG],
        "pipedrive_webhook_user": PIPEDRIVE_USER,
        "pipedrive_webhook_password": PIPEDRIVE_PASSWORD,
        "segment_shared_secret": [SEGMENT_SECRET, OLD_SEGMENT_SECRET],
        "segment_mapping": SEGMENT_MAPPING,
    }


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def opportunity_id() -> str:
    """A fresh 18-character Opportunity id (key prefix 006)."""
    return "006" + "".join(random.choices(string.ascii_letters + string.digits, k=15))


def salesforce_envelope(name: str = "salesforce/opportunity-closed-won.xml", **replace: str) -> bytes:
    """A fixture envelope with some of its values replaced (e.g. its opportunity ids)."""
    body = fixture(name).decode()
    for old, new in replace.items():
        assert old in body, old
        body = body.replace(old, new)
    return body.encode()


SOAP_HEADERS = {"content-type": "text/xml; charset=utf-8", "SOAPAction": '""'}


def pipedrive_delivery(deal_id: int, name: str = "pipedrive/deal-won.json") -> tuple[bytes, dict[str, str]]:
    body = json.loads(fixture(name))
    body["data"]["id"] = deal_id
    body["meta"]["entity_id"] = str(deal_id)
    raw = json.dumps(body).encode()
    return raw, {"content-type": "application/json", **basic_auth(PIPEDRIVE_USER, PIPEDRIVE_PASSWORD)}


def segment_track(message_id: str, deal_id: str, event: str = "Dataset Uploaded", **properties: Any) -> dict[str, Any]:
    call = json.loads(fixture("segment/track.json"))
    call.update(messageId=message_id, event=event)
    call["properties"] = {"deal_id": deal_id, **properties}
    return call


def segment_signed(body: Any, secret: str = SEGMENT_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw, {"content-type": "application/json", **sign_segment(secret, raw)}


def fake_pipedrive() -> tuple[FastAPI, dict[str, Any]]:
    """Pipedrive API v2 (deals, organizations, persons) with the documented answers."""
    state: dict[str, Any] = {"calls": Counter(), "fail": {}}
    full = json.loads(fixture("pipedrive/api-deal.json"))["data"]
    deals: dict[str, dict[str, Any]] = {
        "4321": full,
        # no organization, a person without any email
        "4322": {**full, "id": 4322, "org_id": None, "person_id": 89, "custom_fields": {}, "currency": None},
        # no organization, no custom fields: the defaults apply
        "4323": {**full, "id": 4323, "org_id": None, "custom_fields": {}, "currency": None, "won_time": None},
    }
    organizations = {"77": json.loads(fixture("pipedrive/api-organization.json"))["data"]}
    persons = {
        "88": json.loads(fixture("pipedrive/api-person.json"))["data"],
        "89": {"id": 89, "name": "No Mail", "emails": [], "phones": []},
    }
    app = FastAPI()

    def gate(kind: str, request: Request) -> JSONResponse | None:
        state["calls"][kind] += 1
        if request.headers.get("x-api-token") != PIPEDRIVE_TOKEN:
            return JSONResponse(
                {"success": False, "error": "unauthorized access", "errorCode": 401, "error_info": "Please check..."},
                status_code=401,
            )
        planned = state["fail"].get(kind)
        if planned:
            return JSONResponse(
                {"success": False, "error": "Request over limit", "errorCode": 429},
                status_code=planned.pop(0),
                headers={"x-ratelimit-reset": "0"},
            )
        return None

    def not_found(what: str) -> JSONResponse:
        return JSONResponse(
            {"success": False, "error": f"{what} not found", "error_info": "Please check...", "data": None},
            status_code=404,
        )

    @app.get("/api/v2/deals/{deal_id}")
    async def deal(deal_id: str, request: Request) -> Any:
        if (refused := gate("deal", request)) is not None:
            return refused
        if deal_id not in deals and deal_id.isdigit() and len(deal_id) > 6:
            deals[deal_id] = {**copy.deepcopy(full), "id": int(deal_id)}  # any long id: the full deal
        if deal_id not in deals:
            return not_found("Deal")
        return {"success": True, "data": deals[deal_id]}

    @app.get("/api/v2/organizations/{org_id}")
    async def organization(org_id: str, request: Request) -> Any:
        if (refused := gate("organization", request)) is not None:
            return refused
        return (
            {"success": True, "data": organizations[org_id]} if org_id in organizations else not_found("Organization")
        )

    @app.get("/api/v2/persons/{person_id}")
    async def person(person_id: str, request: Request) -> Any:
        if (refused := gate("person", request)) is not None:
            return refused
        return {"success": True, "data": persons[person_id]} if person_id in persons else not_found("Person")

    return app, state
