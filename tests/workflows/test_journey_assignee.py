"""`OnboardingAssignee` (journey v3.8): the person a journey is with now, in visibility. An
escalation left unanswered moves up owner -> backup -> manager, and the support guide's
"escalated by owner" list (docs/support.md) finds it under whoever holds it at each level,
not under the owner any more. Dev server (real visibility, real clock): the escalation's
SLA is a few seconds."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import Client

from contracts.search_attributes import ASSIGNEE
from contracts.status import OnboardingState
from tests.harness.staff import fill, guide_queries, start_described_journey
from tests.harness.support import always_open, leo_takes_every_deal, make_deal, wait_for_status, write_playbook
from workflows.onboarding import OnboardingWorkflow

SLA_SECONDS = 12  # long enough for visibility to settle at each level, even on a busy machine


def slow_enough_sla(data: dict[str, Any]) -> None:
    always_open(data)
    data["escalation"]["sla_hours"] = SLA_SECONDS / 3600


async def listed(client: Client, query: str, expected: set[str], seconds: float = 8) -> None:
    """List and count until visibility shows exactly `expected` (it settles a moment after
    the journey's upsert), bounded."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        got = {w.id async for w in client.list_workflows(query)}
        count = (await client.count_workflows(query)).count
        if got == expected and count == len(expected):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{query}: listed {sorted(got)} (count {count}), expected {sorted(expected)}")
        await asyncio.sleep(0.1)


async def test_an_escalation_is_listed_under_whoever_holds_it_at_each_level(dev_env, tmp_path, journeys):
    client = dev_env.client
    books = write_playbook(tmp_path / "playbooks", slow_enough_sla)
    escalated_with = guide_queries()["escalated-by-owner"]
    async with journeys(client, playbooks=books, roster=leo_takes_every_deal) as task_queue:
        handle = await start_described_journey(client, task_queue, make_deal())
        ids = {handle.id}

        def under(person: str) -> str:  # the guide's list for `person`, this test's journeys only
            return f"({fill(escalated_with, {'maya': person})}) AND TaskQueue = '{task_queue}'"

        told = await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        assert told.owner == "leo"  # backup maya, manager dana (owners/owners.yaml)
        await listed(client, f"{ASSIGNEE.name} = 'leo' AND TaskQueue = '{task_queue}'", ids)  # the owner's
        await handle.signal(OnboardingWorkflow.help_requested, {"message": "stuck", "event_id": "h-1"})

        await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated and s.escalation_level == 1)
        await listed(client, under("leo"), ids)
        await listed(client, under("maya"), set())

        await wait_for_status(handle, lambda s: s.escalation_level == 2, seconds=SLA_SECONDS + 10)
        await listed(client, under("maya"), ids)  # the backup holds it now
        await listed(client, under("leo"), set())
        await listed(client, f"OnboardingOwner = 'leo' AND TaskQueue = '{task_queue}'", ids)  # still leo's journey

        await wait_for_status(handle, lambda s: s.escalation_level == 3, seconds=SLA_SECONDS + 10)
        await listed(client, under("dana"), ids)  # the manager
        await listed(client, under("maya"), set())

        await handle.cancel()
        assert (await handle.result()).state is OnboardingState.closed
        await listed(client, f"{ASSIGNEE.name} = 'dana' AND TaskQueue = '{task_queue}'", set())  # ended: nobody's
