"""What a journey came to: its state, how long the customer took to each milestone, how many
messages they got and how often a human was needed. Computed from its record."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from lab.record import FOLLOW_UPS, JourneyRecord, Touch


class MilestoneReached(BaseModel):
    key: str
    after_seconds: float  # from the journey's start (the deal's close)
    how: Literal["completed", "skipped", "closed", "unknown"]


class Outcome(BaseModel):
    state: str
    reason: str = ""
    first_action_after_seconds: float | None = None
    activated_after_seconds: float | None = None
    milestones: list[MilestoneReached] = Field(default_factory=list)
    messages: int = 0
    proactive: int = 0
    follow_ups: int = 0
    by_kind: dict[str, int] = Field(default_factory=dict)
    escalations: int = 0  # humans needed: escalations opened
    staff_decisions: int = 0


def state_changes(record: JourneyRecord) -> list[tuple[Touch, datetime]]:
    """Every change of state with the moment it happened for the customer. A change their own
    signal caused happened when they acted: for an action, when the product says it occurred
    (`occurred_at`, between the start and its arrival), else when it arrived; not the
    milliseconds later the journey wrote it down. Any other change: when the journey made it."""
    changes: list[tuple[Touch, datetime]] = []
    last: Touch | None = None  # the customer's latest signal so far
    for touch in record.touches:
        if touch.what == "customer":
            last = touch
        elif touch.what == "state":
            moment = touch.at
            if touch.cause == "customer" and last is not None:
                occurred = last.occurred_at
                moment = occurred if occurred is not None and record.started_at <= occurred <= last.at else last.at
            changes.append((touch, moment))
    return changes


def outcome_of(record: JourneyRecord, status: dict | None = None) -> Outcome:
    start = record.started_at
    first_key = record.playbook.playbook.milestones[0].key if record.playbook else None
    reached: list[MilestoneReached] = []
    stage, state, activated_at = "", "", None
    for touch, moment in state_changes(record):
        after = (moment - start).total_seconds()
        how = {"customer": "completed", "staff": "skipped"}.get(touch.cause, "unknown")
        if stage and touch.milestone != stage and all(r.key != stage for r in reached):
            reached.append(MilestoneReached(key=stage, after_seconds=after, how=how))
        if touch.kind == "activated" and state != "activated":
            activated_at = after
            if all(r.key != touch.milestone for r in reached):
                reached.append(MilestoneReached(key=touch.milestone, after_seconds=after, how=how))
        stage, state = touch.milestone, touch.kind
    messages = [m for m in record.customer_messages if m.ok]
    kinds = Counter(m.kind for m in messages)
    final_state = str((status or {}).get("state") or state or "starting")
    if record.status in ("FAILED", "TIMED_OUT"):
        final_state = f"failed ({record.failure})" if record.failure else "failed"
    first = next((r for r in reached if r.key == first_key and r.how == "completed"), None)
    return Outcome(
        state=final_state,
        reason=str((status or {}).get("reason", "")),
        first_action_after_seconds=first.after_seconds if first else None,
        activated_after_seconds=activated_at,
        milestones=reached,
        messages=len(messages),
        proactive=sum(1 for m in messages if m.proactive),
        follow_ups=sum(kinds[k] for k in FOLLOW_UPS),
        by_kind=dict(kinds),
        escalations=sum(1 for e in record.escalations if e.level == 1),
        staff_decisions=sum(1 for t in record.touches if t.what == "staff"),
    )
