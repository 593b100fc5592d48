"""A cancellation request (the Web UI's Request Cancellation, `temporal workflow cancel`,
`WorkflowHandle.cancel()`: one RPC) closes the journey as the `cancel` signal does, in every
wait (journey v3.8, patch `assignee-and-cancel-request`): state `closed` in the search
attribute, the current details, `status` and the result, the reason naming the request; the
owner's place released, the moments recorded, an open escalation's task cancelled. Before,
the workflow stopped as Canceled with none of that (a v3.7 run still does).

Time-skipping server, effects in memory (lab/fakes.py): the cleanup is asserted on them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, CancelledError

from activities.cancellation import cancellation_requester
from contracts.cancellation import CancellationRequester
from contracts.escalations import EscalationTask, EscalationTaskRequest
from contracts.journey import JourneyInput, JourneyResult, workflow_id_for
from contracts.messages import MessageRequest, SendReceipt
from contracts.owners import AssignOwnerRequest, OwnerAssignment, Released, ReleaseOwnerRequest
from contracts.search_attributes import ASSIGNEE, STATE
from contracts.staff import Pause
from contracts.status import OnboardingState
from lab.fakes import FakeEffects
from tests.conftest import TEMPORAL_CLI
from tests.harness.support import (
    MILESTONE_EVENTS,
    always_open,
    assert_replays,
    make_deal,
    start_journey,
    status,
    wait_for_status,
    write_playbook,
)
from tests.harness.versions import OnboardingWorkflowV37
from tests.playbooks.test_playbook_journeys import two_products
from tests.workflows.test_journey_holds import HOUR, has_marker, kinds, playbook, sleep_until, tuesday_10
from tests.workflows.test_journey_waiting_on import details, sunday_22, with_acknowledgement_before_kickoff
from workflows import versions
from workflows.cancellation import BY_REQUEST
from workflows.onboarding import OnboardingWorkflow


async def upserted(handle: WorkflowHandle, keys: tuple[str, ...] = (STATE.name, ASSIGNEE.name)) -> dict[str, Any]:
    """These search attributes as the journey's start and upserts left them (unset: absent)."""
    values: dict[str, Any] = {}
    for event in (await handle.fetch_history()).events:
        if event.HasField("workflow_execution_started_event_attributes"):
            fields = event.workflow_execution_started_event_attributes.search_attributes
        elif event.HasField("upsert_workflow_search_attributes_event_attributes"):
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
        else:
            continue
        for name in keys:
            if name in fields.indexed_fields:
                value = json.loads(fields.indexed_fields[name].data or b"null")
                if value is None:
                    values.pop(name, None)
                else:
                    values[name] = value
    return values


def closed_by_request(handle: WorkflowHandle) -> str:
    """The reason a request by this test's client leaves: its sender, read from the history."""
    return f"cancelled by {handle._client.identity} (cancellation request)"


async def cancel_and_assert_closed(
    handle: WorkflowHandle, effects: FakeEffects, requested: bool = False
) -> JourneyResult:
    """Request cancellation as the Web UI does (unless the test has `requested` it already);
    the journey ends Completed and closed, with the `cancel` signal's cleanup, and its
    history replays."""
    if not requested:
        await handle.cancel()
    result = await handle.result()
    assert result.state is OnboardingState.closed
    assert result.reason == closed_by_request(handle), result.reason
    last = (await handle.fetch_history()).events[-1]
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED  # not Canceled
    attributes = await upserted(handle)
    assert attributes[STATE.name] == "closed"
    assert ASSIGNEE.name not in attributes  # nobody has it any more
    shown = await details(handle)
    assert any(line.startswith("**State:** closed") for line in shown.splitlines()), shown
    after = await status(handle)
    assert after.state is OnboardingState.closed and after.reason == closed_by_request(handle)
    assert after.waiting_on == "nobody"
    # the cleanup: the owner's place, the moments
    assert effects.released == [handle.id]
    assert effects.owners.get(handle.id) is None
    recorded = effects.moment_kinds()
    assert recorded[-2:] == ["milestone_closed", "closed"], recorded
    assert await has_marker(handle, versions.ASSIGNEE_AND_CANCEL_REQUEST)
    await assert_replays(handle)
    return result


