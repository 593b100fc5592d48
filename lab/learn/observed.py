"""What one real customer did, per milestone, whatever the source: the learning's unit.

Read from a journey's history (lab/learn/from_history.py) or from its moments in the
records (lab/learn/from_moments.py). Customer text (help messages, failure reasons) is
never kept: a learned persona must not carry a customer's words."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from lab.learn.signature import Mark, Signature

Do = Literal["taken", "failed", "help", "cancel"]


class CustomerEvent(BaseModel):
    """One thing the customer (or the CRM, for a lost deal) did, with the touchpoint whose
    sending starts its clock in a persona (`first_action.simplify`), or none: the close's."""

    do: Do
    action: str | None = None
    milestone: str
    at_seconds: float  # after the journey's start
    anchor: str | None = None  # `<milestone>.<touchpoint>`: the first of its kind, sent before
    after_anchor_seconds: float = 0.0


class StaffAnswer(BaseModel):
    """How a human answered one escalation (None in `Observed.staff`: nobody did)."""

    decision: Literal["retry", "skip", "reassign", "close"]
    after_seconds: float  # after the escalation opened
    owner: str | None = None


class DealShape(BaseModel):
    """What of the deal a persona keeps: business hours and the playbook depend on it."""

    timezone: str | None = None
    segment: str | None = None
    product: str | None = None
    amount: float | None = None
    currency: str | None = None
    weekday: str | None = None  # the close, in the customer's zone: mon..sun
    minute_of_day: int | None = None


class Observed(BaseModel):
    workflow_id: str
    playbook: str = ""
    marks: list[Mark]
    events: list[CustomerEvent] = Field(default_factory=list)
    owner_acknowledges_after: float | None = None  # median delay; None: never acknowledged
    staff: list[StaffAnswer | None] = Field(default_factory=list)  # per escalation, in order
    deal: DealShape = DealShape()
    span_seconds: float = 0.0  # from the start to the journey's end (or to when it was read)

    @property
    def signature(self) -> Signature:
        return Signature(marks=tuple(self.marks))
