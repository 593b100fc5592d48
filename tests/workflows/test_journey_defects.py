"""Regression tests for the defects real traffic found in the journey (issue 8, defects 1-7
and 9; the owner-capacity defect has its own module). Each test is named after its defect
and failed on the journey before v3.

Time-skipping server for most; a dev server that suggests continue-as-new after a few
hundred events for the ones about long histories."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import UTC, timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowUpdateFailedError

import worker
from contracts.journey import JourneyInput
from contracts.status import OnboardingState, Status
from lab.drive import told as told_at
from tests.harness.support import (
    advance_until,
    always_open,
    assert_replays,
    make_deal,
    start_journey,
    status,
    wait_for_status,
    write_playbook,
)
from tests.harness.traffic import chain, dev_server, held_worker, paced, send_all
from workflows.inbox import SEEN_AT_MOST
from workflows.onboarding import OnboardingWorkflow

MINUTE = timedelta(minutes=1)
SUGGEST_AFTER = 300  # events in one run before the dev server suggests continue-as-new


@pytest_asyncio.fixture(scope="module")
async def chatty_env():
    async with dev_server(SUGGEST_AFTER) as env:
        yield env


told = told_at("first_action")  # the customer has been told the first action (lab/drive.py)


def entries(s: Status, event: str) -> list[str]:
    return [e.detail for e in s.timeline if e.event == event]


async def noted(handle, event: str, detail: str, seconds: float = 20.0) -> Status:
    """The journey's timeline shows `event` with `detail` (real-time poll, bounded)."""
    return await wait_for_status(handle, lambda s: detail in entries(s, event), seconds=seconds)


async def ended(handle, seconds: float = 30.0):
    return await asyncio.wait_for(handle.result(), seconds)


# ------------------------------------------------------------------ 1. cancel across continue-as-new


async def test_cancel_is_not_lost_across_continue_as_new(ts_env, tmp_path):
    """A cancel that arrives while the kickoff is being sent, right before the journey hands
    over to a new run (continue_as_new_after=1), closes it; nothing is sent after."""
    client = ts_env.client
    playbooks = write_playbook(tmp_path / "playbooks", always_open)
    async with held_worker(client, tmp_path, playbooks) as (task_queue, send, _):
        send.close()
        handle = await start_journey(client, task_queue, make_deal(), continue_as_new_after=1)
        await asyncio.wait_for(send.waiting.wait(), 20)  # the kickoff is on its way
        await handle.signal("cancel", {"reason": "deal lost"})
        await noted(handle, "cancel", "deal lost")
        send.open()
        result = await ended(handle)
        assert result.state is OnboardingState.closed and result.reason == "cancelled: deal lost"
        history = await chain(client, handle)
        assert history.customer_messages() == ["direction"]
        assert [r.kind for r in send.calls] == ["direction"]
        await assert_replays(handle)


async def test_cancel_is_not_lost_when_the_server_suggests_continue_as_new(chatty_env, tmp_path):
    """A long history (the server suggests continue-as-new), a help email in flight, then a
    cancel: the journey closes instead of going on in a new run."""
    client = chatty_env.client
    playbooks = write_playbook(tmp_path / "playbooks", always_open)
    async with held_worker(client, tmp_path, playbooks) as (task_queue, send, _):
        handle = await start_journey(client, task_queue, make_deal())
        await wait_for_status(handle, told)
        send.close()
        await handle.signal("action_failed", {"action": "dataset_uploaded", "reason": "no header", "event_id": "f-1"})
        await asyncio.wait_for(send.waiting.wait(), 20)  # the help email is on its way
        duplicate = ("action_taken", [{"action": "report_viewed", "event_id": "dup-1"}])
        await send_all(handle, [duplicate] * SUGGEST_AFTER)  # past the suggestion
        await handle.signal("cancel", {"reason": "deal lost"})
        send.open()
        result = await ended(handle)
        assert result.state is OnboardingState.closed and result.reason == "cancelled: deal lost"
        history = await chain(client, handle)
        assert history.customer_messages() == ["direction", "help"]
        assert not history.worker_task_failures()


# ------------------------------------------------------------------ 2. malformed signals


