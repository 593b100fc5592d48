"""What the customer reads when the journey says something again: a staff `retry` sends the
milestone's `retry` message (the direction without one), the second help in a milestone its
`help_again` message (`help` without one), and a failed attempt repeating the help just sent
(same action, same reason, within `help_coalesce_minutes`) gets no second, identical email:
the timeline notes it and it still counts toward the failure escalation (v3.10; a v3.9
journey sends both and replays on this code). The fake world on the time-skipping server."""

from datetime import timedelta
from typing import Any

from temporalio.api.sdk.v1 import WorkflowMetadata

from contracts.signals import ActionFailed, Cancel, HelpRequested
from contracts.staff import ResolveEscalation
from tests.harness.support import (
    MINUTE,
    advance_until,
    always_open,
    assert_replays,
    escalated,
    make_deal,
    sent,
    start_journey,
    told,
    write_playbook,
)
from tests.harness.versions import OnboardingWorkflowV39
from workflows.onboarding import OnboardingWorkflow

RETRY = {
    "subject": "Let's try that again: {{ action_title }}",
    "body": "Hi {{ customer_name }},\n\nLet's try that again: {{ action_instruction }}\n\n{{ cta_url }}\n",
}
HELP_AGAIN = {
    "subject": "Still stuck? Here is another way",
    "body": "Hi {{ customer_name }},\n\nThat did not work again ({{ reason }}). Try this: {{ cta_url }}\n",
}
DIRECTION_SUBJECT = "{{ account_name }}: your one first step"
HELP_SUBJECT = "Let's get that upload working"


def playbook(*, retry: bool = False, help_again: bool = False, coalesce: float | None = None):
    def change(data: dict[str, Any]) -> None:
        always_open(data)
        data["escalation"]["after_failed_attempts"] = 5
        first = data["milestones"][0]
        if retry:
            first["retry"] = RETRY
        if help_again:
            first["help_again"] = HELP_AGAIN
        if coalesce is not None:
            first["help_coalesce_minutes"] = coalesce

    return change


def subjects(effects, kind: str) -> list[str]:
    return [m.template.subject for m in effects.messages if m.kind == kind]


def failed(event_id: str, reason: str = "CSV has no header") -> ActionFailed:
    return ActionFailed(action="dataset_uploaded", reason=reason, event_id=event_id)


def helps(n: int):
    return lambda s: len(sent(s, "help")) == n


def coalesced(n: int):
    return lambda s: sum(e.event == "help not sent again" for e in s.timeline) == n


async def retried_subjects(env, tmp_path, journeys, change) -> list[str]:
    client = env.client
    async with journeys(client, effects="fake", playbooks=write_playbook(tmp_path / "pb", change)) as (queue, effects):
        handle = await start_journey(client, queue, make_deal())
        await advance_until(env, handle, told("first_action"), step=MINUTE)
        await handle.signal(OnboardingWorkflow.help_requested, HelpRequested(message="stuck", event_id="h-1"))
        await advance_until(env, handle, escalated, step=MINUTE)
        await handle.execute_update("resolve_escalation", ResolveEscalation(decision="retry", by="maya"))
        await advance_until(env, handle, lambda s: len(sent(s)) == 2, step=MINUTE)
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
    await assert_replays(handle)
    return subjects(effects, "direction")


async def test_a_retry_sends_the_retry_message(ts_env, tmp_path, journeys):
    assert await retried_subjects(ts_env, tmp_path, journeys, playbook(retry=True)) == [
        DIRECTION_SUBJECT,
        RETRY["subject"],
    ]


async def test_without_a_retry_message_a_retry_sends_the_direction_again(ts_env, tmp_path, journeys):
    assert await retried_subjects(ts_env, tmp_path, journeys, playbook()) == [DIRECTION_SUBJECT, DIRECTION_SUBJECT]


