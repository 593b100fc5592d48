"""The outside world, captured: activities registered under the journey's own activity
names that record instead of reaching anyone.

- `snapshot_playbook`: the real loader, on the playbook the lab was given for that journey,
  with its calendar's closed days resolved from the journey's (virtual) year;
- `assign_owner`: the fake world's choice over the roster file (lab/fakes.py
  `first_eligible`: nobody's load counted, each simulated journey is the only one), or the
  owner a recorded journey really had;
- `send_message`: the real rendering and one-call-to-action check, then nothing is sent;
- `create_escalation_task`: recorded, nobody is notified;
- any other activity the journey calls (`release_owner`, `record_moment`, ...): a no-op.

What was "sent" is read back from the journey's history (lab/record.py). The world also
tells the persona what happened (`sighted`), so its owner and staff can react, and carries
the persona's own signals and updates to the journey through the Temporal client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.common import RawValue, SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities.cancellation import cancellation_requester
from activities.messaging import message_id_for, render_request
from contracts import crms
from contracts.deal import DealClosed
from contracts.escalations import EscalationTask
from contracts.journey import WORKFLOW_TYPE
from contracts.messages import MessageRequest, SendReceipt
from contracts.owners import AssignOwnerRequest, OwnerAssignment
from contracts.playbook import Playbook, PlaybookSnapshot
from lab.fakes import first_eligible
from lab.persona_run import persona_workflow_id
from lab.script import Delivered, Delivery, Finish, Sighting, StartJourney
from owners.roster import Roster
from playbooks import calendars, loader

# A journey answers `status` in milliseconds. The activity asking holds the virtual clock, so
# an answer that needs the clock to move (a workflow task the server retries after a backoff,
# when a signal met a continue-as-new) cannot come: the wait is kept short.
STATUS_SECONDS = 2.0


@dataclass
class JourneySetup:
    """What the world knows about one simulated journey."""

    playbook: PlaybookSnapshot | Path  # a snapshot, or a playbook file or folder to load
    owners: list[OwnerAssignment] = field(default_factory=list)  # recorded assignments, in order
    deal: DealClosed | None = None  # what the CRM would answer (a recorded fetch)


def milestone_of(key: str, title: str, playbook: Playbook | None) -> str:
    """The milestone a message belongs to: its idempotency key names it
    (`<workflow id>:<milestone>:<step>:<n>`); failing that, its milestone title."""
    keys = [m.key for m in playbook.milestones] if playbook else []
    parts = key.split(":")
    for part in parts[1:-2] if len(parts) >= 4 else parts:
        if part in keys:
            return part
    if playbook is not None:
        for milestone in playbook.milestones:
            if milestone.title == title:
                return milestone.key
    return parts[1] if len(parts) >= 4 else ""


class World:
    def __init__(self, client: Client, task_queue: str, roster: Roster) -> None:
        self.client = client
        self.task_queue = task_queue
        self.roster = roster
        self.journeys: dict[str, JourneySetup] = {}
        self._snapshots: dict[str, PlaybookSnapshot] = {}

    def activities(self) -> Sequence[Any]:
        return [
            self.snapshot_playbook,
            self.assign_owner,
            self.send_message,
            self.create_escalation_task,
            cancellation_requester,  # reads the journey's history, nothing else: the real one
            *self.crm_fetches(),
            self.anything_else,
            self.lab_start_journey,
            self.lab_deliver,
            self.lab_finish,
        ]

    def forget(self, workflow_id: str) -> None:
        self.journeys.pop(workflow_id, None)
        self._snapshots.pop(workflow_id, None)

    # ------------------------------------------------------------------ the journey's activities

    @activity.defn(name="snapshot_playbook")
    async def snapshot_playbook(self, request: dict[str, Any]) -> PlaybookSnapshot:
        setup = self._setup()
        source = setup.playbook
        try:
            if isinstance(source, PlaybookSnapshot):
                snapshot = source
            elif source.is_dir():
                snapshot = loader.select(
                    loader.load_all(source), request.get("segment", ""), request.get("product", "")
                )
            else:
                snapshot = loader.load_playbook(source)
        except loader.PlaybookError as err:
            raise ApplicationError(str(err), type="PlaybookError", non_retryable=True) from None
        if not snapshot.closed_days:  # a journey's own snapshot (backtest) keeps the days it had
            # as the worker's activity does: the calendar's closed days from the journey's year
            snapshot = calendars.resolved(snapshot, activity.info().current_attempt_scheduled_time.date())
        self._snapshots[_journey_id()] = snapshot
        return snapshot

    @activity.defn(name="assign_owner")
    async def assign_owner(self, request: AssignOwnerRequest) -> OwnerAssignment:
        setup = self._setup()
        recorded = next(
            (
                a
                for a in setup.owners
                if a.owner.id not in request.exclude and (request.preferred is None or request.preferred == a.owner.id)
            ),
            None,
        )
        if recorded is not None:
            setup.owners.remove(recorded)
            assignment = recorded
        else:
            assignment = first_eligible(self.roster, request)  # the fake world's rule (lab/fakes.py)
        await self._tell(Sighting(what="owner", at=self._now(), owner=assignment.owner.id))
        return assignment

    @activity.defn(name="send_message")
    async def send_message(self, request: dict[str, Any]) -> SendReceipt:
        # The real rendering: a template that cannot render, or a customer message without
        # exactly one call to action, fails here as it would in production.
        render_request(MessageRequest.model_validate(request))
        snapshot = self._snapshots.get(_journey_id())
        milestone = milestone_of(
            request.get("key", ""),
            request.get("context", {}).get("milestone_title", ""),
            snapshot.playbook if snapshot else None,
        )
        await self._tell(
            Sighting(what="message", at=self._now(), touchpoint=request.get("kind", ""), milestone=milestone)
        )
        key = request.get("key", "")
        return SendReceipt(
            key=key, channel=request.get("channel", "email"), message_id=message_id_for(key, "lab.invalid")
        )

    @activity.defn(name="create_escalation_task")
    async def create_escalation_task(self, request: dict[str, Any]) -> EscalationTask:
        level = int(request.get("level", 1))
        await self._tell(
            Sighting(
                what="escalation",
                at=self._now(),
                touchpoint="escalation",
                milestone=request.get("milestone", ""),
                level=level,
            )
        )
        assignee = request.get("assignee") or {}
        return EscalationTask(task_id=request.get("key", ""), assignee=assignee.get("id", ""), level=level, path="")

    def crm_fetches(self) -> list[Any]:
        """`fetch_<crm>_deal` for every CRM a journey reads its deal from (contracts/crms.py): the
        registry's lab stub for that CRM, else the persona's deal, whichever CRM."""
        return [self._crm_fetch(crm.fetch_activity, crm.lab_stub) for crm in crms.CRMS if crm.fetch_activity]

    def _crm_fetch(self, name: str, lab_stub: str | None) -> Any:
        stub = crms.resolve(lab_stub) if lab_stub else None

        async def fetch(request: dict[str, Any]) -> DealClosed:
            return await (stub(self, request) if stub else self.persona_deal(request))

        return activity.defn(name=name)(fetch)

    async def persona_deal(self, request: dict[str, Any]) -> DealClosed:
        """What the lab's CRM answers: the deal the persona (or the recorded journey) has."""
        deal = self._setup().deal
        if deal is None:
            raise ApplicationError("the lab has no CRM: give the deal in the journey's input", non_retryable=True)
        return deal

    @activity.defn(dynamic=True)
    async def anything_else(self, args: Sequence[RawValue]) -> None:
        """Activities the lab does not model (a newer journey's `release_owner`,
        `record_moment`, ...): nothing happens; the call stays in the history."""
        return None

    # ------------------------------------------------------------------ what the persona does

    @activity.defn(name="lab_start_journey")
    async def lab_start_journey(self, start: StartJourney) -> datetime:
        """Start the journey; its start as its history records it, the instant the persona's
        clock and the expectations' windows both count from."""
        try:
            handle = await self.client.start_workflow(
                WORKFLOW_TYPE,
                start.journey_input,
                id=start.workflow_id,
                task_queue=self.task_queue,
                static_summary=start.summary or None,
                static_details=start.details or None,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(SearchAttributeKey.for_keyword(k), v)
                        for k, v in start.search_attributes.items()
                    ]
                ),
            )
        except RPCError as err:
            raise ApplicationError(f"cannot start the journey: {err.message}", non_retryable=True) from None
        async for event in handle.fetch_history_events(page_size=1):
            return event.event_time.ToDatetime(tzinfo=UTC)
        raise ApplicationError(f"{start.workflow_id}: started, but its history is empty", non_retryable=True)

    @activity.defn(name="lab_deliver")
    async def lab_deliver(self, delivery: Delivery) -> Delivered:
        handle = self.client.get_workflow_handle(delivery.workflow_id)
        try:
            if delivery.kind == "signal":
                await handle.signal(delivery.name, delivery.payload)
            else:
                await handle.execute_update(delivery.name, delivery.payload)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            return Delivered(ok=False, problem=getattr(cause, "message", None) or str(cause))
        except RPCError as err:
            return Delivered(ok=False, problem=err.message)
        if not delivery.status:
            return Delivered(ok=True)
        # Asked from here, while the persona's activity holds the virtual clock still: the
        # worker answers it on a workflow slot of its own, after the task the delivery woke.
        # The test server may hold a query past its RPC deadline, and the call does not heed a
        # cancel: it is left behind, not awaited.
        asking = asyncio.ensure_future(handle.query("status", rpc_timeout=timedelta(seconds=STATUS_SECONDS)))
        answered, _ = await asyncio.wait({asking}, timeout=STATUS_SECONDS)
        if not answered:
            asking.cancel()
            asking.add_done_callback(_forgotten)  # its late error, once the lab's server is gone, is dropped
            return Delivered(ok=True, status_problem=f"no answer within {STATUS_SECONDS:g} s: timed out")
        try:
            status = asking.result()
        except (RPCError, WorkflowQueryFailedError) as err:
            return Delivered(ok=True, status_problem=getattr(err, "message", None) or str(err))
        return Delivered(ok=True, status=status)

    @activity.defn(name="lab_finish")
    async def lab_finish(self, finish: Finish) -> None:
        """The horizon: a journey still running is terminated (its history, read
        afterwards, says how it ended). No query here: it would wait on the worker that
        runs this very activity."""
        with contextlib.suppress(RPCError):  # it had ended by itself
            await self.client.get_workflow_handle(finish.workflow_id).terminate("journey lab: horizon reached")

    # ------------------------------------------------------------------ helpers

    def _setup(self) -> JourneySetup:
        workflow_id = _journey_id()
        try:
            return self.journeys[workflow_id]
        except KeyError:
            raise ApplicationError(f"the lab knows no journey {workflow_id!r}", non_retryable=True) from None

    def _now(self) -> Any:
        # The virtual clock stands still while an activity runs: the moment it was scheduled
        # is the moment the journey acted.
        return activity.info().current_attempt_scheduled_time

    async def _tell(self, sighting: Sighting) -> None:
        # no persona watches a journey driven from outside the lab
        with contextlib.suppress(RPCError):
            await self.client.get_workflow_handle(persona_workflow_id(_journey_id())).signal("sighted", sighting)


def _journey_id() -> str:
    """The journey an activity runs for: the lab schedules its activities from journeys only."""
    workflow_id = activity.info().workflow_id
    if workflow_id is None:  # a standalone activity: no journey to act for
        raise ApplicationError("a lab activity runs for a journey, not on its own", non_retryable=True)
    return workflow_id


def _forgotten(answer: asyncio.Future[Any]) -> None:
    """A status query left behind: its outcome is read so asyncio does not report it."""
    if not answer.cancelled():
        answer.exception()
