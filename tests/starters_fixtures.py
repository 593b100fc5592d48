"""Shared helpers for the HTTP starter tests: a real dev server, a real uvicorn, signing."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import sysconfig
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest_asyncio
import uvicorn
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from starters.settings import StarterSettings
from starters.signatures import sign_standard

T = TypeVar("T")

SEARCH_ATTRIBUTES = [
    SearchAttributeKey.for_keyword("OnboardingStage"),
    SearchAttributeKey.for_keyword("OnboardingState"),
    SearchAttributeKey.for_keyword("OnboardingOwner"),
    SearchAttributeKey.for_keyword("DealId"),
    SearchAttributeKey.for_keyword("CustomerId"),
    SearchAttributeKey.for_keyword("Segment"),
    SearchAttributeKey.for_datetime("NextActionDue"),
    SearchAttributeKey.for_int("EscalationLevel"),
]

SECRET = "whsec_" + "c3RhcnRlcnMtdGVzdC1zZWNyZXQtMDAwMDAwMDAwMDA="
OLD_SECRET = "whsec_" + "b2xkLXN0YXJ0ZXJzLXNlY3JldC0xMTExMTExMTExMTE="
HUBSPOT_SECRET = "hubspot-app-client-secret-for-tests"


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
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=pydantic_data_converter,
        port=port,
    )


_shared: dict[str, Any] = {"env": None, "users": 0}


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """One dev server for every starter test module (each module may import this fixture)."""
    if _shared["env"] is None:
        _shared["env"] = await start_dev_server()
    _shared["users"] += 1
    try:
        yield _shared["env"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            env, _shared["env"] = _shared["env"], None
            await env.shutdown()


def settings_for(address: str, **overrides: Any) -> StarterSettings:
    values: dict[str, Any] = {
        "temporal_address": address,
        "temporal_namespace": "default",
        "temporal_env_config": False,
        "onboarding_webhook_secret": [SECRET],
        "hubspot_client_secret": HUBSPOT_SECRET,
        "hubspot_closed_won_stages": ["closedwon", "contractsigned"],
        "temporal_rpc_timeout_seconds": 3.0,
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

    try:
        await wait_until(probe, timeout=timeout, what=f"count({query}) == {expected}")
    except AssertionError:
        pass
    return (await client.count_workflows(query)).count


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def deal_body(deal_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "deal_id": deal_id,
        "closed_at": "2026-11-20T15:04:05Z",
        "amount": 24000,
        "currency": "USD",
        "segment": "smb",
        "product": "analytics",
        "account": {"id": f"ACME-{deal_id}", "name": "Acme Corp", "timezone": "America/Chicago", "locale": "en-US"},
        "contacts": [{"email": "ana@acme.example", "name": "Ana Ruiz", "role": "champion"}],
    }
    body.update(overrides)
    return body


def signed(body: Any, secret: str = SECRET, *, timestamp: int | None = None, msg_id: str | None = None) -> tuple[bytes, dict[str, str]]:
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
