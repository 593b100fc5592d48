"""What the `status` query answers (DESIGN.md section 4): the journey's state, why, the one
next action and its due time, who owns it, and the timeline."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from contracts.strict import Carried


class OnboardingState(str, Enum):
    awaiting_action = "awaiting_action"
    clarifying = "clarifying"
    escalated = "escalated"
    activated = "activated"
    closed = "closed"


class NextAction(Carried):
    title: str
    due_at: datetime | None
    events: list[str]


class TimelineEntry(Carried):
    at: datetime
    event: str
    detail: str = ""


class Status(Carried):
    deal_id: str
    stage: str
    state: OnboardingState
    owner: str
    next_action: NextAction | None
    reason: str
    eligible_touchpoints: list[str]
    timeline: list[TimelineEntry]
    escalation_level: int = 0
    paused: bool = False
    # Who the journey waits on now, `next_action.due_at` by when (workflows/awaiting.py,
    # docs/support.md): customer | journey (its own next message) | owner | human |
    # staff (resume) | deal | nobody. Only deal and nobody come without a due time.
    waiting_on: str = "customer"
    owner_over_capacity: bool = False
    refused_inputs: int = 0
    unsubscribed: bool = False
    variant: str | None = None  # the playbook experiment's variant this journey runs
    playbook: str = ""  # the name of the playbook the journey runs ("" while it has none)
    # Why it runs that playbook when it is not simply the one claiming the deal (the fallback,
    # the last good version of a broken file); "" otherwise.
    playbook_notice: str = ""
