"""Shared test helpers: deals, playbooks on disk, a worker per test, virtual-time advance,
and the replay check every journey test ends with."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.settings import ActivitySettings
from playbooks.loader import DEFAULT_DIR
from playbooks.roster import Roster, load_roster
from worker import build_worker
from workflows.models import DealClosed, JourneyInput, Status, workflow_id_for
from workflows.onboarding import OnboardingWorkflow
from workflows.roster import roster_workflow_id
from workflows.sandbox import workflow_runner


def make_deal(deal_id: str | None = None, **overrides: Any) -> DealClosed:
    body: dict[str, Any] = {
        "deal_id": deal_id or f"D-{uuid.uuid4().hex[:8]}",
        "closed_at": "2026-11-20T15:04:05Z",
        "amount": 24000,
        "currency": "USD",
        "segment": "smb",
        "product": "analytics",
        "account": {"id": "ACME-1", "name": "Acme Corp", "timezone": "America/Chicago", "locale": "en-US"},
        "contacts": [{"email": "ana@acme.example", "name": "Ana Ruiz", "role": "champion"}],
    }
    account = overrides.pop("account", {})
    body["account"].update(account)
    body.update(overrides)
    return DealClosed.model_validate(body)


def default_playbook() -> dict[str, Any]:
    """The default playbook as journey tests use it: without the owner-acknowledgement wait,
    since they time the kickoff (tests/test_owner_acknowledgement.py turns it on)."""
    data = yaml.safe_load((DEFAULT_DIR / "default.yaml").read_text())
    data["owner_acknowledgement_hours"] = 0
    return data


def write_playbook(directory: Path, change: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """The default playbook without the owner-acknowledgement wait, changed by `change`, as
    the only playbook in `directory`."""
    data = default_playbook()
    if change:
        change(data)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "test.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


def leo_takes_every_deal() -> Roster:
    """The shipped roster with maya serving only enterprise: every smb and mid-market journey
    goes to leo, as tests that name one owner for several journeys expect (places are
    counted, so the journeys of one test would otherwise be spread). Staff can still choose
    maya by hand."""
    roster = load_roster()
    owners = [o.model_copy(update={"segments": ["enterprise"]}) if o.id == "maya" else o for o in roster.owners]
    return roster.model_copy(update={"owners": owners})


@asynccontextmanager
async def journey_worker(
    client: Client,
    tmp_path: Path,
    *,
    playbooks: Path | None = None,
    smtp_url: str | None = None,
    roster=load_roster,
) -> AsyncIterator[str]:
    """A worker on its own task queue; yields the task queue name."""
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    settings = ActivitySettings(
        SMTP_URL=smtp_url, ONBOARDING_DATA_DIR=tmp_path / "data"
    )
    if playbooks is None:
        playbooks = write_playbook(tmp_path / "playbooks-default")
    worker = build_worker(
        client, settings, task_queue=task_queue, roster=roster, playbooks=playbooks
    )
    try:
        async with worker:
            yield task_queue
    finally:
        await _terminate_leftovers(task_queue, client)


# Journeys started by start_journey, per task queue. A test that fails midway leaves its
# journey running with no worker; on the time-skipping server such a journey stops time
# from skipping for every later test, so the worker's teardown terminates it.
_STARTED: dict[str, list[WorkflowHandle]] = {}


async def _terminate_leftovers(task_queue: str, client: Client | None = None) -> None:
    if client is not None:  # the task queue's owner roster (workflows/roster.py) ends with it
        _STARTED.setdefault(task_queue, []).append(client.get_workflow_handle(roster_workflow_id(task_queue)))
    for handle in _STARTED.pop(task_queue, []):
        try:
            await handle.terminate("test ended with the journey still running")
        except RPCError:
            pass  # completed, as it should be


async def start_journey(
    client: Client, task_queue: str, deal: DealClosed, **input_fields: Any
) -> WorkflowHandle:
    handle = await client.start_workflow(
        OnboardingWorkflow.run,
        JourneyInput(deal_id=deal.deal_id, deal=deal, **input_fields),
        id=workflow_id_for(deal.deal_id),
        task_queue=task_queue,
    )
    _STARTED.setdefault(task_queue, []).append(handle)
    return handle


async def status(handle: WorkflowHandle) -> Status:
    return await handle.query(OnboardingWorkflow.status)


async def advance_until(
    env: WorkflowEnvironment,
    handle: WorkflowHandle,
    done: Callable[[Status], bool],
    *,
    step: timedelta = timedelta(minutes=30),
    limit: timedelta = timedelta(days=30),
) -> Status:
    """Move virtual time forward in steps until the journey's status satisfies `done`."""
    waited = timedelta(0)
    while True:
        current = await status(handle)
        if done(current):
            return current
        if waited >= limit:
            raise AssertionError(f"journey never reached the expected status; last: {current}")
        await env.sleep(step)
        waited += step


async def wait_for_status(
    handle: WorkflowHandle, done: Callable[[Status], bool], *, seconds: float = 20.0
) -> Status:
    """Real-time servers: re-query until `done`, bounded (the journey reacts asynchronously)."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        current = await status(handle)
        if done(current):
            return current
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"journey never reached the expected status; last: {current}")
        await asyncio.sleep(0.05)


async def assert_replays(handle: WorkflowHandle) -> None:
    """The history this test produced replays cleanly against the current code."""
    history = await handle.fetch_history()
    await Replayer(
        workflows=[OnboardingWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    ).replay_workflow(history)


async def close_and_replay(handle: WorkflowHandle) -> None:
    """End a test's journey (cancel, as a lost deal would) and replay its whole history."""
    await handle.signal("cancel", {"reason": "test over"})
    await handle.result()
    await assert_replays(handle)


def at_local(tz: str, day: datetime, hour: int, minute: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    local = day.astimezone(ZoneInfo(tz))
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)
