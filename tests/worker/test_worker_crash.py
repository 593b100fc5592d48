"""The worker SIGKILLed again and again mid-journey: every journey still completes.

A real `python -m worker` process on a dev server, sending email to a real SMTP server (the
devstack sink), is killed at random moments for a minute while 20 journeys are driven by
their customers' product events; then one worker stays up. Every journey must reach
`activated`. A kill between the SMTP server's acknowledgement and the worker recording it
makes the retry send that email again (same Message-ID): those duplicates are counted and
reported, not forbidden here (the sent-ledger shared by workers is a separate piece of
work)."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from temporalio.client import WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError

from contracts.journey import TASK_QUEUE, JourneyInput, workflow_id_for
from contracts.status import OnboardingState
from devstack.smtp_sink import SmtpSink
from tests.harness.support import default_playbook, make_deal
from tests.harness.traffic import WorkerProcess, dev_server
from workflows.onboarding import OnboardingWorkflow

pytestmark = pytest.mark.soak  # `make soak`: minutes of heavy traffic, run by CI after `make test`

JOURNEYS = 20
KILLING_FOR = 60.0  # seconds of random SIGKILLs
ALIVE_BETWEEN = (1.0, 4.0)  # seconds a worker lives once it polls, before the next kill
STEPS = ["dataset_uploaded", "dashboard_shared", "teammates_invited"]  # one event per milestone


@pytest_asyncio.fixture(scope="module")
async def crash_env():
    async with dev_server(4_096) as env:
        yield env


def playbooks(directory: Path) -> Path:
    data = default_playbook()  # no acknowledgement wait: the kickoff goes out at once
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    data["business_hours"] = {"start": "00:00", "end": "23:59:59", "days": days, "proactive_per_day": 10}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "crash.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


async def drive(handle: Any, rng: random.Random) -> None:
    """The customer does each step once told (queries fail while no worker is up: ask again)."""
    stages = ["first_action", "first_value", "expansion_check"]
    for step, (stage, action) in enumerate(zip(stages, STEPS, strict=True)):
        while True:
            try:
                now = await handle.query(OnboardingWorkflow.status, rpc_timeout=timedelta(seconds=3))
            except (RPCError, WorkflowQueryRejectedError, WorkflowQueryFailedError):
                now = None
            if now is not None and now.stage == stage and now.next_action is not None and now.next_action.due_at:
                break
            await asyncio.sleep(0.3)
        await asyncio.sleep(rng.uniform(0.0, 3.0))
        await handle.signal("action_taken", {"action": action, "event_id": f"{handle.id}-{step}"})


async def test_worker_killed_repeatedly_every_journey_completes(crash_env, tmp_path):
    client = crash_env.client
    rng = random.Random(8)
    async with SmtpSink() as sink:
        env = dict(
            os.environ,
            TEMPORAL_ADDRESS=client.service_client.config.target_host,
            TEMPORAL_NAMESPACE="default",
            SMTP_URL=sink.url,
            ONBOARDING_DATA_DIR=str(tmp_path / "data"),
            ONBOARDING_PLAYBOOKS_DIR=str(playbooks(tmp_path / "playbooks")),
        )
        worker = WorkerProcess(env, tmp_path)
        try:
            await worker.start()
            handles = []
            for i in range(JOURNEYS):
                deal = make_deal(
                    f"CRASH-{i:02d}",
                    contacts=[{"email": f"c{i}@customer.example", "name": f"C {i}", "role": "champion"}],
                )
                handles.append(
                    await client.start_workflow(
                        OnboardingWorkflow.run,
                        JourneyInput(deal_id=deal.deal_id, deal=deal),
                        id=workflow_id_for(deal.deal_id),
                        task_queue=TASK_QUEUE,
                    )
                )
            customers = asyncio.gather(*(drive(h, random.Random(rng.random())) for h in handles))

            began = time.monotonic()
            while time.monotonic() - began < KILLING_FOR:
                await asyncio.sleep(rng.uniform(*ALIVE_BETWEEN))
                worker.kill()
                await worker.start()
            await asyncio.wait_for(customers, 300)
            results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 120)
        finally:
            worker.kill()

        ids = Counter(m["Message-ID"] for m in sink.messages)
        duplicates = sum(n - 1 for n in ids.values() if n > 1)
        print(
            f"\n{worker.kills} SIGKILLs in {KILLING_FOR:.0f} s; {JOURNEYS} journeys activated; "
            f"{len(sink.messages)} emails, {len(ids)} distinct Message-IDs, {duplicates} duplicate customer emails"
        )
        assert worker.kills >= 5  # it really was killed, repeatedly
        assert [r.state for r in results] == [OnboardingState.activated] * JOURNEYS
        assert all([m.key for m in r.milestones] == ["first_action", "first_value", "expansion_check"] for r in results)
        # every journey told its customer each of the three steps, by email through the real server
        told = Counter(m["To"].addresses[0].addr_spec for m in {m["Message-ID"]: m for m in sink.messages}.values())
        assert told == {f"c{i}@customer.example": 3 for i in range(JOURNEYS)}