MALFORMED = [
    # (signal, raw arguments, what the journey's timeline says)
    ("cancel", [], "cancel: no input; expected an object with reason"),
    ("cancel", [{"reason": "a"}, {"reason": "b"}], "cancel: expected one input, got 2"),
    ("cancel", [{"reason": 5}], "cancel: reason: Input should be a valid string"),
    ("cancel", ["deal lost"], "cancel: input must be an object with reason, got str"),
    ("action_failed", [{"action": "dataset_uploaded", "reason": "x"}], "action_failed: event_id: Field required"),
    (
        "action_taken",
        [{"action": "dataset_uploaded", "event_id": "e-9", "colour": "red"}],
        "action_taken: colour: Extra inputs are not permitted",
    ),
    (
        "help_requested",
        [{"message": "x" * 10_000, "event_id": "h-10k"}],
        "help_requested: message: String should have at most 2000 characters",
    ),
    (
        "help_requested",
        [{"message": "y" * 1_900_000, "event_id": "h-1.9m"}],
        "help_requested: message: String should have at most 2000 characters",
    ),
    ("cancle", [{"reason": "typo"}], "cancle: no such signal (see the journey's signal list)"),
]


async def test_malformed_signal_never_fails_a_workflow_task_and_is_shown_refused(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told, step=MINUTE)
        for count, (name, args, shown) in enumerate(MALFORMED, start=1):
            await handle.signal(name, args=args)
            now = await wait_for_status(handle, lambda s, n=count: s.refused_inputs == n)
            assert entries(now, "ignored")[-1] == shown, name
            assert now.state is OnboardingState.awaiting_action and now.stage == "first_action"  # nothing else changed
            metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
            assert f"ignored: {shown}" in metadata.current_details  # where staff look
        assert not (await chain(client, handle)).task_failures()
        assert "y" * 100 not in json.dumps((await status(handle)).model_dump(mode="json"))  # refusals quote no text

        # still in charge of itself: a correct cancel closes it
        await handle.signal("cancel", {"reason": "deal lost"})
        result = await ended(handle)
        assert result.state is OnboardingState.closed and result.reason == "cancelled: deal lost"
        assert not (await chain(client, handle)).task_failures()
        await assert_replays(handle)


# ------------------------------------------------------------------ 3. a chatty product


async def test_chatty_product_does_not_make_the_journey_deaf(chatty_env, tmp_path, journeys):
    """Thousands of duplicates and events for other steps: the journey continues as new
    whenever the server suggests it, keeps answering, and still hears the real action."""
    client = chatty_env.client
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await wait_for_status(handle, told)
        duplicate = ("action_taken", [{"action": "dataset_previewed", "event_id": "dup-1"}])
        later_step = [("action_taken", [{"action": "teammates_invited", "event_id": f"t-{i}"}]) for i in range(1_000)]
        await paced(handle, [duplicate] * 2_000 + later_step)  # status answers after every batch
        assert (await status(handle)).stage == "first_action"  # nothing moved

        await handle.signal("action_taken", {"action": "dataset_uploaded", "event_id": "real-1"})
        moved = await wait_for_status(handle, lambda s: s.stage == "first_value" and s.next_action.due_at is not None)
        assert moved.state is OnboardingState.awaiting_action
        await handle.signal("cancel", {"reason": "test over"})
        result = await ended(handle)
        assert result.state is OnboardingState.closed
        history = await chain(client, handle)
        assert len(history.runs) >= 3 and result.runs == len(history.runs)  # it handed over, more than once
        assert max(len(r.events) for r in history.runs) < 3 * SUGGEST_AFTER  # no run grew without bound
        assert not history.worker_task_failures()


# ------------------------------------------------------------------ 4. unbounded queues


CARRIED_AT_MOST = 400_000  # bytes of JourneyInput a run hands to the next; see docs/support.md


async def test_unbounded_queues_failure_flood_keeps_the_carried_state_small(chatty_env, tmp_path, journeys):
    """5,000 failed attempts with 1 KB reasons: coalesced into one count with the latest
    reason, so what the journey carries into its next run stays small."""
    client = chatty_env.client
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await wait_for_status(handle, told)
        failures = [
            ("action_failed", [{"action": "dataset_uploaded", "reason": f"{i:05d}" + "r" * 995, "event_id": f"f-{i}"}])
            for i in range(5_000)
        ]
        await paced(handle, failures)
        await handle.signal("flood_over", {})  # refused, after everything else: all is processed
        flooded = await wait_for_status(handle, lambda s: s.refused_inputs == 1, seconds=60)
        assert flooded.state is OnboardingState.escalated
        assert flooded.reason.endswith("failed attempts at 'dataset_uploaded'")
        await handle.signal("cancel", {"reason": "test over"})
        await ended(handle)
        history = await chain(client, handle)
        assert len(history.runs) >= 2
        sizes = history.carried_sizes()
        carried = [JourneyInput.model_validate(c).carried for c in history.carried()]
        state_sizes = [len(c.model_dump_json()) for c in carried if c is not None]
        print(
            f"\nfailure flood: {len(sizes)} hand-overs, largest JourneyInput {max(sizes):,} B, "
            f"largest JourneyState {max(state_sizes):,} B"
        )
        assert max(sizes) < CARRIED_AT_MOST
        for state in carried:
            assert state is not None
            assert all(len(t.reason) <= 200 for t in state.inbox.failures.values())
        assert history.customer_messages().count("help") <= 2  # one answer per wake, not per failure
        assert not history.worker_task_failures()