async def test_waiting_for_the_customer(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        await cancel_and_assert_closed(handle, effects)
        assert kinds(effects) == ["direction"]  # nothing went out after the request


async def test_waiting_for_the_owners_acknowledgement_before_the_kickoff(ts_env, tmp_path, journeys):
    client = ts_env.client
    books = playbook(tmp_path, with_acknowledgement_before_kickoff)
    async with journeys(client, effects="fake", playbooks=books) as (queue, effects):
        await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "owner")
        await cancel_and_assert_closed(handle, effects)
        assert kinds(effects) == []  # the kickoff never went out


async def test_escalated_the_open_task_is_cancelled(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        await sleep_until(ts_env, tue + HOUR)
        await handle.signal(OnboardingWorkflow.help_requested, {"message": "stuck", "event_id": "h-1"})
        await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated and s.waiting_on == "human")
        assert effects.tasks[(handle.id, 1)].status == "open"
        await cancel_and_assert_closed(handle, effects)
        task = effects.tasks[(handle.id, 1)]
        assert task.status == "cancelled" and task.note == closed_by_request(handle)


async def test_paused(ts_env, tmp_path, journeys):
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        await handle.execute_update(OnboardingWorkflow.pause, Pause(by="maya", reason="customer on holiday"))
        await wait_for_status(handle, lambda s: s.paused)
        await cancel_and_assert_closed(handle, effects)


async def test_held_for_business_hours(ts_env, tmp_path, journeys):
    """Closed Sunday 22:00 Chicago: the kickoff waits for Monday 09:00; the request closes it
    before it ever goes out."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        await sunday_22(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.stage == "first_action" and s.waiting_on == "journey")
        await cancel_and_assert_closed(handle, effects)
        assert kinds(effects) == []


class SlowKickoff(FakeEffects):
    """The kickoff's send takes as long as the test says: the request arrives while it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.sending, self.release = asyncio.Event(), asyncio.Event()

    @activity.defn(name="send_message")
    async def send_message(self, request: MessageRequest) -> SendReceipt:
        if request.kind == "direction":
            self.sending.set()
            await self.release.wait()
        return await super().send_message(request)


async def test_while_an_activity_runs(dev_env, tmp_path, journeys):
    """The request stops the journey's step at once (the activity is asked to stop and no
    longer awaited), and the journey closes with its cleanup. On the dev server: the
    time-skipping one stops skipping for good once an activity it handed out outlives its
    workflow."""
    client = dev_env.client
    slow = SlowKickoff()
    books = write_playbook(tmp_path / "playbooks", always_open)
    async with journeys(client, effects="fake", playbooks=books, fake=slow) as (queue, effects):
        handle = await start_journey(client, queue, make_deal())
        await asyncio.wait_for(slow.sending.wait(), 30)
        try:
            await cancel_and_assert_closed(handle, effects)
            assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
            assert await cut_short(handle)  # the kickoff's send was asked to stop, not awaited
        finally:
            slow.release.set()


async def request_taken(handle: WorkflowHandle, seconds: float = 30) -> None:
    """Until the journey has finished a workflow task after the cancellation request."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        kinds = [e.event_type for e in (await handle.fetch_history()).events]
        requested = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED
        if requested in kinds and EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in kinds[kinds.index(requested) :]:
            return
        assert asyncio.get_running_loop().time() < deadline, "the journey never took the request"
        await asyncio.sleep(0.05)


async def cut_short(handle: WorkflowHandle) -> bool:
    """Whether the journey asked an activity in flight to stop."""
    stop = EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED
    return any(e.event_type == stop for e in (await handle.fetch_history()).events)


class SlowAssignment(FakeEffects):
    """Taking the owner's place takes as long as the test says: the request arrives meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.assigning, self.assign = asyncio.Event(), asyncio.Event()

    @activity.defn(name="assign_owner")
    async def assign_owner(self, request: AssignOwnerRequest) -> OwnerAssignment:
        self.assigning.set()
        await self.assign.wait()
        return await super().assign_owner(request)


