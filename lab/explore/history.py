"""Facts the promises need from a journey's histories that the lab's record (lab/record.py)
does not keep: the search attributes after each upsert, the signals with their bodies,
failed workflow tasks, the size of the state carried into each next run, the result."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter


class Attributes(BaseModel):
    """The journey's search attributes as they stood after one upsert."""

    at: datetime
    values: dict[str, Any]


class SignalIn(BaseModel):
    at: datetime
    name: str
    body: dict[str, Any] = Field(default_factory=dict)


class Facts(BaseModel):
    upserts: list[Attributes] = Field(default_factory=list)
    signals: list[SignalIn] = Field(default_factory=list)
    task_failures: list[str] = Field(default_factory=list)  # failed or timed-out workflow tasks
    retried_tasks: int = 0  # tasks the server asked for again as a matter of course
    carried_bytes: list[int] = Field(default_factory=list)  # each continue-as-new's input
    result: dict[str, Any] | None = None


# Failed tasks the server asks for again as a matter of course: a signal that arrived while
# the task completed the run (UNHANDLED_COMMAND), a sticky queue reset.
_RETRIED = (
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE,
)


def _value(payload: Any) -> Any:
    if not payload.data:
        return None  # unset
    try:
        value = json.loads(payload.data)
    except ValueError:
        return None
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _first(payloads: Any) -> Any:
    try:
        values = pydantic_data_converter.payload_converter.from_payloads(list(payloads.payloads))
    except Exception:  # an undecodable payload: shown as missing
        return None
    return values[0] if values else None


def facts(runs: Iterable[WorkflowHistory]) -> Facts:
    out = Facts()
    current: dict[str, Any] = {}
    for history in runs:
        for e in history.events:
            at = e.event_time.ToDatetime().replace(tzinfo=UTC)
            t = e.event_type
            if t == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
                fields = e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
                current = {**current, **{k: _value(v) for k, v in fields.items()}}
                out.upserts.append(Attributes(at=at, values=current))
            elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                a = e.workflow_execution_signaled_event_attributes
                body = _first(a.input)
                out.signals.append(SignalIn(at=at, name=a.signal_name, body=body if isinstance(body, dict) else {}))
            elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                failed = e.workflow_task_failed_event_attributes
                if failed.cause in _RETRIED:
                    out.retried_tasks += 1
                    continue
                why = failed.failure.message or (
                    failed.failure.cause.message if failed.failure.HasField("cause") else ""
                )
                why = why or WorkflowTaskFailedCause.Name(failed.cause)
                out.task_failures.append(f"{at:%Y-%m-%d %H:%M} UTC: {why}")
            elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                out.task_failures.append(f"{at:%Y-%m-%d %H:%M} UTC: workflow task timed out")
            elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                carried = e.workflow_execution_continued_as_new_event_attributes
                out.carried_bytes.append(sum(len(p.data) for p in carried.input.payloads))
            elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
                result = _first(e.workflow_execution_completed_event_attributes.result)
                out.result = result if isinstance(result, dict) else None
    return out