async def test_the_second_help_is_the_help_again_message(ts_env, tmp_path, journeys):
    client = ts_env.client
    change = playbook(help_again=True)
    async with journeys(client, effects="fake", playbooks=write_playbook(tmp_path / "pb", change)) as (queue, effects):
        handle = await start_journey(client, queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-1"))
        await advance_until(ts_env, handle, helps(1), step=MINUTE)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-2", "file too large"))
        await advance_until(ts_env, handle, helps(2), step=MINUTE)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-3", "wrong delimiter"))
        await advance_until(ts_env, handle, helps(3), step=MINUTE)
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
    assert subjects(effects, "help") == [HELP_SUBJECT, HELP_AGAIN["subject"], HELP_AGAIN["subject"]]
    await assert_replays(handle)


async def test_identical_help_within_the_window_is_sent_once_and_noted(ts_env, tmp_path, journeys):
    client = ts_env.client
    change = playbook(coalesce=30)
    async with journeys(client, effects="fake", playbooks=write_playbook(tmp_path / "pb", change)) as (queue, effects):
        handle = await start_journey(client, queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-1"))
        await advance_until(ts_env, handle, helps(1), step=MINUTE)
        # the same failure again, minutes later: counted, noted, not emailed twice
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-2"))
        quiet = await advance_until(ts_env, handle, coalesced(1), step=MINUTE)
        assert len(sent(quiet, "help")) == 1 and subjects(effects, "help") == [HELP_SUBJECT]
        [note] = [e for e in quiet.timeline if e.event == "help not sent again"]
        assert (
            "'dataset_uploaded' failed again for the same reason" in note.detail and "CSV has no header" in note.detail
        )
        # and where staff look in the Web UI: the journey's details, under Recent
        shown = (await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)).current_details
        assert "help not sent again: 'dataset_uploaded' failed again for the same reason" in shown
        # another reason is other help
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-3", "file too large"))
        await advance_until(ts_env, handle, helps(2), step=MINUTE)
        # the same reason as that help, once its window has passed: help again
        await ts_env.sleep(timedelta(minutes=31))
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-4", "file too large"))
        after = await advance_until(ts_env, handle, helps(3), step=MINUTE)
        assert sum(e.event == "help not sent again" for e in after.timeline) == 1
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
    assert effects.kinds() == ["direction", "help", "help", "help"]
    await assert_replays(handle)


async def test_a_coalesced_failure_still_counts_toward_the_escalation(ts_env, tmp_path, journeys):
    client = ts_env.client

    def two_failures_escalate(data: dict[str, Any]) -> None:
        playbook()(data)
        data["escalation"]["after_failed_attempts"] = 2

    change = two_failures_escalate
    async with journeys(client, effects="fake", playbooks=write_playbook(tmp_path / "pb", change)) as (queue, effects):
        handle = await start_journey(client, queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-1"))
        await advance_until(ts_env, handle, helps(1), step=MINUTE)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-2"))
        state = await advance_until(ts_env, handle, escalated, step=MINUTE)
        assert state.reason == "2 failed attempts at 'dataset_uploaded'"
        assert any(e.event == "help not sent again" for e in state.timeline)
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
    assert effects.kinds() == ["direction", "help"]
    await assert_replays(handle)


async def test_a_window_of_zero_sends_every_help(ts_env, tmp_path, journeys):
    client = ts_env.client
    change = playbook(coalesce=0)
    async with journeys(client, effects="fake", playbooks=write_playbook(tmp_path / "pb", change)) as (queue, effects):
        handle = await start_journey(client, queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-1"))
        await advance_until(ts_env, handle, helps(1), step=MINUTE)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-2"))
        await advance_until(ts_env, handle, helps(2), step=MINUTE)
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
    assert effects.kinds() == ["direction", "help", "help"]
    await assert_replays(handle)


async def test_a_v3_9_journey_sends_identical_help_twice_and_replays_on_this_code(ts_env, tmp_path, journeys):
    client = ts_env.client
    pb = write_playbook(tmp_path / "pb", playbook())
    async with journeys(client, effects="fake", playbooks=pb, journey=OnboardingWorkflowV39) as (queue, effects):
        handle = await start_journey(client, queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-1"))
        await advance_until(ts_env, handle, helps(1), step=MINUTE)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-2"))
        state = await advance_until(ts_env, handle, helps(2), step=MINUTE)
        assert not any(e.event == "help not sent again" for e in state.timeline)
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
    assert effects.kinds() == ["direction", "help", "help"]
    await assert_replays(handle)  # the current code: no marker, so it sends both again


async def test_after_a_retry_the_same_failure_gets_its_help_again(ts_env, tmp_path, journeys):
    """A human's retry starts the conversation over: the help sent before it holds nothing back."""
    client = ts_env.client
    change = playbook(help_again=True)
    async with journeys(client, effects="fake", playbooks=write_playbook(tmp_path / "pb", change)) as (queue, effects):
        handle = await start_journey(client, queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-1"))
        await advance_until(ts_env, handle, helps(1), step=MINUTE)
        await handle.signal(OnboardingWorkflow.help_requested, HelpRequested(message="stuck", event_id="h-1"))
        await advance_until(ts_env, handle, escalated, step=MINUTE)
        await handle.execute_update("resolve_escalation", ResolveEscalation(decision="retry", by="maya"))
        await advance_until(ts_env, handle, lambda s: len(sent(s)) == 2, step=MINUTE)
        await handle.signal(OnboardingWorkflow.action_failed, failed("f-2"))
        state = await advance_until(ts_env, handle, helps(2), step=MINUTE)
        assert not any(e.event == "help not sent again" for e in state.timeline)
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="test over"))
        await handle.result()
    assert effects.kinds() == ["direction", "help", "direction", "help"]
    assert subjects(effects, "help") == [HELP_SUBJECT, HELP_AGAIN["subject"]]  # still the second in the milestone
    await assert_replays(handle)
