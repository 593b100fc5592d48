"""Helpers for the customer-data-protection tests: a deal whose every customer field carries a
marker, a scan of histories for those markers (raw bytes and every base64 string decoded),
and the HTTP service on the time-skipping server, sharing the worker's data dir."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from starters.app import create_app
from starters.signatures import Clock
from tests.harness.starters_fixtures import serve, settings_for

MARK = "zq7mark"
CONTACT_EMAIL = "zq7mark.ana@zq7mark-customer.example"
CONTACT_NAME = "Ana Zq7markName"
ACCOUNT_NAME = "Zq7markAccount Corp"
HELP_TEXT = "Zq7markHelp the CSV upload says invalid header, call me"
FAILURE_REASON = "Zq7markReason invalid header in row 3"
CANCEL_REASON = "Zq7markCancel customer went with a competitor"
PERSONAL = (CONTACT_EMAIL, CONTACT_NAME, ACCOUNT_NAME, HELP_TEXT, FAILURE_REASON, CANCEL_REASON)


def marked_deal(deal_id: str, *, email: str = CONTACT_EMAIL, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "deal_id": deal_id,
        "closed_at": "2026-11-20T15:04:05Z",
        "amount": 24000,
        "currency": "USD",
        "segment": "smb",
        "product": "analytics",
        "account": {"id": f"ACC-{deal_id}", "name": ACCOUNT_NAME, "timezone": "America/Chicago", "locale": "en-US"},
        "contacts": [
            {"email": email, "name": CONTACT_NAME, "role": "champion"},
            {"email": "zq7mark.bo@zq7mark-customer.example", "name": "Bo Zq7markName", "role": "admin"},
        ],
    }
    body.update(overrides)
    return body


_B64 = re.compile(r"^[A-Za-z0-9+/=_-]{8,}$")


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def readable_bytes(document: Any) -> bytes:
    """Everything a reader of this JSON could get without a key: every string as it is, and
    decoded, for those that are base64 (payload data and metadata are)."""
    out = bytearray()
    for text in _strings(document):
        out += text.encode() + b"\n"
        if _B64.match(text):
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                with contextlib.suppress(binascii.Error, ValueError):
                    out += decode(text + "=" * (-len(text) % 4)) + b"\n"
    return bytes(out)


def leaks(document: Any, needles: Iterable[str] = PERSONAL) -> list[str]:
    """The personal texts (or the marker itself) found in a document, case-insensitively."""
    haystack = readable_bytes(document).lower()
    found = [n for n in needles if n.lower().encode() in haystack]
    if MARK.encode() in haystack and not found:
        found.append(MARK)
    return found


def history_json(history: Any) -> Any:
    return json.loads(history.to_json()) if hasattr(history, "to_json") else history


def ts_address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


@asynccontextmanager
async def http_service(
    env: WorkflowEnvironment, task_queue: str, data_dir: Path, *, clock: Clock = time.time, **overrides: Any
) -> AsyncIterator[str]:
    """The HTTP service (webhooks, unsubscribe, /codec) on this Temporal server and task queue,
    with the worker's data dir (the suppression list is shared through it), reading `clock`
    for signature windows and link expiries."""
    settings = settings_for(
        ts_address(env),
        onboarding_task_queue=task_queue,
        onboarding_data_dir=data_dir,
        temporal_rpc_timeout_seconds=10.0,
        **overrides,
    )
    async with serve(create_app(settings, clock=clock)) as base_url:
        yield base_url
