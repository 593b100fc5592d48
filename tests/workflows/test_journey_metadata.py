"""The event history reads like a story: every activity and timer carries a summary, and
the current details are rewritten at each transition (time-skipping server)."""

import json
from datetime import timedelta
from typing import cast

from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata

from contracts.signals import Cancel, HelpRequested
from contracts.status import OnboardingState
from privacy.codec import EncryptionCodec
from tests.harness.privacy_keys import CONVERTER
from tests.harness.support import (
    advance_until,
    make_deal,
    move_to_next_monday,
    sent,
    start_journey,
)
from workflows.onboarding import OnboardingWorkflow


def summary(event) -> str:
    """An activity's or timer's summary, decrypted (metadata goes through the codec too)."""
    if not event.HasField("user_metadata"):
        return ""
    assert event.user_metadata.summary.metadata["encoding"] == b"binary/encrypted"
    [plain] = [cast(EncryptionCodec, CONVERTER.payload_codec).decrypt(event.user_metadata.summary)]
    return json.loads(plain.data)


async def current_details(handle) -> str:
    return (await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)).current_details


async def test_activities_and_timers_have_summaries_and_details_follow_the_state(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client) as task_queue:
        await move_to_next_monday(ts_env, hour=8)
        handle = await start_journey(client, task_queue, make_deal(account={"timezone": "Asia/Tokyo"}))
        await advance_until(ts_env, handle, lambda s: bool(sent(s, "clarify")))
        details = await current_details(handle)
        assert "**State:** clarifying" in details
        assert "**Owner:** `leo`" in details
        assert (
            "**Next action:** Upload your first dataset — due " in details
            and "Asia/Tokyo" in details
            and "UTC)" in details
        )
        assert "**Eligible touchpoints:** simplify, redirect" in details

        await handle.signal(OnboardingWorkflow.help_requested, HelpRequested(message="?", event_id="h-1"))
        await advance_until(ts_env, handle, lambda s: s.state is OnboardingState.escalated, step=timedelta(minutes=1))
        details = await current_details(handle)
        assert "**State:** escalated" in details and "**Escalation level:** 1" in details
        assert "1 help request" not in details  # taken up by the escalation
        assert (
            "**Counts:** 2 messages sent · 1 follow-up in this milestone · 0 failed attempts · 1 escalation" in details
        )  # direction, clarify

        # The state says escalated as the task is being created; the SLA timer starts once the
        # task is in the records. Let a little virtual time pass until it has (bounded).
        for _ in range(60):
            history = await handle.fetch_history()
            timers = [summary(e) for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]
            if timers[-1].startswith("escalation level"):
                break
            await ts_env.sleep(timedelta(seconds=1))
        scheduled = [summary(e) for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
        # since v3.9 the moments are activities too, named by what they record: the kickoff's
        # first two before its wait for business hours
        assert scheduled[2] == "record moments started, owner_assigned"
        activities = [s for s in scheduled if not s.startswith("record moments ")]
        assert activities[:3] == [
            "snapshot the playbook for smb/analytics",
            "assign one owner (smb)",
            "email direction 'Upload your first dataset' to the customer",
        ]
        assert "email clarify 'Upload your first dataset' to the customer" in activities
        assert activities[-1] == "human task for Leo Martins (owner, level 1)"
        assert all(activities) and all(timers)
        assert timers[0].startswith("hold the direction for business hours: Mon")
        assert any(
            t.startswith("wait for 'Upload your first dataset' until Thu") and "09:00 Asia/Tokyo" in t for t in timers
        )
        assert timers[-1] == "escalation level 1: wait up to 24h for a decision"
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