async def test_unbounded_queues_help_flood_gives_one_escalation(ts_env, tmp_path, journeys):
    """1,100 help requests at once: one escalation; once staff resolve it, the requests that
    came in meanwhile do not open the next one."""
    client = ts_env.client
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told, step=MINUTE)
        requests = [("help_requested", [{"message": f"help #{i}", "event_id": f"h-{i}"}]) for i in range(1_100)]
        await send_all(handle, requests)
        await handle.signal("flood_over", {})
        flooded = await wait_for_status(handle, lambda s: s.refused_inputs == 1, seconds=60)
        assert flooded.state is OnboardingState.escalated
        after = await handle.execute_update(
            OnboardingWorkflow.resolve_escalation, {"decision": "retry", "by": "maya", "note": "called them"}
        )
        assert after.state is OnboardingState.awaiting_action
        calm = await advance_until(ts_env, handle, told, step=MINUTE)
        await ts_env.sleep(timedelta(hours=2))
        calm = await status(handle)
        assert calm.state is OnboardingState.awaiting_action and calm.escalation_level == 0
        history = await chain(client, handle)
        assert history.escalation_tasks() == 1
        await handle.signal("cancel", {"reason": "test over"})
        result = await ended(handle)
        assert result.escalations == 1
        await assert_replays(handle)


def test_unbounded_queues_the_largest_state_a_journey_can_carry():
    """Every bounded piece of the inbox filled to its cap with the longest text allowed:
    the journey state stays well under the server's 2 MB payload limit."""
    from datetime import datetime

    from contracts.journey import Inbox
    from contracts.signals import ActionFailed, HelpRequested
    from workflows import inbox

    now = datetime(2026, 11, 20, tzinfo=UTC)
    box = Inbox()
    for i in range(SEEN_AT_MOST):  # the most it keeps before forgetting the oldest
        inbox.first_time(box, f"event-{i:06d}-" + "x" * 200, now)
    for i in range(inbox.ACTIONS_AT_MOST + 10):
        action = f"{i:03d}" + "a" * 125
        inbox.record_failure(box, ActionFailed(action=action, reason="r" * 1000, event_id=f"f-{i}"))
        box.taken[action] = now
    inbox.record_help(box, HelpRequested(message="h" * 2000, event_id="h-1"))
    for _ in range(200):
        inbox.note(box, now, "e" * 100, "d" * 1000)
    box.acknowledged_by = ["b" * 128] * 10
    size = len(box.model_dump_json())
    print(f"\nfullest inbox: {size:,} B")
    assert len(box.seen) == SEEN_AT_MOST and len(box.failures) == inbox.ACTIONS_AT_MOST
    assert len(box.timeline) == inbox.TIMELINE_LENGTH
    assert size < CARRIED_AT_MOST - 50_000  # room for the deal, the playbook snapshot and the rest

    # one more id: the oldest go at once, the newest stay known
    assert inbox.first_time(box, "one-more", now)
    assert len(box.seen) == inbox.SEEN_KEPT
    assert not inbox.first_time(box, f"event-{SEEN_AT_MOST - 1:06d}-" + "x" * 200, now)
    assert inbox.first_time(box, "event-000000-" + "x" * 200, now)  # the oldest was forgotten


# ------------------------------------------------------------------ 5. dedupe after a flood


