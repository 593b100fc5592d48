"""Nothing a journey ignores is silent: the Recent list of the current details (what a
support person reads in the Web UI) shows a misspelled product action, a reused event id and
an acknowledgement from someone who is not the owner, says who did what for staff actions,
and quotes the customer's own failure text (time-skipping server)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle

from contracts.signals import ActionFailed, ActionTaken, Cancel, HelpRequested, OwnerAcknowledged
from tests.harness.support import advance_until, make_deal, move_to_next_monday, start_journey, told
from workflows.onboarding import OnboardingWorkflow


async def details_until(handle: WorkflowHandle, done: Callable[[str], bool]) -> str:
    """The current details once `done` holds (a signal is handled in the journey's next
    workflow task). Bounded: details that never show it fail the test with what they said."""
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        if done(metadata.current_details):
            return metadata.current_details
        assert asyncio.get_running_loop().time() < deadline, metadata.current_details
        await asyncio.sleep(0.05)


def recent(details: str) -> list[str]:
    return details.split("**Recent:**\n", 1)[1].split("\n**", 1)[0].splitlines()


def shows(text: str) -> Callable[[str], bool]:
    return lambda details: any(text in line for line in recent(details)) if "**Recent:**" in details else False


async def test_ignored_inputs_and_staff_actions_are_in_the_recent_list(ts_env, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        await move_to_next_monday(ts_env, hour=10)
        handle = await start_journey(client, task_queue, make_deal(account={"timezone": "Asia/Tokyo"}))
        status = await advance_until(ts_env, handle, told("first_action"), step=timedelta(minutes=10))

        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uplaoded", event_id="t-1"))
        await details_until(handle, shows("action taken: dataset_uplaoded (no milestone listens for this event"))

        failed = ActionFailed(action="dataset_uploaded", reason="CSV is over 50 MB", event_id="f-1")
        await handle.signal(OnboardingWorkflow.action_failed, failed)
        await details_until(handle, shows("action failed: dataset_uploaded: CSV is over 50 MB"))
        await handle.signal(OnboardingWorkflow.action_failed, failed)  # redelivered: counted once
        details = await details_until(handle, shows("duplicate event ignored: f-1"))
        assert "1 failed attempt" in details

        await handle.signal(OnboardingWorkflow.owner_acknowledged, OwnerAcknowledged(by="maya"))
        await details_until(handle, shows("acknowledgement ignored: maya: not the owner (`leo`)"))

        assert status.next_action is not None and status.next_action.due_at is not None
        until = (status.next_action.due_at + timedelta(days=1)).isoformat()
        await handle.execute_update("extend_deadline", {"until": until, "by": "maya"})
        await details_until(
            handle, lambda d: any("due time moved to" in line and "by maya" in line for line in recent(d))
        )
        await handle.execute_update("pause", {"by": "maya", "reason": "customer on holiday"})
        await details_until(handle, shows("pause: paused by maya: customer on holiday"))
        await handle.execute_update("resume", {"by": "ana"})
        details = await details_until(handle, shows("resume: resumed by ana"))
        assert len(recent(details)) == 5  # the last five, newest last

        await handle.signal(
            OnboardingWorkflow.help_requested, HelpRequested(message="where is the import?", event_id="h-1")
        )
        await details_until(handle, shows("help requested: where is the import?"))
        # ended here, so nothing (the escalation's task) is left in flight for the next test
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