async def test_while_the_owner_is_being_assigned_the_place_taken_is_released(ts_env, tmp_path, journeys):
    """The request does not cut the assignment short (the place it takes would be lost): the
    journey gets its owner, sends nothing, closes and releases the place."""
    client = ts_env.client
    slow = SlowAssignment()
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path), fake=slow) as (queue, effects):
        await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await asyncio.wait_for(slow.assigning.wait(), 30)
        await handle.cancel()
        await request_taken(handle)
        slow.assign.set()
        await cancel_and_assert_closed(handle, effects, requested=True)
        assert kinds(effects) == []
        assert not await cut_short(handle)  # the place was taken, then released


class SlowTask(FakeEffects):
    """Creating the escalation's task takes as long as the test says: the request arrives meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.creating, self.create = asyncio.Event(), asyncio.Event()

    @activity.defn(name="create_escalation_task")
    async def create_escalation_task(self, request: EscalationTaskRequest) -> EscalationTask:
        self.creating.set()
        await self.create.wait()
        return await super().create_escalation_task(request)


async def test_while_the_escalations_task_is_being_created_it_is_cancelled_once_created(ts_env, tmp_path, journeys):
    """The task a person would act on is never left open behind a closed journey."""
    client = ts_env.client
    slow = SlowTask()
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path), fake=slow) as (queue, effects):
        await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        await handle.signal(OnboardingWorkflow.help_requested, {"message": "stuck", "event_id": "h-1"})
        await asyncio.wait_for(slow.creating.wait(), 30)
        await handle.cancel()
        await request_taken(handle)
        slow.create.set()
        await cancel_and_assert_closed(handle, effects, requested=True)
        task = effects.tasks[(handle.id, 1)]
        assert task.status == "cancelled" and task.note == closed_by_request(handle)
        assert not await cut_short(handle)  # created, then closed: never a close before the task exists


class SlowRelease(FakeEffects):
    """Releasing the owner's place takes as long as the test says: the request arrives while
    the journey, already activated, does its last steps."""

    def __init__(self) -> None:
        super().__init__()
        self.releasing, self.release = asyncio.Event(), asyncio.Event()

    @activity.defn(name="release_owner")
    async def release_owner(self, request: ReleaseOwnerRequest) -> Released:
        self.releasing.set()
        await self.release.wait()
        return await super().release_owner(request)


async def test_a_request_during_the_last_steps_comes_too_late_and_cuts_nothing_short(ts_env, tmp_path, journeys):
    """Every milestone done, the place being released: the request changes nothing. The
    release runs to its end and the journey ends activated, Completed."""
    client = ts_env.client
    slow = SlowRelease()
    books = write_playbook(tmp_path / "playbooks", always_open)
    async with journeys(client, effects="fake", playbooks=books, fake=slow) as (queue, effects):
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        for stage, event in MILESTONE_EVENTS.items():
            await wait_for_status(handle, lambda s, stage=stage: s.stage == stage and s.waiting_on == "customer")
            await handle.signal(OnboardingWorkflow.action_taken, {"action": event, "event_id": f"e-{stage}"})
        await asyncio.wait_for(slow.releasing.wait(), 30)
        await handle.cancel()
        await request_taken(handle)  # the journey had the request while the release ran
        slow.release.set()
        result = await handle.result()
        assert result.state is OnboardingState.activated
        assert effects.released == [handle.id]
        assert effects.moment_kinds()[-1] == "activated"
        last = (await handle.fetch_history()).events[-1]
        assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
        await assert_replays(handle)


async def test_the_cancel_signal_and_the_request_leave_the_same_records(ts_env, tmp_path, journeys):
    """The same escalated journey, once cancelled by the `cancel` signal, once by a request:
    the same moments, the same task outcome, the same release; only the reason differs."""
    client = ts_env.client
    ends = []
    for by_request in (False, True):
        async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
            await tuesday_10(ts_env)
            handle = await start_journey(client, queue, make_deal())
            await wait_for_status(handle, lambda s: s.waiting_on == "customer")
            await handle.signal(OnboardingWorkflow.help_requested, {"message": "stuck", "event_id": "h-1"})
            await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated)
            if by_request:
                await handle.cancel()
            else:
                await handle.signal(OnboardingWorkflow.cancel, {"reason": "deal lost"})
            result = await handle.result()
            task = effects.tasks[(handle.id, 1)]
            ends.append((result.state, effects.moment_kinds(), task.status, effects.released == [handle.id]))
            assert result.reason == (closed_by_request(handle) if by_request else "cancelled: deal lost")
    assert ends[0] == ends[1]


async def test_a_v3_7_run_still_stops_as_canceled_and_replays(ts_env, tmp_path, journeys):
    """A run started before v3.8 keeps the old way to its end: the workflow is Canceled, the
    journey is not closed. (Its next run, after a continue-as-new, takes v3.8.)"""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path), journey=OnboardingWorkflowV37) as (
        queue,
        effects,
    ):
        await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        assert isinstance(failure.value.cause, CancelledError)
        assert effects.released == []
        assert not await has_marker(handle, versions.ASSIGNEE_AND_CANCEL_REQUEST)
        await assert_replays(handle)  # on the current code


async def test_while_no_playbook_can_run_it_the_humans_task_is_cancelled(ts_env, tmp_path, journeys):
    """Before it really started: escalated to the roster's manager (its assignee), no playbook
    claims the deal. The request closes it: the task cancelled, the place it held released."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=two_products(tmp_path / "playbooks")) as (queue, effects):
        handle = await start_journey(client, queue, make_deal(product="HR"))
        await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated)
        assert (await upserted(handle))[ASSIGNEE.name] == "dana"  # the manager gets it a playbook
        await handle.cancel()
        result = await handle.result()
        assert (result.state, result.reason) == (OnboardingState.closed, closed_by_request(handle))
        assert (await upserted(handle)) == {STATE.name: "closed"}  # nobody's any more
        [task] = [t for (journey, _), t in effects.tasks.items() if journey == handle.id]
        assert task.status == "cancelled" and task.note == closed_by_request(handle)
        assert effects.released == [handle.id]
        assert await has_marker(handle, versions.ASSIGNEE_AND_CANCEL_REQUEST)
        await assert_replays(handle)


