"""The fake world: the journey's activities replaced by name, every effect kept in memory
instead of SMTP, the records database and the owner-roster workflow. What the journey asked
for is what the caller reads. One world for every place that runs a journey without the
outside world: the fast tests and the soak tests (tests/harness/journeys.py) and the lab,
whose world (lab/world.py) chooses owners by the same rule (`first_eligible`).

The real activities keep their integration tests (tests/workflows/test_journey_*.py,
tests/records/, tests/activities/test_messaging.py, tests/owners/test_owner_roster.py);
these fakes only answer in the shapes the real ones return, so a journey cannot tell the
difference."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio import activity

from activities.cancellation import cancellation_requester
from activities.playbook import PlaybookActivities
from contracts.escalations import CloseEscalationTask, EscalationTask, EscalationTaskRecord, EscalationTaskRequest
from contracts.messages import MessageRequest, SendReceipt
from contracts.moments import MomentRecorded, MomentRequest, MomentsRequest
from contracts.owners import AssignOwnerRequest, OwnerAssignment, Released, ReleaseOwnerRequest
from owners.activities import manager_person, person, staffing
from owners.roster import Roster, load_roster


def first_eligible(roster: Roster, request: AssignOwnerRequest) -> OwnerAssignment:
    """The roster's rules (owners/activities.py `staffing`) without the roster workflow: the
    first eligible owner who speaks the customer's language, else the first eligible owner,
    loads not counted, or the manager when nobody can take the journey (as the roster
    workflow answers unstaffed)."""
    staff = staffing(roster, request)
    manager = manager_person(roster.manager) if roster.manager else None
    if staff.unstaffed and manager is not None:
        return OwnerAssignment(owner=manager, manager=manager, unstaffed=staff.unstaffed)
    owner = next((o for o in staff.candidates if o.speaks(request.language)), staff.candidates[0])
    backup = roster.by_id(owner.backup) if owner.backup else None
    return OwnerAssignment(owner=person(owner), backup=person(backup) if backup else None, manager=manager)


@dataclass
class FakeEffects:
    """Everything the journey asked the outside world for, in order."""

    roster: Roster = field(default_factory=load_roster)
    messages: list[MessageRequest] = field(default_factory=list)
    moments: list[MomentRequest] = field(default_factory=list)
    tasks: dict[tuple[str, int], EscalationTaskRecord] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # journey -> owner holding its place
    released: list[str] = field(default_factory=list)
    # the moments of each recording call, in order: one kind for `record_moment`, a step's for `record_moments`
    moment_calls: list[list[str]] = field(default_factory=list)
    # what reached the customer or a human, at the journey's (virtual) time: each customer
    # message by kind, each escalation task as "escalation <level>"
    touches: list[tuple[str, datetime]] = field(default_factory=list)

    def kinds(self, audience: str = "customer") -> list[str]:
        return [m.kind for m in self.messages if m.audience == audience]

    def moment_kinds(self) -> list[str]:
        return [m.kind.value for m in self.moments]

    # ---------------------------------------------------------------- the activities, by name

    @activity.defn(name="assign_owner")
    async def assign_owner(self, request: AssignOwnerRequest) -> OwnerAssignment:
        """The roster's rules without the roster workflow (`first_eligible`)."""
        assignment = first_eligible(self.roster, request)
        if not assignment.unstaffed:
            self.owners[request.journey_id or _workflow_id()] = assignment.owner.id
        return assignment

    @activity.defn(name="release_owner")
    async def release_owner(self, request: ReleaseOwnerRequest) -> Released:
        journey = request.journey_id or _workflow_id()
        self.released.append(journey)
        return Released(journey_id=journey, owner_id=self.owners.pop(journey, None))

    @activity.defn(name="send_message")
    async def send_message(self, request: MessageRequest) -> SendReceipt:
        duplicate = any(m.key == request.key for m in self.messages)
        if not duplicate:
            self.messages.append(request)
            if request.audience == "customer":
                self.touches.append((request.kind, activity.info().current_attempt_scheduled_time))
        return SendReceipt(
            key=request.key, channel=request.channel, message_id=f"<{request.key}@fake>", duplicate=duplicate
        )

    @activity.defn(name="create_escalation_task")
    async def create_escalation_task(self, request: EscalationTaskRequest) -> EscalationTask:
        workflow_id = _workflow_id()
        number = request.escalation or 1
        now = datetime.now(UTC)
        self.touches.append((f"escalation {request.level}", activity.info().current_attempt_scheduled_time))
        self.tasks[(workflow_id, number)] = EscalationTaskRecord(
            id=request.key,
            workflow_id=workflow_id,
            escalation=number,
            deal_id=request.deal_id,
            account_name=request.account_name,
            milestone=request.milestone,
            level=request.level,
            level_name=request.level_name,
            assignee=request.assignee.id,
            assignee_name=request.assignee.name,
            reason=request.reason,
            status="open",
            created_at=now,
            updated_at=now,
        )
        return EscalationTask(task_id=request.key, assignee=request.assignee.id, level=request.level)

    @activity.defn(name="close_escalation_task")
    async def close_escalation_task(self, request: CloseEscalationTask) -> EscalationTaskRecord:
        task = self.tasks[request.task()]
        closed = task.model_copy(
            update={
                "status": request.outcome,
                "decision": request.decision,
                "closed_by": request.by,
                "note": request.note,
                "closed_at": request.at or datetime.now(UTC),
            }
        )
        self.tasks[request.task()] = closed
        return closed

    @activity.defn(name="record_moment")
    async def record_moment(self, request: MomentRequest) -> MomentRecorded:
        self.moment_calls.append([request.kind.value])
        return self._moment(request)

    @activity.defn(name="record_moments")
    async def record_moments(self, request: MomentsRequest) -> list[MomentRecorded]:
        self.moment_calls.append([m.kind.value for m in request.moments])
        return [self._moment(m) for m in request.moments]

    def _moment(self, request: MomentRequest) -> MomentRecorded:
        fresh = all(m.key != request.key for m in self.moments)
        if fresh:
            self.moments.append(request)
        return MomentRecorded(key=request.key, recorded=fresh)

    def activities(self, playbooks: Path) -> list[Any]:
        return [
            PlaybookActivities(playbooks).snapshot_playbook,  # reads the playbook files: no I/O beyond them
            self.assign_owner,
            self.release_owner,
            self.send_message,
            self.create_escalation_task,
            self.close_escalation_task,
            self.record_moment,
            self.record_moments,
            cancellation_requester,  # reads the journey's history, nothing else: the real one
        ]


def _workflow_id() -> str:
    """The journey an activity runs for (every activity here is a journey's)."""
    return activity.info().workflow_id or ""
