"""Search attributes and the `status` query reflect each state, on the dev server (real
visibility, real clock)."""

import asyncio
from datetime import datetime

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle

from contracts.metadata import static_summary
from contracts.search_attributes import (
    CUSTOMER_ID,
    DEAL_ID,
    ESCALATION_LEVEL,
    NEXT_ACTION_DUE,
    OWNER,
    SEGMENT,
    STAGE,
    STATE,
)
from contracts.signals import Cancel, HelpRequested
from contracts.staff import ResolveEscalation
from contracts.status import OnboardingState
from tests.harness.staff import start_described_journey
from tests.harness.support import (
    always_open,
    make_deal,
    start_journey,
    status,
    wait_for_status,
    write_playbook,
)
from workflows.onboarding import OnboardingWorkflow


def short_window(playbook):
    always_open(playbook)
    first = playbook["milestones"][0]
    first["window_hours"] = 4 / 3600
    first["follow_ups"] = first["follow_ups"][:1]
    first["follow_ups"][0]["wait_hours"] = 3.5 / 3600


async def attributes_when(
    handle: WorkflowHandle, state: str, stage: str, seconds: float = 20.0, until=lambda attrs: True
):
    """Describe until visibility shows the expected state and stage (bounded); then the
    static summary and the current details must tell the same story."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        described = await handle.describe()
        attrs = described.typed_search_attributes
        if attrs.get(STATE) == state and attrs.get(STAGE) == stage and until(attrs):
            summary = await described.static_summary()
            assert summary is None or summary.endswith("24,000 USD")
            metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
            assert f"**State:** {state}" in metadata.current_details.splitlines()
            if state not in ("activated", "closed"):
                assert f"(`{stage}`)" in metadata.current_details
            return attrs
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"search attributes never showed {state}/{stage}: {attrs}")
        await asyncio.sleep(0.05)


async def test_search_attributes_and_status_follow_the_journey(dev_env, tmp_path, journeys):
    client = dev_env.client
    playbooks = write_playbook(tmp_path / "playbooks", always_open)
    deal = make_deal(segment="mid-market", account={"id": "ACME-VIS"})
    async with journeys(client, playbooks=playbooks) as task_queue:
        handle = await start_described_journey(client, task_queue, deal)
        assert await (await handle.describe()).static_summary() == static_summary(deal)

        attrs = await attributes_when(handle, "awaiting_action", "first_action")
        now = await status(handle)
        assert attrs.get(OWNER) == now.owner == "leo"
        assert attrs.get(DEAL_ID) == deal.deal_id and attrs.get(CUSTOMER_ID) == "ACME-VIS"
        assert attrs.get(SEGMENT) == "mid-market" and attrs.get(ESCALATION_LEVEL) == 0
        due = await wait_for_status(handle, lambda s: s.waiting_on == "customer" and s.next_action.due_at is not None)
        attrs = await attributes_when(
            handle, "awaiting_action", "first_action", until=lambda a: a.get(NEXT_ACTION_DUE) == due.next_action.due_at
        )
        assert isinstance(attrs.get(NEXT_ACTION_DUE), datetime)
        assert attrs.get(NEXT_ACTION_DUE) == due.next_action.due_at
        assert due.reason == "told to 'Upload your first dataset'"

        await handle.signal(OnboardingWorkflow.help_requested, HelpRequested(message="how?", event_id="h-1"))
        attrs = await attributes_when(handle, "escalated", "first_action")
        assert attrs.get(ESCALATION_LEVEL) == 1
        escalated = await status(handle)
        assert escalated.state is OnboardingState.escalated and escalated.reason.startswith("customer asked for help")
        assert escalated.eligible_touchpoints == ["resolve_escalation"]

        await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, ResolveEscalation(decision="skip", by="maya")
        )
        attrs = await attributes_when(handle, "awaiting_action", "first_value")
        assert attrs.get(ESCALATION_LEVEL) == 0

        for n, action in enumerate(["dashboard_shared", "teammates_invited"]):
            await handle.signal(OnboardingWorkflow.action_taken, {"action": action, "event_id": f"e-{n}"})
        await handle.result()
        attrs = await attributes_when(handle, "activated", "expansion_check")
        assert attrs.get(NEXT_ACTION_DUE) is None
        final = await status(handle)
        assert (
            final.state is OnboardingState.activated and final.next_action is None and final.eligible_touchpoints == []
        )


async def test_clarifying_and_closed_are_visible(dev_env, tmp_path, journeys):
    client = dev_env.client
    playbooks = write_playbook(tmp_path / "playbooks", short_window)
    async with journeys(client, playbooks=playbooks) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await attributes_when(handle, "clarifying", "first_action")
        clarifying = await status(handle)
        assert clarifying.state is OnboardingState.clarifying
        assert clarifying.reason.startswith("no 'Upload your first dataset' by its due time: sent clarify")
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="deal lost"))
        await handle.result()
        attrs = await attributes_when(handle, "closed", "first_action")
        assert attrs.get(NEXT_ACTION_DUE) is None
        assert (await status(handle)).reason == "cancelled: deal lost"