async def test_dedupe_window_remembers_a_failure_redelivered_after_a_flood(ts_env, tmp_path, journeys):
    """A failure redelivered hours later, after 1,500 other event ids: ignored (no second
    help email, no escalation from one real failure)."""
    client = ts_env.client
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told, step=MINUTE)
        failure = {"action": "dataset_uploaded", "reason": "CSV has no header", "event_id": "f-1"}
        await handle.signal("action_failed", failure)
        await advance_until(ts_env, handle, lambda s: bool(entries(s, "sent help")), step=MINUTE)
        others = [("action_taken", [{"action": "report_viewed", "event_id": f"view-{i}"}]) for i in range(1_500)]
        await send_all(handle, others)
        await ts_env.sleep(timedelta(hours=6))  # CRMs and pipelines redeliver hours later
        await handle.signal("action_failed", failure)
        await noted(handle, "duplicate event ignored", "f-1")
        await ts_env.sleep(timedelta(hours=1))  # room for a second effect, were there one
        now = await status(handle)
        assert now.state is OnboardingState.awaiting_action and now.escalation_level == 0
        history = await chain(client, handle)
        assert history.customer_messages() == ["direction", "help"]
        assert history.escalation_tasks() == 0
        await handle.signal("cancel", {"reason": "test over"})
        await ended(handle)
        await assert_replays(handle)


# ------------------------------------------------------------------ 6. two staff decisions at once


async def escalated_journey(env, client, task_queue):
    handle = await start_journey(client, task_queue, make_deal())
    await advance_until(env, handle, told, step=MINUTE)
    await handle.signal("help_requested", {"message": "stuck on SSO", "event_id": "h-1"})
    await advance_until(env, handle, lambda s: s.state is OnboardingState.escalated, step=MINUTE)
    return handle


async def refusal(handle, update: str, body: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, body)
    return str(refused.value.cause)


async def test_two_staff_decisions_one_applies_while_the_other_is_refused(ts_env, tmp_path):
    """A second decision while a reassign waits for the roster is refused; the reassign
    answers; no stale decision resolves the customer's next request for help."""
    client = ts_env.client
    async with held_worker(client, tmp_path, write_playbook(tmp_path / "pb", always_open)) as (task_queue, _, assign):
        handle = await escalated_journey(ts_env, client, task_queue)
        assign.close()
        reassign = asyncio.create_task(
            handle.execute_update(
                OnboardingWorkflow.resolve_escalation, {"decision": "reassign", "owner": "maya", "by": "dana"}
            )
        )
        await asyncio.wait_for(assign.waiting.wait(), 20)  # the reassign waits for the roster
        for second in ({"decision": "retry", "by": "leo"}, {"decision": "close", "by": "leo"}):
            assert "another staff action (resolve_escalation) is being applied" in await refusal(
                handle, "resolve_escalation", second
            )
        assert "another staff action" in await refusal(handle, "reassign_owner", {"owner": "priya", "by": "leo"})
        assign.open()
        applied = await asyncio.wait_for(reassign, 20)
        assert applied.owner == "maya" and applied.state is OnboardingState.awaiting_action

        # the customer asks again: a new escalation that waits for a human, not a stale decision
        await advance_until(
            ts_env, handle, lambda s: s.waiting_on == "customer" and s.next_action.due_at is not None, step=MINUTE
        )
        await handle.signal("help_requested", {"message": "still stuck", "event_id": "h-2"})
        again = await advance_until(ts_env, handle, lambda s: s.state is OnboardingState.escalated, step=MINUTE)
        await ts_env.sleep(timedelta(hours=1))
        assert (await status(handle)).state is OnboardingState.escalated and again.owner == "maya"
        closed = await handle.execute_update(OnboardingWorkflow.resolve_escalation, {"decision": "close", "by": "dana"})
        assert closed.state is OnboardingState.closed
        assert (await ended(handle)).state is OnboardingState.closed
        await assert_replays(handle)


async def test_two_staff_decisions_sent_together_exactly_one_applies(ts_env, tmp_path, journeys):
    """A reassign and a close sent at the same moment: exactly one applies, the other is
    refused, and the journey ends (it never shows closed while still running)."""
    client = ts_env.client
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
        handle = await escalated_journey(ts_env, client, task_queue)
        outcomes = await asyncio.gather(
            handle.execute_update(
                OnboardingWorkflow.resolve_escalation, {"decision": "reassign", "owner": "maya", "by": "dana"}
            ),
            handle.execute_update(OnboardingWorkflow.resolve_escalation, {"decision": "close", "by": "leo"}),
            return_exceptions=True,
        )
        applied = [o for o in outcomes if isinstance(o, Status)]
        refused = [o for o in outcomes if isinstance(o, WorkflowUpdateFailedError)]
        assert len(applied) == 1 and len(refused) == 1, outcomes
        if applied[0].state is not OnboardingState.closed:
            await handle.signal("cancel", {"reason": "test over"})
        result = await ended(handle)  # completed: not "closed" while still running
        assert result.state is OnboardingState.closed
        await assert_replays(handle)


