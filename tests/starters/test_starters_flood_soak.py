"""A product flooding one journey through the HTTP service: no run of the journey grows past
2,000 events, whatever the product sends (docs/http.md "Floods stop at the edge").

Before, a flood test saw one run reach 10,049 events: signals kept arriving while the
journey tried to continue as new, and at 10,000 the server refused even the cancel. Here
16 senders post distinct events to `/events` for 45 seconds without ever honouring
Retry-After. The journey's rate at the edge (25 events/s here, above the default 2, so the
history grows fast) lets each workflow task finish between signals, and the server
suggests continue-as-new at 1,500 events, as deployed (deploy/temporal/dynamicconfig); so
the journey hands over to fresh runs and every run stays under the bound."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from devstack.__main__ import SUGGEST_CONTINUE_AS_NEW
from starters.app import create_app
from tests.harness.starters_fixtures import deal_body, serve, settings_for, signed, unique
from tests.harness.traffic import dev_server

pytestmark = pytest.mark.soak  # `make soak`: minutes of heavy traffic, run by CI after `make test`

ROOT = Path(__file__).resolve().parents[2]
BOUND = 2_000
# as deployed: without it the server suggests continue-as-new at 4,096 events only
SUGGEST_AFTER = yaml.safe_load((ROOT / "deploy/temporal/dynamicconfig/docker.yaml").read_text())[
    "limit.historyCount.suggestContinueAsNew"
][0]["value"]
FLOOD_SECONDS = 45
SENDERS = 16


def test_make_run_and_the_deployment_suggest_continue_as_new_at_the_same_point() -> None:
    assert SUGGEST_AFTER == SUGGEST_CONTINUE_AS_NEW == 1_500


async def run_lengths(client: Client, workflow_id: str) -> list[int]:
    """Events of every run of the journey, oldest first."""
    runs = [w async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    lengths = []
    for run in sorted(runs, key=lambda r: r.start_time):
        history = await client.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history()
        lengths.append(len(history.events))
    return lengths


async def test_a_flood_through_the_http_service_never_grows_a_run_past_2000_events(journeys: Any) -> None:
    async with dev_server(SUGGEST_AFTER) as env, journeys(env.client, effects="fake") as (task_queue, _):
        client = env.client
        settings = settings_for(
            client.service_client.config.target_host,
            onboarding_task_queue=task_queue,
            journey_event_rate=25.0,
            journey_event_burst=30,
        )
        deal_id = unique("FLOOD")
        workflow_id = f"onboarding-{deal_id}"
        async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
            raw, headers = signed(deal_body(deal_id))
            assert (await http.post("/webhooks/deal-closed", content=raw, headers=headers)).status_code == 202
            answers: Counter[int] = Counter()
            stop = time.monotonic() + FLOOD_SECONDS
            sequence = iter(range(10**9))

            async def sender() -> None:
                while time.monotonic() < stop:
                    i = next(sequence)
                    # another step's action, each a new event: the journey records it and waits on
                    body = {
                        "event_id": f"flood-{i}",
                        "deal_id": deal_id,
                        "type": "taken",
                        "action": "teammates_invited",
                    }
                    raw, headers = signed(body)
                    answers[(await http.post("/events", content=raw, headers=headers)).status_code] += 1

            await asyncio.gather(*(sender() for _ in range(SENDERS)))
        lengths = await run_lengths(client, workflow_id)
        print(f"answers {dict(answers)}; runs {len(lengths)}, events per run {lengths}")
        assert set(answers) <= {202, 429}, answers  # nothing final, nothing failed
        assert answers[202] >= 20 * FLOOD_SECONDS * 0.5  # the journey kept taking events
        assert len(lengths) >= 2  # the flood carried it past the suggestion: it continued as new
        assert max(lengths) <= BOUND, lengths
        # the journey still answers and can be cancelled at the end of it
        handle = client.get_workflow_handle(workflow_id)
        await handle.cancel()
        async with asyncio.timeout(60):
            while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await asyncio.sleep(0.2)
        history = await handle.fetch_history()
        assert history.events[-1].event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
