"""What a request to the HTTP starters left on the dev server, read strongly consistently
(describe and history, not visibility), and the shape of a refusal."""

from __future__ import annotations

import json
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from contracts.journey import JourneyInput
from tests.harness.privacy_keys import CONVERTER

PROBLEM = "application/problem+json"


async def exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def history_of(client: Client, workflow_id: str) -> list[Any]:
    return list((await client.get_workflow_handle(workflow_id).fetch_history()).events)


async def start_input(client: Client, workflow_id: str) -> JourneyInput:
    first = (await history_of(client, workflow_id))[0]
    payloads = first.workflow_execution_started_event_attributes.input.payloads
    [value] = await CONVERTER.decode(payloads, [JourneyInput])
    return value


async def signals_of(client: Client, workflow_id: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for event in await history_of(client, workflow_id):
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            attrs = event.workflow_execution_signaled_event_attributes
            [plain] = await CONVERTER.payload_codec.decode([attrs.input.payloads[0]])  # type: ignore[union-attr]
            out.append((attrs.signal_name, json.loads(plain.data)))
    return out


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("urn:")
    return body
