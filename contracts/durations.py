"""A playbook's durations: a window, a follow-up's wait, an escalation's SLA, the owner's
acknowledgement. Written as a number of hours (`48`: what every playbook wrote before) or in
words: `"48 hours"` (calendar time), `"16 business hours"` or `"2 business days"` (open hours
of a calendar: the customer's for windows and follow-ups, the owner's for SLAs;
workflows/business_hours.py counts them). Read back as written, so a snapshot of a playbook
written in numbers is the same JSON as before (docs/playbooks.md, "Business time")."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_serializer

Unit = Literal["hours", "business hours", "business days"]

ACCEPTED = "a number of hours like 48, or '48 hours', '16 business hours', '2 business days'"
NOT_A_DURATION = f"expected {ACCEPTED}"
_WORDS = re.compile(r"^(\d+(?:\.\d+)?)\s+(business\s+)?(hour|hours|day|days)$", re.IGNORECASE)


class Duration(BaseModel):
    """How long, and in which time: calendar hours, or a calendar's open hours or days (a
    business day is one day's opening hours). `bare`: written as a plain number."""

    model_config = ConfigDict(frozen=True)

    amount: float
    unit: Unit = "hours"
    bare: bool = True

    @model_serializer
    def _as_written(self) -> float | str:
        return float(self.amount) if self.bare else self.text

    @property
    def business(self) -> bool:
        return self.unit != "hours"

    @property
    def text(self) -> str:
        unit = self.unit[:-1] if self.amount == 1 else self.unit
        return f"{self.amount:g} {unit}"

    @property
    def nominal_hours(self) -> float:
        """Hours as if every hour counted: exact for calendar time; for reports and sanity
        checks only (a business day counts as a day)."""
        return self.amount * (24 if self.unit == "business days" else 1)

    def __str__(self) -> str:
        # "24h" is how summaries and timelines wrote a number of hours before words existed
        return f"{self.amount:g}h" if self.unit == "hours" and self.bare else self.text

    def __eq__(self, other: object) -> bool:
        # a duration written as a number is that number (`window_hours == 72`)
        if isinstance(other, int | float) and not isinstance(other, bool):
            return self.bare and self.amount == other
        if isinstance(other, Duration):
            return (self.amount, self.unit, self.bare) == (other.amount, other.unit, other.bare)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.amount) if self.bare else hash((self.amount, self.unit))


def _parse(bare_unit: Unit) -> Any:
    def parse(value: Any) -> Any:
        if isinstance(value, Duration):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"amount": value, "unit": bare_unit, "bare": True}
        if isinstance(value, str):
            text = " ".join(value.split())
            found = _WORDS.match(text)
            if found and (found[2] or found[3].lower().startswith("hour")):
                unit = ("business " if found[2] else "") + ("days" if found[3].lower().startswith("day") else "hours")
                return {"amount": float(found[1]), "unit": unit, "bare": False}
            try:  # "48" in quotes is still the number
                return {"amount": float(text), "unit": bare_unit, "bare": True}
            except ValueError:
                pass
        # playbooks/hints.py tells a file's author the hours to write for "2 days"
        raise ValueError(NOT_A_DURATION)

    return parse


def _bounded(maximum: float, *, zero: bool) -> Any:
    def check(value: Duration) -> Duration:
        if not (value.amount > 0 or (zero and value.amount == 0)):  # also refuses NaN
            raise ValueError(f"{value}: a duration is above 0" + (" (0 turns it off)" if zero else ""))
        if value.nominal_hours > maximum:
            raise ValueError(f"{value}: at most {maximum:g} hours ({maximum / 24:g} days)")
        return value

    return check


# The duration fields' types: a plain number means calendar hours, except the owner's
# acknowledgement, whose number always meant business hours (and 0 turns it off).
WindowDuration = Annotated[  # at most 90 days
    Duration, BeforeValidator(_parse("hours")), AfterValidator(_bounded(24 * 90, zero=False))
]
WaitDuration = Annotated[  # at most 30 days: a follow-up's wait, an SLA
    Duration, BeforeValidator(_parse("hours")), AfterValidator(_bounded(24 * 30, zero=False))
]
AcknowledgementDuration = Annotated[  # at most 5 days
    Duration, BeforeValidator(_parse("business hours")), AfterValidator(_bounded(24 * 5, zero=True))
]


def calendar_hours(amount: float) -> Duration:
    return Duration(amount=amount)


def in_business_hours(amount: float) -> Duration:
    """A bare number of business hours (the owner's acknowledgement as written before words)."""
    return Duration(amount=amount, unit="business hours")
