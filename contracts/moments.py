"""What the journey hands the records, and what the records hand back: plain pydantic models
(no database imports), safe to import in workflow code."""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

# --- moments -----------------------------------------------------------------------------------


class MomentKind(str, Enum):
    started = "started"
    owner_assigned = "owner_assigned"
    told = "told"
    first_action = "first_action"
    milestone_completed = "milestone_completed"
    milestone_skipped = "milestone_skipped"
    milestone_closed = "milestone_closed"
    escalated = "escalated"
    resolved = "resolved"
    activated = "activated"
    closed = "closed"


class Touchpoint(str, Enum):
    """The last thing the journey did before the customer (or a human) moved it."""

    direction = "direction"
    clarify = "clarify"
    simplify = "simplify"
    redirect = "redirect"
    human = "human"


class MomentRequest(BaseModel):
    """One business moment of one journey. `key` makes it idempotent: a retry, a replay or a
    new run writing the same key writes nothing (build it with `moment_key`)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=400)
    kind: MomentKind
    at: AwareDatetime
    workflow_id: str = Field(min_length=1, max_length=255)
    deal_id: str = Field(min_length=1, max_length=128)
    account_id: str | None = Field(default=None, max_length=128)
    segment: str | None = Field(default=None, max_length=64)
    product: str | None = Field(default=None, max_length=64)
    playbook: str | None = Field(default=None, max_length=128)
    playbook_hash: str | None = Field(default=None, max_length=128)
    journey_version: str | None = Field(default=None, max_length=32)
    variant: str | None = Field(default=None, max_length=64)
    owner: str | None = Field(default=None, max_length=128)
    milestone: str | None = Field(default=None, max_length=128)
    touchpoint: Touchpoint | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


# The most moments one `record_moments` call takes; a journey holding this many writes them
# at once (a playbook's milestones all completed by early events hold one moment each).
MOMENTS_PER_CALL = 64


class MomentsRequest(BaseModel):
    """A step's moments, written together (in the order they happened) in one transaction."""

    model_config = ConfigDict(extra="forbid")

    moments: list[MomentRequest] = Field(min_length=1, max_length=MOMENTS_PER_CALL)


class MomentRecorded(BaseModel):
    key: str
    recorded: bool  # False: that key was already there (a retry or a replay)


def moment_key(workflow_id: str, kind: MomentKind, *parts: object) -> str:
    """`<workflow id>:moment:<kind>[:<part>...]`, e.g. the milestone and its occurrence. Built
    from the workflow id (never the run id), so it survives continue-as-new and resets."""
    return ":".join([workflow_id, "moment", kind.value, *(str(p) for p in parts)])


# --- escalation tasks --------------------------------------------------------------------------


class TaskStatus(str, Enum):
    open = "open"
    resolved = "resolved"
    ended_by_customer = "ended_by_customer"
    cancelled = "cancelled"


TaskOutcome = Literal["resolved", "ended_by_customer", "cancelled"]

_TASK_ID = re.compile(r"^(?P<workflow_id>.+):escalation-(?P<escalation>\d+)$")
_CREATE_KEY = re.compile(r"^(?P<workflow_id>.+):[^:]*:escalation-(?P<escalation>\d+):\d+$")


def task_id(workflow_id: str, escalation: int) -> str:
    """One task per escalation of a journey, whatever level it reaches."""
    return f"{workflow_id}:escalation-{escalation}"


def parse_task_key(key: str) -> tuple[str, int] | None:
    """(workflow id, escalation number) from a task id or from the key the journey gives
    create_escalation_task (`<workflow id>:<milestone>:escalation-<n>:<level>`)."""
    match = _TASK_ID.match(key) or _CREATE_KEY.match(key)
    return (match["workflow_id"], int(match["escalation"])) if match else None


class CloseEscalationTask(BaseModel):
    """Close a journey's escalation task: a human decided, the customer acted, or the journey
    was cancelled. Name the task by `key` (its id, or the key it was created with), or by
    `workflow_id` and `escalation` (the journey's escalation counter)."""

    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(default=None, min_length=1, max_length=400)
    workflow_id: str | None = Field(default=None, min_length=1, max_length=255)
    escalation: int | None = Field(default=None, ge=1)
    outcome: TaskOutcome
    decision: str | None = Field(default=None, max_length=32)
    by: str | None = Field(default=None, max_length=256)
    note: str = Field(default="", max_length=2000)
    at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _names_a_task(self) -> CloseEscalationTask:
        if self.key is None and (self.workflow_id is None or self.escalation is None):
            raise ValueError("name the task: give key, or workflow_id and escalation")
        if self.key is not None and parse_task_key(self.key) is None and self.workflow_id is None:
            raise ValueError(f"key {self.key!r} names no escalation (expected '<workflow id>:escalation-<n>')")
        if self.outcome == "resolved" and not (self.decision and self.by):
            raise ValueError("outcome 'resolved' needs decision and by")
        return self

    def task(self) -> tuple[str, int]:
        if self.workflow_id is not None and self.escalation is not None:
            return self.workflow_id, self.escalation
        parsed = parse_task_key(self.key or "")
        assert parsed is not None  # the validator checked it
        return parsed


class EscalationTaskRecord(BaseModel):
    """An escalation task as the store has it (what `onboarding tasks` shows)."""

    id: str
    workflow_id: str
    escalation: int
    deal_id: str
    account_name: str
    milestone: str
    level: int
    level_name: str
    assignee: str
    assignee_name: str
    reason: str
    status: TaskStatus
    decision: str | None = None
    closed_by: str | None = None
    note: str | None = None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
