"""A flood into one journey in each of its long waits: 20,000 signals (redeliveries, other
steps' events, failed attempts with 1 KB reasons, help requests) while it waits for the
customer, holds its kickoff for business hours, waits for the owner to acknowledge before
the kickoff, is escalated, and is paused. Each journey continues as new, answers `status`
throughout, carries no more than the documented state, and a real action and a cancel at
the end still work.

Dev server that suggests continue-as-new after 1,000 events; one `python -m worker`
process (as deployed: the senders are not in the worker's process). The five journeys are
flooded at the same time; each sender waits for the journey's `status` after every batch
of 80 signals (fewer than the 100 signals the server buffers during one workflow task)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from contracts.journey import TASK_QUEUE, JourneyInput, workflow_id_for
from contracts.staff import Pause, Resume
from contracts.status import OnboardingState, Status
from lab.drive import told as told_at
from tests.harness.support import default_playbook, make_deal, status, wait_for_status
from tests.harness.traffic import Signal, WorkerProcess, chain, dev_server, paced
from workflows.onboarding import OnboardingWorkflow

pytestmark = pytest.mark.soak  # `make soak`: minutes of heavy traffic, run by CI after `make test`

SIGNALS = 20_000
BATCH = 80
SUGGEST_AFTER = 1_000
CARRIED_AT_MOST = 400_000  # bytes of JourneyInput one run hands to the next (docs/support.md)
ANSWER_WITHIN = 30.0  # seconds a `status` query may take while the flood goes on


@pytest_asyncio.fixture(scope="module")
async def flood_env():
    async with dev_server(SUGGEST_AFTER) as env:
        yield env


def every_day(start: str = "00:00", end: str = "23:59:59", days: list[str] | None = None) -> dict[str, Any]:
    return {
        "start": start,
        "end": end,
        "days": days or ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "proactive_per_day": 10,
    }


def open_hours(playbook: dict[str, Any]) -> None:
    playbook["business_hours"] = every_day()


def closed_for_days(playbook: dict[str, Any]) -> None:
    """Business hours on one weekday three days from now only: the kickoff waits for them."""
    day = (datetime.now(UTC) + timedelta(days=3)).strftime("%a").lower()
    playbook["business_hours"] = every_day(days=[day])


def owner_first(playbook: dict[str, Any]) -> None:
    open_hours(playbook)
    playbook["owner_acknowledgement"] = {"hours": 4, "before_kickoff": True}


def flood(n: int) -> Iterator[Signal]:
    for i in range(n):
        kind = i % 8
        if kind == 0:  # redeliveries of the same three events
            yield ("action_taken", [{"action": "dataset_previewed", "event_id": "dup-taken"}])
        elif kind == 1:
            yield ("action_failed", [{"action": "dataset_uploaded", "reason": "timeout", "event_id": "dup-failed"}])
        elif kind == 2:
            yield ("help_requested", [{"message": "same question", "event_id": "dup-help"}])
        elif kind == 3:  # events for other steps
            yield ("action_taken", [{"action": "teammates_invited", "event_id": f"later-{i}"}])
        elif kind == 4:
            yield ("action_failed", [{"action": "dashboard_shared", "reason": "r" * 200, "event_id": f"other-{i}"}])
        elif kind in (5, 6):  # failed attempts at this step, 1 KB reasons
            yield (
                "action_failed",
                [{"action": "dataset_uploaded", "reason": f"{i:06d}" + "x" * 994, "event_id": f"f-{i}"}],
            )
        else:
            yield ("help_requested", [{"message": f"help #{i} " + "h" * 400, "event_id": f"h-{i}"}])


async def holding_for_business_hours(handle: WorkflowHandle, client) -> Status:
    """The kickoff waits for business hours: a timer runs and nothing was sent."""
    deadline = time.monotonic() + 30
    while True:
        history = await chain(client, handle)
        if any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events):
            now = await status(handle)
            assert not history.messages() and not any(e.event.startswith("sent") for e in now.timeline)
            return now
        assert time.monotonic() < deadline, "the kickoff was never held for business hours"
        await asyncio.sleep(0.1)


told = told_at("first_action")  # the customer has been told the first action (lab/drive.py)


class WaitState:
    def __init__(self, name: str, playbook: Callable[[dict[str, Any]], None]) -> None:
        self.name, self.playbook = name, playbook

    async def enter(self, client, handle: WorkflowHandle) -> None:
        if self.name == "holding for business hours":
            await holding_for_business_hours(handle, client)
            return
        if self.name == "waiting for the owner before the kickoff":
            await wait_for_status(handle, lambda s: s.waiting_on == "owner")
            return
        await wait_for_status(handle, told)
        if self.name == "escalated":
            await handle.signal("help_requested", {"message": "stuck", "event_id": "first-help"})
            await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated)
        elif self.name == "paused":
            await handle.execute_update(OnboardingWorkflow.pause, Pause(by="maya", reason="IT review"))


STATES = [
    WaitState("waiting for the customer", open_hours),
    WaitState("holding for business hours", closed_for_days),
    WaitState("waiting for the owner before the kickoff", owner_first),
    WaitState("escalated", open_hours),
    WaitState("paused", open_hours),
]


def product(wait: WaitState) -> str:
    return "flood-" + wait.name.split()[-1]


def playbooks(directory: Path) -> Path:
    """One playbook per wait state, chosen by the deal's product."""
    directory.mkdir(parents=True, exist_ok=True)
    for wait in STATES:
        data = default_playbook()
        data["name"], data["applies_to"] = product(wait), {"segments": ["*"], "products": [product(wait)]}
        wait.playbook(data)
        (directory / f"{product(wait)}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


async def flood_one(client, wait: WaitState) -> dict[str, Any]:
    deal = make_deal(product=product(wait))
    handle = await client.start_workflow(
        OnboardingWorkflow.run,
        JourneyInput(deal_id=deal.deal_id, deal=deal),
        id=workflow_id_for(deal.deal_id),
        task_queue=TASK_QUEUE,
    )
    try:
        return await flooded(client, wait, handle)
    except BaseException:
        try:
            await handle.terminate("flood test failed")
        finally:
            raise


async def flooded(client, wait: WaitState, handle: WorkflowHandle) -> dict[str, Any]:
    await wait.enter(client, handle)
    began = time.monotonic()
    slowest = await paced(handle, list(flood(SIGNALS)), batch=BATCH, answer_within=ANSWER_WITHIN)
    flooded_for = time.monotonic() - began
    after = await status(handle)
    if wait.name == "waiting for the owner before the kickoff":
        # the flood did not send the kickoff; its failed attempts got their help and went to the
        # owner who has not acknowledged yet, once (v3.6)
        assert after.state is OnboardingState.escalated and after.escalation_level == 1
        sent = (await chain(client, handle)).customer_messages()
        assert set(sent) == {"help"} and len(sent) <= 2, sent  # help until the failures were too many
    elif wait.name == "paused":
        assert after.paused and not (await chain(client, handle)).customer_messages()[1:]
    else:  # failed attempts and help requests escalate, once
        assert after.state is OnboardingState.escalated and after.escalation_level == 1

    # a real action still moves the journey (a paused one once staff resume it) ...
    await handle.signal("action_taken", {"action": "dataset_uploaded", "event_id": "the-real-one"})
    if wait.name == "paused":
        still = await wait_for_status(handle, lambda s: s.paused and s.stage == "first_action")
        assert still.paused  # held: nothing moves until staff resume
        await handle.execute_update(OnboardingWorkflow.resume, Resume(by="maya"))
    moved = await wait_for_status(handle, lambda s: s.stage == "first_value", seconds=60)
    assert moved.state in (OnboardingState.awaiting_action, OnboardingState.escalated)

    # ... and a cancel still closes it
    await handle.signal("cancel", {"reason": "deal lost"})
    result = await asyncio.wait_for(handle.result(), 60)
    assert result.state is OnboardingState.closed and result.reason == "cancelled: deal lost"
    assert [m.key for m in result.milestones] == ["first_action"]

    history = await chain(client, handle)
    signals = history.signal_names()
    assert len(signals) >= SIGNALS  # every one of them was accepted by the server
    return {
        "state": wait.name,
        "runs": len(history.runs),
        "largest_run": max(len(r.events) for r in history.runs),
        "largest_carried": max(history.carried_sizes(), default=0),
        "slowest_status": slowest,
        "seconds": flooded_for,
        "worker_failures": history.worker_task_failures(),
        "server_retries": len(history.task_failures()),
        "customer_messages": len(history.customer_messages()),
        "escalations": history.escalation_tasks(),
    }


async def test_flood_in_every_wait_state(flood_env, tmp_path):
    client = flood_env.client
    worker = WorkerProcess(
        dict(
            os.environ,
            TEMPORAL_ADDRESS=client.service_client.config.target_host,
            ONBOARDING_DATA_DIR=str(tmp_path / "data"),
            ONBOARDING_PLAYBOOKS_DIR=str(playbooks(tmp_path / "playbooks")),
        ),
        tmp_path,
    )
    await worker.start()
    try:
        outcomes = await asyncio.gather(*(flood_one(client, wait) for wait in STATES))
    finally:
        worker.kill()
    print()
    for o in outcomes:
        print(
            f"{o['state']:>42}: {SIGNALS:,} signals in {o['seconds']:.0f} s, {o['runs']} runs "
            f"(largest {o['largest_run']:,} events), largest carried state {o['largest_carried']:,} B, "
            f"slowest status {o['slowest_status']:.1f} s, {o['customer_messages']} customer messages, "
            f"{o['escalations']} escalation tasks, {o['server_retries']} tasks retried by the server"
        )
    for o in outcomes:
        assert o["runs"] >= SIGNALS // (2 * SUGGEST_AFTER), o  # it continued as new, again and again
        assert o["largest_run"] < 3 * SUGGEST_AFTER, o  # no run grew without bound
        assert o["largest_carried"] < CARRIED_AT_MOST, o
        assert not o["worker_failures"], o  # the journey's code never failed a task
        assert o["customer_messages"] <= 6 and o["escalations"] <= 3, o  # a flood is a few touchpoints
