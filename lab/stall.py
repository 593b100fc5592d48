"""A stalled lab: which walk holds the test server's clock, and where its journey stood.

The server holds its one clock still while any workflow task or activity is in flight, so a
journey whose workflow task keeps failing (or an activity that never returns) stops every
persona on that server. The others are merely waiting on a timer: their histories end in a
completed workflow task with nothing open. Read from each workflow's history, since the
time-skipping server's `describe` shows no pending workflow task."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory

from lab.histories import journey_runs

_E = EventType
_ACTIVITY_CLOSED = {
    _E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    _E.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    _E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    _E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}
_CLOSED = {
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}
# What the journey's search attributes say about where it stands (contracts/search_attributes.py).
_WHERE = ("OnboardingState", "OnboardingStage", "EscalationLevel", "OnboardingOwner", "NextActionDue")


@dataclass(frozen=True)
class Holding:
    """What keeps one workflow busy while the clock stands still."""

    why: str  # "workflow task keeps failing (...)", after "the journey's"
    failing: bool  # its workflow task failed or timed out: certain, not a moment's work in flight
    event_id: int  # the open event, to tell the same work from new work on the next look
    in_flight: int  # workflow tasks and activities open: each holds the clock


def holding(history: WorkflowHistory) -> Holding | None:
    """What this workflow has in flight (None: it is idle, waiting on a timer or a signal, or
    it has ended)."""
    failures, last_failure, task_open = 0, "", 0
    activities: dict[int, str] = {}
    for event in history.events:
        t = event.event_type
        if t in _CLOSED:
            return None
        if t in (_E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, _E.EVENT_TYPE_WORKFLOW_TASK_STARTED):
            task_open = task_open or event.event_id
        elif t == _E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            failures, task_open = 0, 0
        elif t == _E.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failures, task_open = failures + 1, 0
            last_failure = _failure(event)
        elif t == _E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            failures, task_open, last_failure = failures + 1, 0, "it timed out"
        elif t == _E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activities[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif t in _ACTIVITY_CLOSED:
            activities.pop(getattr(event, _ACTIVITY_CLOSED[t]).scheduled_event_id, None)
    in_flight = len(activities) + bool(failures or task_open)
    if failures:
        why = f"workflow task keeps failing ({last_failure}; {failures} failure(s) recorded)"
        return Holding(why=why, failing=True, event_id=history.events[-1].event_id, in_flight=in_flight)
    if activities:
        scheduled, name = min(activities.items())
        return Holding(why=f"activity {name} never finished", failing=False, event_id=scheduled, in_flight=in_flight)
    if task_open:
        why = "workflow task was handed out and never finished"
        return Holding(why=why, failing=False, event_id=task_open, in_flight=in_flight)
    return None


def where_it_stood(history: WorkflowHistory) -> str:
    """The journey's last known state, stage, owner and due time, and the last thing it did."""
    attributes: dict[str, object] = {}
    last_step = ""
    for event in history.events:
        if event.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            _read(attributes, event.workflow_execution_started_event_attributes.search_attributes)
        elif event.event_type == _E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            _read(attributes, event.upsert_workflow_search_attributes_event_attributes.search_attributes)
        elif event.event_type == _E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            last_step = f"{name} at {_at(event):%Y-%m-%d %H:%M:%S} UTC"
        elif event.event_type == _E.EVENT_TYPE_TIMER_STARTED:
            timeout = event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
            last_step = f"a timer of {timeout} from {_at(event):%Y-%m-%d %H:%M:%S} UTC"
    parts = [f"state {attributes.get('OnboardingState') or 'none yet'}"]
    if attributes.get("OnboardingStage"):
        parts.append(f"milestone {attributes['OnboardingStage']}")
    if attributes.get("EscalationLevel"):
        parts.append(f"escalation level {attributes['EscalationLevel']}")
    if attributes.get("OnboardingOwner"):
        parts.append(f"owner {attributes['OnboardingOwner']}")
    if attributes.get("NextActionDue"):
        parts.append(f"next action due {attributes['NextActionDue']}")
    return " · ".join(parts) + (f"; its last step: {last_step}" if last_step else "")


async def latest_run(client: Client, workflow_id: str) -> WorkflowHistory:
    return (await journey_runs(client, workflow_id))[-1]


def _failure(event: HistoryEvent) -> str:
    failure = event.workflow_task_failed_event_attributes.failure
    while failure.HasField("cause"):
        failure = failure.cause
    text = " ".join(failure.message.split()) or "no message"
    return text if len(text) <= 160 else text[:159] + "…"


def _read(attributes: dict[str, object], proto: object) -> None:
    for name, payload in getattr(proto, "indexed_fields", {}).items():
        if name not in _WHERE:
            continue
        try:
            value = json.loads(payload.data) if payload.data else None
        except ValueError:
            continue
        attributes[name] = value[0] if isinstance(value, list) and len(value) == 1 else value


def _at(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)
