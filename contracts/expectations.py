"""Expectations: what must hold when a persona walks a playbook (the journey lab's test).

A small, strict grammar: each expectation is a mapping with exactly one key naming what is
checked, and a value of a fixed shape. Written in a persona file or in a playbook's
`expectations:` block (keyed by persona name, or `every` for all personas):

    expectations:
      every:
        - business_hours_only: proactive
        - proactive_per_business_day: {at_most: 1}
      silent:
        - escalated: {within: 6 business days}
      fast-starter:
        - follow_ups: {at_most: 0}

Durations are `30m`, `2h`, `3d`, `1w` (calendar time) or `4 business hours`,
`6 business days` (the playbook's business hours in the customer's time zone; a business
day is one full day of those hours). Everything is measured from the deal's close.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_serializer,
    model_validator,
)

from contracts.clock import ClockTime
from contracts.strict import StrictFile

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PERSONA_NAME = r"^[a-z][a-z0-9-]*$"
PersonaName = Annotated[str, StringConstraints(pattern=PERSONA_NAME, max_length=64)]

_CALENDAR = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_BUSINESS = re.compile(r"^(\d+(?:\.\d+)?)\s+business\s+(hour|hours|day|days)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION_HELP = "a duration like 30m, 2h, 3d, 1w, '4 business hours' or '6 business days'"


class Duration(StrictFile):
    """`2h` (calendar) or `6 business days` (the playbook's business calendar). Written and
    read back as that text."""

    text: str
    seconds: float = 0  # calendar time, when not business
    business: Literal["hours", "days"] | None = None
    amount: float = 0  # how many business hours or days

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected {DURATION_HELP}, got {value!r}")
        text = " ".join(value.strip().split())
        if found := _CALENDAR.match(text):
            return {"text": text, "seconds": float(found[1]) * _UNIT_SECONDS[found[2]]}
        if found := _BUSINESS.match(text):
            unit = "hours" if found[2].startswith("hour") else "days"
            return {"text": text, "business": unit, "amount": float(found[1])}
        raise ValueError(f"expected {DURATION_HELP}, got {value!r}")

    @model_serializer
    def _as_text(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def calendar_only(value: Duration) -> Duration:
    if value.business:
        raise ValueError(f"{value.text!r}: use calendar time here (30m, 2h, 3d, 1w), not business time")
    return value


# --- the values ---------------------------------------------------------------------------


class Within(StrictFile):
    within: Duration


class Count(StrictFile):
    at_most: int | None = Field(default=None, ge=0)
    at_least: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounded(self) -> Count:
        if self.at_most is None and self.at_least is None:
            raise ValueError("give at_most, at_least or both")
        if self.at_most is not None and self.at_least is not None and self.at_least > self.at_most:
            raise ValueError("at_least is larger than at_most")
        return self

    def describe(self) -> str:
        parts = ([f"at least {self.at_least}"] if self.at_least is not None else []) + (
            [f"at most {self.at_most}"] if self.at_most is not None else []
        )
        return " and ".join(parts)

    def holds(self, n: int) -> bool:
        return (self.at_most is None or n <= self.at_most) and (self.at_least is None or n >= self.at_least)


class KickoffWhen(StrictFile):
    """`{day: mon, at: "09:00"}` (the customer's local weekday and time) or `{within: 2h}`.
    (`day`, not `on`: YAML reads a bare `on` as true.)"""

    day: Weekday | None = None
    at: ClockTime | None = None
    within: Duration | None = None

    @model_validator(mode="after")
    def _one_form(self) -> KickoffWhen:
        moment = self.day is not None or self.at is not None
        if moment == (self.within is not None):
            raise ValueError("give either day and at (local weekday and time) or within")
        if moment and (self.day is None or self.at is None):
            raise ValueError("give both day (mon..sun) and at (HH:MM, local)")
        return self


class Reaches(StrictFile):
    state: Literal["awaiting_action", "clarifying", "escalated", "activated", "closed"]
    within: Duration | None = None


class Completes(StrictFile):
    milestone: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    within: Duration


# --- the expectations (one key each) ------------------------------------------------------


class Kickoff(StrictFile):
    """The first direction to the customer: at a local weekday and time, or within a time of the close."""

    kickoff: KickoffWhen

    def describe(self) -> str:
        k = self.kickoff
        if k.within is None:
            return f"kickoff on {k.day} {k.at:%H:%M} local"
        return f"kickoff within {k.within}"


class FollowUps(StrictFile):
    """Clarify, simplify and redirect messages, all milestones together."""

    follow_ups: Count

    def describe(self) -> str:
        return "no follow-up" if self.follow_ups.at_most == 0 else f"{self.follow_ups.describe()} follow-up(s)"


class Escalated(StrictFile):
    """A human task opened (level 1) within a time of the close, or never."""

    escalated: Annotated[
        Annotated[Within, Tag("within")] | Annotated[Literal["never"], Tag("never")],
        Discriminator(lambda v: "never" if isinstance(v, str) else "within"),
    ]

    def describe(self) -> str:
        return "never escalated" if self.escalated == "never" else f"escalated within {self.escalated.within}"


class ReachesState(StrictFile):
    reaches: Reaches

    def describe(self) -> str:
        r = self.reaches
        return f"reaches {r.state}" + (f" within {r.within}" if r.within else "")


class CompletesMilestone(StrictFile):
    completes: Completes

    def describe(self) -> str:
        return f"completes {self.completes.milestone} within {self.completes.within}"


class Messages(StrictFile):
    """Every message to the customer (proactive and replies)."""

    messages: Count

    def describe(self) -> str:
        return f"{self.messages.describe()} customer message(s)"


class Humans(StrictFile):
    """Escalations opened: how often a human was needed."""

    humans: Count

    def describe(self) -> str:
        return f"{self.humans.describe()} escalation(s)"


class BusinessHoursOnly(StrictFile):
    """No proactive customer message (or no customer message at all, with `all`) outside
    the playbook's business hours in the customer's time zone. Replies to the customer's
    own action go out at once by design, so `proactive` is the usual choice."""

    business_hours_only: Literal["proactive", "all"]

    def describe(self) -> str:
        which = "proactive customer message" if self.business_hours_only == "proactive" else "customer message"
        return f"no {which} outside business hours"


class ProactivePerBusinessDay(StrictFile):
    proactive_per_business_day: Count

    def describe(self) -> str:
        return f"{self.proactive_per_business_day.describe()} proactive message(s) per business day"


_KINDS: dict[str, type[StrictFile]] = {
    "kickoff": Kickoff,
    "follow_ups": FollowUps,
    "escalated": Escalated,
    "reaches": ReachesState,
    "completes": CompletesMilestone,
    "messages": Messages,
    "humans": Humans,
    "business_hours_only": BusinessHoursOnly,
    "proactive_per_business_day": ProactivePerBusinessDay,
}


def _kind(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in _KINDS else None
    if isinstance(value, BaseModel):
        return next((k for k, m in _KINDS.items() if isinstance(value, m)), None)
    return None


Expectation = Annotated[
    # one arm per _KINDS entry, in its order (written out so that type checkers see the union)
    Annotated[Kickoff, Tag("kickoff")]
    | Annotated[FollowUps, Tag("follow_ups")]
    | Annotated[Escalated, Tag("escalated")]
    | Annotated[ReachesState, Tag("reaches")]
    | Annotated[CompletesMilestone, Tag("completes")]
    | Annotated[Messages, Tag("messages")]
    | Annotated[Humans, Tag("humans")]
    | Annotated[BusinessHoursOnly, Tag("business_hours_only")]
    | Annotated[ProactivePerBusinessDay, Tag("proactive_per_business_day")],
    Discriminator(
        _kind,
        custom_error_type="expectation",
        custom_error_message=f"an expectation is a mapping with one key, one of: {', '.join(_KINDS)}",
    ),
]

# The playbook block: persona name (or `every`) -> expectations.
ExpectationBlock = dict[PersonaName, list[Expectation]]

__all__ = [
    "WEEKDAY_NAMES",
    "Duration",
    "Expectation",
    "ExpectationBlock",
    "PersonaName",
    "calendar_only",
]
