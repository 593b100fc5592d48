"""The worker's metrics endpoint around real journeys (the time-skipping server): the journeys'
domain counters and the activities' move by exactly what happened, and a worker restart,
which replays every journey it picks up, counts nothing twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError

from contracts.journey import JourneyInput, JourneyResult
from contracts.signals import ActionTaken, HelpRequested
from contracts.status import OnboardingState
from lab.drive import MILESTONE_EVENTS, told
from owners.roster import Roster
from tests.harness.metrics import metered_client, scrape
from tests.harness.starters_fixtures import unique
from tests.harness.support import advance_until, leo_takes_every_deal, make_deal, start_journey
from workflows.onboarding import OnboardingWorkflow

MINUTE = timedelta(minutes=1)


async def test_counters_move_once_across_a_worker_restart(ts_env, journeys):
    client, url = await metered_client(ts_env)
    deal = make_deal(unique("D-MET"))
    async with journeys(client, keep_journeys=True) as task_queue:  # no journey cached: every task replays
        await start_journey(client, task_queue, deal)
        # signals, queries and waits through the time-skipping server's own client
        handle = ts_env.client.get_workflow_handle(f"onboarding-{deal.deal_id}")
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        first = await scrape(url)
    mine = {"task_queue": task_queue}
    assert first.value("onboarding_journeys_started_total", segment=deal.segment, **mine) == 1
    assert first.value("onboarding_messages_total", kind="direction", outcome="sent", **mine) == 1
    assert first.value("onboarding_ledger_outcomes_total", outcome="claimed", **mine) == 1
    assert first.value("onboarding_ledger_outcomes_total", outcome="sent", **mine) == 1
    assert first.value("onboarding_send_latency_seconds_count", **mine) == 1
    # the SDK's own, from the same endpoint
    assert first.value("temporal_workflow_task_schedule_to_start_latency_count", **mine) >= 1
    assert "temporal_worker_task_slots_available" in first.names()

    # A new worker: it replays the journey's history before it goes on.
    async with journeys(client, task_queue=task_queue):
        await handle.signal("help_requested", {"message": "x", "event_id": "h-0", "extra": 1})  # refused
        await handle.signal(OnboardingWorkflow.help_requested, HelpRequested(message="stuck", event_id="h-1"))
        await advance_until(ts_env, handle, lambda s: s.state is OnboardingState.escalated, step=MINUTE)
        moved = await advance_until(ts_env, handle, lambda s: s.escalation_level >= 2, step=timedelta(hours=1))
        # the customer acts (the escalation ends with it), then does each next milestone's action
        for stage, event in MILESTONE_EVENTS.items():
            if stage != "first_action":
                await advance_until(ts_env, handle, told(stage), step=MINUTE)
            await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action=event, event_id=f"e-{stage}"))
        result = JourneyResult.model_validate(await handle.result())
        last = await scrape(url)
        history = await handle.fetch_history()
    assert result.state is OnboardingState.activated
    playbook = {"segment": deal.segment, "playbook": "default", **mine}
    assert last.value("onboarding_journeys_started_total", **playbook) == 1  # not again on replay
    assert last.value("onboarding_journeys_activated_total", **playbook) == 1
    assert last.value("onboarding_journeys_closed_total", **mine) == 0
    assert last.value("onboarding_refused_inputs_total", **mine) == 1
    assert last.value("onboarding_escalations_opened_total", trigger="help", **playbook) == 1
    # as many as the journey's own history shows: none counted again when the new worker replayed
    assert last.value("onboarding_escalations_moved_up_total", **playbook) == moved.escalation_level - 1
    assert last.value("onboarding_escalations_moved_up_total", level="2", **playbook) == 1
    scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events]
    sends = [name for name in scheduled if name == "send_message"]
    # every message goes through the ledger: the customer's, and the escalation notices
    delivered = len(sends) + scheduled.count("create_escalation_task")
    assert len(sends) >= len(MILESTONE_EVENTS)  # a direction per milestone, and any follow-up
    assert last.value("onboarding_messages_total", kind="direction", outcome="sent", **mine) >= len(MILESTONE_EVENTS)
    assert last.value("onboarding_messages_total", outcome="sent", **mine) == len(sends)
    assert last.value("onboarding_ledger_outcomes_total", outcome="sent", channel="console", **mine) == delivered
    assert last.value("onboarding_send_latency_seconds_count", channel="console", **mine) == delivered
    assert last.value("onboarding_send_failures_total", **mine) == 0


async def test_a_crm_that_refuses_the_deal_is_counted_once_per_attempt(ts_env, journeys):
    """Pipedrive deal ids are numbers: the read fails at once, for good (not retried)."""
    client, url = await metered_client(ts_env)
    deal_id = unique("not-a-number")
    async with journeys(client) as task_queue:
        handle = await client.start_workflow(
            OnboardingWorkflow.run,
            JourneyInput(deal_id=deal_id, crm="pipedrive"),
            id=f"onboarding-{deal_id}",
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError):
            await ts_env.client.get_workflow_handle(handle.id).result()
        scraped = await scrape(url)
    errors = scraped.value(
        "onboarding_crm_fetch_errors_total", crm="pipedrive", error="PipedriveRequestRejected", task_queue=task_queue
    )
    assert errors == 1
    assert scraped.value("onboarding_crm_fetch_errors_total", task_queue=task_queue) == 1
    assert scraped.value("onboarding_journeys_started_total", task_queue=task_queue) == 0


def leo_with_one_place() -> Roster:
    roster = leo_takes_every_deal()
    owners = [o.model_copy(update={"capacity": 1}) if o.id == "leo" else o for o in roster.owners]
    return roster.model_copy(update={"owners": owners})


async def test_an_owner_over_capacity_is_counted_once(ts_env, journeys):
    """leo has one place: the second journey takes him over capacity (and his manager is told)."""
    client, url = await metered_client(ts_env)
    async with journeys(client, roster=leo_with_one_place) as task_queue:
        first, second = make_deal(unique("D-CAP")), make_deal(unique("D-CAP"))
        for deal in (first, second):
            await start_journey(client, task_queue, deal)
            handle = ts_env.client.get_workflow_handle(f"onboarding-{deal.deal_id}")
            last = await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        assert last.owner_over_capacity
        scraped = await scrape(url)
    mine = {"segment": second.segment, "playbook": "default", "task_queue": task_queue}
    assert scraped.value("onboarding_owners_over_capacity_total", **mine) == 1
    assert scraped.value("onboarding_journeys_started_total", **mine) == 2
