"""Escalation tasks: a human asked to decide for a stuck journey. One base (`EscalationTaskBase`)
names what every shape of a task says; the journey's request to `create_escalation_task`,
the store's opening and the stored record (records/tasks.py, `onboarding tasks`) derive from
it. A task closes once: resolved by a human, ended by the customer's own action, or
cancelled (`CloseEscalationTask`)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from contracts.owners import Person
from contracts.strict import Carried


class EscalationTaskBase(Carried):
    """What every shape of an escalation task says, written once: whose journey, which deal
    and account, which milestone, the level it is at (1 the owner, 2 the backup, 3 the
    manager) and why a human is needed. The journey's request, the store's opening and the
    stored record add who it is for and their own fields."""

    workflow_id: str
    deal_id: str
    account_name: str
    milestone: str
    level: int
    level_name: str
    reason: str

    def task_fields(self) -> dict[str, object]:
        """These fields, to build another shape of the same task from this one."""
        return {name: getattr(self, name) for name in EscalationTaskBase.model_fields}


class EscalationTaskRequest(EscalationTaskBase):
    """What the journey asks `create_escalation_task`: open the task (or move it up to
    `level`) for `assignee`, and tell them by `channel`."""

    key: str
    assignee: Person
    channel: str = "email"
    # Optional (journeys that predate them leave them out): which escalation of the journey
    # this is (else read from the key) and when it happened (else the activity's clock).
    escalation: int | None = None
    at: AwareDatetime | None = None


class EscalationTask(Carried):
    """What `create_escalation_task` answers."""

    task_id: str
    assignee: str
    level: int
    status: str = "open"


class TaskOpening(EscalationTaskBase):
    """What the store is asked to open, or move up a level (records/tasks.py)."""

    escalation: int
    assignee: str
    assignee_name: str
    at: datetime


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


class CloseEscalationTask(Carried):
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


class EscalationTaskRecord(EscalationTaskBase):
    """An escalation task as the store has it (what `onboarding tasks` shows)."""

    id: str
    escalation: int
    assignee: str
    assignee_name: str
    status: TaskStatus
    decision: str | None = None
    closed_by: str | None = None
    note: str | None = None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