async def test_waiting_for_the_deal_details(ts_env, tmp_path, journeys):
    """Started by an early product event, nothing assigned yet: closed with the reason, and
    nothing to release."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        deal_id = make_deal().deal_id
        handle = await client.start_workflow(
            OnboardingWorkflow.run, JourneyInput(deal_id=deal_id), id=workflow_id_for(deal_id), task_queue=queue
        )
        await wait_for_status(handle, lambda s: s.waiting_on == "deal")
        await handle.cancel()
        result = await handle.result()
        assert (result.state, result.reason) == (OnboardingState.closed, closed_by_request(handle))
        after = await status(handle)
        assert (after.state, after.reason, after.waiting_on) == (
            OnboardingState.closed,
            closed_by_request(handle),
            "nobody",
        )
        assert effects.released == [] and effects.moments == []
        await assert_replays(handle)


async def staff_handle(client: Client, handle: WorkflowHandle, identity: str) -> WorkflowHandle:
    """The same journey as a support person's client sees it (the identity the Web UI, the
    CLI or an SDK client sends)."""
    staff = await Client.connect(
        client.service_client.config.target_host,
        namespace=client.namespace,
        identity=identity,
        data_converter=client.data_converter,
    )
    return staff.get_workflow_handle(handle.id)


async def test_the_reason_names_who_requested_it_and_why(ts_env, tmp_path, journeys):
    """The sender's identity is in the history only: the journey reads it there, and its
    reason (result, status, the escalation's task) names the sender and the request's reason."""
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, effects):
        tue = await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        await sleep_until(ts_env, tue + HOUR)
        await handle.signal(OnboardingWorkflow.help_requested, {"message": "stuck", "event_id": "h-1"})
        await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated)
        staff = await staff_handle(client, handle, "maya@vendor.example")
        await staff.cancel(reason="deal lost in procurement")
        result = await handle.result()
        says = "cancelled by maya@vendor.example (cancellation request): deal lost in procurement"
        assert (result.state, result.reason) == (OnboardingState.closed, says)
        assert (await status(handle)).reason == says
        assert effects.tasks[(handle.id, 1)].note == says
        await assert_replays(handle)


@pytest.mark.parametrize(
    "identity, named",
    [
        ("maya\n\x00\u202e@vendor.example", "maya @vendor.example"),  # one line, printable
        ("x" * 5_000, "x" * 99 + "…"),  # bounded
        (" \t\n", None),  # nothing printable: nobody named
    ],
)
async def test_whatever_identity_a_sender_gives_the_reason_stays_one_bounded_line(
    ts_env, tmp_path, journeys, identity, named
):
    client = ts_env.client
    async with journeys(client, effects="fake", playbooks=playbook(tmp_path)) as (queue, _effects):
        await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        await (await staff_handle(client, handle, identity)).cancel()
        result = await handle.result()
        assert result.reason == (f"cancelled by {named} (cancellation request)" if named else BY_REQUEST)
        await assert_replays(handle)


@activity.defn(name="cancellation_requester")
async def history_unreadable() -> CancellationRequester:
    raise ApplicationError("history unavailable", non_retryable=True)


class HistoryUnreadable(FakeEffects):
    def activities(self, playbooks: Path) -> list[Any]:
        return [a for a in super().activities(playbooks) if a is not cancellation_requester] + [history_unreadable]


async def test_when_the_history_cannot_be_read_the_journey_still_closes_naming_the_request(ts_env, tmp_path, journeys):
    client = ts_env.client
    books = playbook(tmp_path)
    async with journeys(client, effects="fake", playbooks=books, fake=HistoryUnreadable()) as (queue, effects):
        await tuesday_10(ts_env)
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        await handle.cancel(reason="duplicate deal")
        result = await handle.result()
        assert (result.state, result.reason) == (OnboardingState.closed, f"{BY_REQUEST}: duplicate deal")
        assert effects.released == [handle.id]
        await assert_replays(handle)


async def test_from_the_cli_the_reason_names_the_clis_identity(dev_env, tmp_path, journeys):
    """`temporal workflow cancel`, as an engineer runs it: the CLI sends an identity of its own."""
    client = dev_env.client
    books = write_playbook(tmp_path / "playbooks", always_open)
    async with journeys(client, effects="fake", playbooks=books) as (queue, _effects):
        handle = await start_journey(client, queue, make_deal())
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        cli = await asyncio.create_subprocess_exec(
            TEMPORAL_CLI,
            "workflow",
            "cancel",
            "--address",
            client.service_client.config.target_host,
            "--workflow-id",
            handle.id,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        said, _ = await cli.communicate()
        assert cli.returncode == 0, said.decode()
        result = await handle.result()
        assert result.reason.startswith("cancelled by temporal-cli:"), result.reason  # temporal-cli:<user>@<host>
        assert result.reason.endswith(" (cancellation request)")
