"""A behaviour script: what one simulated customer, owner and staff will do, compiled from
a persona file or extracted from a recorded journey. Plain data, safe inside a workflow."""

from __future__ import annotations

import datetime as dt
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class StartInPast(ValueError):
    """A pinned close date that the lab's clock has already passed."""


class StartRule(BaseModel):
    """When the journey starts: the next moment (at or after the lab's clock) that falls on
    this weekday and local time. Business hours depend on nothing else, so a deal closed on
    any Friday 17:30 in Sydney walks the same journey. With a pinned `date` (a DST-change
    week, a holiday), exactly that local moment: the lab's clock moves ahead to it, and one
    already past is refused (`StartInPast`) rather than walked on another day."""

    on: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    at: time
    timezone: str
    date: dt.date | None = None

    @classmethod
    def pinned(cls, day: dt.date, at: time, timezone: str) -> StartRule:
        return cls(on=WEEKDAYS[day.weekday()], at=at, timezone=timezone, date=day)

    def next_after(self, now: datetime) -> datetime:
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        if self.date is not None:
            moment = datetime.combine(self.date, self.at, tzinfo=zone)
            if moment < local:
                raise StartInPast(
                    f"closes: {self.date.isoformat()} {self.at.isoformat('minutes')} {self.timezone} has passed "
                    f"on the lab's clock ({local.isoformat(timespec='minutes')}): pin a date ahead of it"
                )
            return moment.astimezone(now.tzinfo)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if WEEKDAYS[day.weekday()] != self.on:
                continue
            candidate = datetime.combine(day, self.at, tzinfo=zone)
            if candidate >= local:
                return candidate.astimezone(now.tzinfo)
        raise AssertionError("a weekday recurs within 8 days")

    @classmethod
    def of(cls, moment: datetime, timezone: str) -> StartRule:
        local = moment.astimezone(ZoneInfo(timezone))
        return cls(on=WEEKDAYS[local.weekday()], at=local.timetz().replace(tzinfo=None), timezone=timezone)


class Trigger(BaseModel):
    """A touchpoint whose sending starts a step's clock."""

    touchpoint: str
    milestone: str | None = None

    def matches(self, sighting: Sighting) -> bool:
        return (
            sighting.what in ("message", "escalation")
            and sighting.touchpoint == self.touchpoint
            and (self.milestone is None or sighting.milestone == self.milestone)
        )

    def __str__(self) -> str:
        return f"{self.milestone}.{self.touchpoint}" if self.milestone else self.touchpoint


class Send(BaseModel):
    """A signal or an update to the journey, sent through the Temporal client."""

    kind: Literal["signal", "update"]
    name: str
    payload: dict[str, Any] = Field(default_factory=dict)
    # Payload fields that are moments, as seconds after the journey's start (a recorded
    # `extend_deadline` moves with the journey).
    moments: dict[str, float] = Field(default_factory=dict)
    # Payload fields that are the moment of sending (an unsubscribe's `at`).
    now: list[str] = Field(default_factory=list)

    def resolved(self, start: datetime, now: datetime | None = None) -> dict[str, Any]:
        payload = dict(self.payload)
        for field, seconds in self.moments.items():
            payload[field] = (start + timedelta(seconds=seconds)).isoformat()
        for field in self.now:
            payload[field] = (now or start).isoformat()
        return payload


class Step(BaseModel):
    at_seconds: float
    after: Trigger | None = None
    send: Send
    label: str


class StaffRule(BaseModel):
    """The answer to one escalation, `after_seconds` after it opened."""

    decision: Literal["retry", "skip", "reassign", "close"]
    after_seconds: float
    owner: str | None = None
    by: str = "staff"
    note: str = ""

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"decision": self.decision, "by": self.by, "note": self.note}
        if self.owner:
            body["owner"] = self.owner
        return body


class Script(BaseModel):
    label: str  # the persona's name, or the recorded journey's workflow id
    workflow_id: str  # the journey's
    journey_input: dict[str, Any]  # JourneyInput as JSON
    summary: str = ""
    details: str = ""
    search_attributes: dict[str, str] = Field(default_factory=dict)  # keyword attributes at start
    start: StartRule
    horizon_seconds: float
    steps: list[Step] = Field(default_factory=list)
    owner_acknowledges_after_seconds: float | None = None
    staff: list[StaffRule | None] = Field(default_factory=list)  # None: that escalation goes unanswered
    staff_repeat: bool = False  # the first rule answers every escalation
    stamp_close: bool = False  # the deal's closed_at becomes the moment the journey starts
    # Ask the journey's `status` after each delivery (the explorer checks it answers).
    status_after_steps: bool = False

    def staff_rule(self, escalation: int) -> StaffRule | None:
        """The rule for the n-th escalation (0-based)."""
        if self.staff_repeat and self.staff:
            return self.staff[0]
        return self.staff[escalation] if escalation < len(self.staff) else None


class Sighting(BaseModel):
    """What the captured outside world tells the persona: a message went out, an owner was
    assigned, an escalation opened (level 1) or moved up."""

    what: Literal["message", "owner", "escalation"]
    at: datetime
    touchpoint: str = ""
    milestone: str = ""
    owner: str = ""
    level: int = 0


class Note(BaseModel):
    at: datetime
    lane: Literal["customer", "owner", "staff", "crm"]
    text: str
    done: bool = True  # False: the journey refused it or it could not be sent
    status: dict[str, Any] | None = None  # the journey's `status` right after, when asked
    status_problem: str = ""


class PersonaOutcome(BaseModel):
    label: str
    workflow_id: str
    started_at: datetime
    ended_at: datetime
    notes: list[Note] = Field(default_factory=list)
    not_reached: list[str] = Field(default_factory=list)  # steps whose trigger never came
    final_status: dict[str, Any] | None = None  # the journey's `status` query, when asked for


class StartJourney(BaseModel):
    workflow_id: str
    journey_input: dict[str, Any]
    summary: str
    details: str
    search_attributes: dict[str, str]


class Delivery(BaseModel):
    """A signal or update to send now, through the client."""

    workflow_id: str
    kind: Literal["signal", "update"]
    name: str
    payload: dict[str, Any]
    status: bool = False  # ask the journey's `status` afterwards


class Delivered(BaseModel):
    ok: bool
    problem: str = ""
    status: dict[str, Any] | None = None  # the journey's answer, when asked
    status_problem: str = ""  # why it gave none (a journey that ended cannot answer)


class Finish(BaseModel):
    workflow_id: str