async def test_two_staff_decisions_a_decision_the_escalation_outlived_is_not_applied(ts_env, tmp_path):
    """The customer acts while a reassign waits for the roster: the escalation ends, the
    reassign answers "not applied", and staff can act on the journey again."""
    client = ts_env.client
    async with held_worker(client, tmp_path, write_playbook(tmp_path / "pb", always_open)) as (task_queue, _, assign):
        handle = await escalated_journey(ts_env, client, task_queue)
        assign.close()
        reassign = asyncio.create_task(
            handle.execute_update(
                OnboardingWorkflow.resolve_escalation, {"decision": "reassign", "owner": "maya", "by": "dana"}
            )
        )
        await asyncio.wait_for(assign.waiting.wait(), 20)
        await handle.signal("action_taken", {"action": "dataset_uploaded", "event_id": "e-1"})
        await wait_for_status(handle, lambda s: s.stage == "first_value")
        assign.open()
        with pytest.raises(WorkflowUpdateFailedError) as late:
            await asyncio.wait_for(reassign, 20)
        assert "not applied" in str(late.value.cause)
        moved = await advance_until(
            ts_env, handle, lambda s: s.stage == "first_value" and s.next_action.due_at is not None, step=MINUTE
        )
        assert moved.owner == "leo" and moved.state is OnboardingState.awaiting_action
        paused = await handle.execute_update(OnboardingWorkflow.pause, {"by": "dana"})  # staff actions work again
        assert paused.paused
        await handle.signal("cancel", {"reason": "test over"})
        assert (await ended(handle)).state is OnboardingState.closed
        await assert_replays(handle)


async def test_two_staff_decisions_a_cancel_during_a_reassign_ends_the_journey(ts_env, tmp_path):
    """The deal is lost while a reassign waits for the roster: the journey closes and
    completes; the reassign answers "not applied"."""
    client = ts_env.client
    async with held_worker(client, tmp_path, write_playbook(tmp_path / "pb", always_open)) as (task_queue, _, assign):
        handle = await escalated_journey(ts_env, client, task_queue)
        assign.close()
        reassign = asyncio.create_task(
            handle.execute_update(
                OnboardingWorkflow.resolve_escalation, {"decision": "reassign", "owner": "maya", "by": "dana"}
            )
        )
        await asyncio.wait_for(assign.waiting.wait(), 20)
        await handle.signal("cancel", {"reason": "deal lost"})
        await noted(handle, "cancel", "deal lost")
        assign.open()
        with pytest.raises(WorkflowUpdateFailedError) as late:
            await asyncio.wait_for(reassign, 20)
        assert "not applied" in str(late.value.cause)
        result = await ended(handle)
        assert result.state is OnboardingState.closed and result.reason == "cancelled: deal lost"
        await assert_replays(handle)


# ------------------------------------------------------------------ 7. the customer while the owner acknowledges


def acknowledgement(before_kickoff: bool):
    def change(playbook: dict[str, Any]) -> None:
        always_open(playbook)
        playbook["owner_acknowledgement"] = {"hours": 4, "before_kickoff": before_kickoff}

    return change


async def test_customer_action_counts_while_waiting_for_the_owner_acknowledgement(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", acknowledgement(True))) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        waiting = await advance_until(ts_env, handle, lambda s: s.waiting_on == "owner", step=MINUTE)
        assert waiting.reason.startswith("waiting for owner acknowledgement")
        assert waiting.next_action is not None and waiting.next_action.due_at is not None  # the owner has a due time
        assert "acknowledges" in waiting.next_action.title

        await handle.signal("action_taken", {"action": "dataset_uploaded", "event_id": "e-1"})
        moved = await wait_for_status(handle, lambda s: s.stage == "first_value")
        assert moved.state is OnboardingState.awaiting_action
        await handle.signal("cancel", {"reason": "test over"})
        result = await ended(handle)
        assert [(m.key, m.outcome) for m in result.milestones] == [("first_action", "completed")]
        assert result.time_to_first_action_seconds is not None
        assert (await chain(client, handle)).customer_messages() == ["direction"]  # first_value's, as a reply
        await assert_replays(handle)


async def test_customer_is_told_at_once_while_the_owner_acknowledges_beside_it(ts_env, tmp_path, journeys):
    """Default: the kickoff goes out at once naming the owner; a silent owner is replaced
    after the acknowledgement hours without the customer being told twice."""
    client = ts_env.client
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", acknowledgement(False))) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        kicked = await advance_until(ts_env, handle, told, step=MINUTE)
        started = next(e.at for e in kicked.timeline if e.detail.startswith("owner Leo Martins assigned"))
        assert entries(kicked, "sent direction") and kicked.owner == "leo"
        sent_at = next(e.at for e in kicked.timeline if e.event == "sent direction")
        assert sent_at - started < MINUTE  # not held for the owner
        [kickoff] = (await chain(client, handle)).messages()
        assert kickoff["kind"] == "direction" and kickoff["context"]["owner_name"] == "Leo Martins"

        # the new owner is in place one activity (its moment) before the timeline says why
        replaced = await advance_until(
            ts_env,
            handle,
            lambda s: s.owner == "maya" and any("did not acknowledge" in e.detail for e in s.timeline),
            step=timedelta(minutes=30),
        )
        assert any(
            "did not acknowledge within 4 business hours; owner reassigned to Maya Chen" in e.detail
            for e in replaced.timeline
        )
        assert replaced.state is OnboardingState.awaiting_action and replaced.waiting_on == "customer"
        assert (await chain(client, handle)).customer_messages() == ["direction"]  # not told twice
        await handle.signal("cancel", {"reason": "test over"})
        assert (await ended(handle)).owner == "maya"
        await assert_replays(handle)


# ------------------------------------------------------------------ 9. smaller


async def test_extend_deadline_to_year_9999_is_refused_naming_until(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        before = await advance_until(ts_env, handle, told, step=MINUTE)
        for until in ("9999-12-31T23:59:59+00:00", "9999-12-31T00:00:00-12:00"):
            assert "until" in await refusal(handle, "extend_deadline", {"until": until, "by": "maya"})
        far = (await ts_env.get_current_time()) + timedelta(days=400)
        assert "until: at most 365 days from now" in await refusal(
            handle, "extend_deadline", {"until": far.isoformat(), "by": "maya"}
        )
        assert (await status(handle)).next_action.due_at == before.next_action.due_at  # nothing changed
        assert not (await chain(client, handle)).task_failures()
        await handle.signal("cancel", {"reason": "test over"})
        await ended(handle)
        await assert_replays(handle)


async def test_refused_signal_text_never_reaches_the_worker_log(ts_env, tmp_path, journeys):
    """A refused signal is logged (if at all) without what the sender wrote: customer text
    stays out of logs."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    worker.configure_logging(stream=stream, cache=False)
    secret = "ana.private@acme.example +1 555 0100"
    try:
        client = ts_env.client
        async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
            handle = await start_journey(client, task_queue, make_deal())
            await advance_until(ts_env, handle, told, step=MINUTE)
            await handle.signal("help_requested", {"message": secret, "event_id": 7})
            await handle.signal("cancel", {"reason": 5, "note": secret})
            await handle.signal("help_requested", {"message": secret * 100, "event_id": "h-1"})
            await wait_for_status(handle, lambda s: s.refused_inputs == 3)
            await handle.signal("cancel", {"reason": "test over"})
            await ended(handle)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    assert stream.getvalue()  # the worker did log
    assert "ana.private" not in stream.getvalue() and "555 0100" not in stream.getvalue()


async def test_chatty_product_while_the_kickoff_waits_for_the_owner_loses_nothing(chatty_env, tmp_path, journeys):
    """Continue-as-new while the kickoff waits for the owner (before_kickoff): the next run
    waits on for the owner instead of sending the kickoff unacknowledged."""
    client = chatty_env.client
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", acknowledgement(True))) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "owner")
        duplicate = ("action_taken", [{"action": "dataset_previewed", "event_id": "dup-1"}])
        await paced(handle, [duplicate] * (2 * SUGGEST_AFTER))
        await handle.signal("flood_over", {})
        still = await wait_for_status(handle, lambda s: s.refused_inputs == 1)
        assert len((await chain(client, handle)).runs) >= 2  # it handed over
        assert still.waiting_on == "owner" and not entries(still, "sent direction")
        assert (await chain(client, handle)).customer_messages() == []

        await handle.signal("owner_acknowledged", {"by": "leo"})
        kicked = await wait_for_status(handle, told)
        assert kicked.owner == "leo"
        assert (await chain(client, handle)).customer_messages() == ["direction"]
        await handle.signal("cancel", {"reason": "test over"})
        await ended(handle)
        assert not (await chain(client, handle)).worker_task_failures()
