"""Personas: how a customer (and the people around them) behave after the deal closes.

A persona is a YAML file (see docs/lab.md). It belongs to one playbook: the personas of the
playbook named N live in `playbooks/personas/N/` (lab/owned.py). Its clock starts at the
deal's close; a step may instead start its clock at a touchpoint the journey sends
(`after: simplify`). Validated strictly: a bad file fails with file, field and reason.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Discriminator,
    EmailStr,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from contracts.clock import ClockTime
from contracts.expectations import PERSONA_NAME, Duration, Expectation, Weekday, calendar_only
from contracts.moments import MESSAGES
from contracts.strict import StrictFile
from lab.errors import LabError, read_yaml
from playbooks.loader import DEFAULT_DIR

# Every playbook's personas, one folder per playbook name: playbooks/personas/default/.
PERSONAS_DIR = DEFAULT_DIR / "personas"

CalendarDuration = Annotated[Duration, AfterValidator(calendar_only)]
TOUCHPOINTS = tuple(t.value for t in MESSAGES)  # the journey's messages (contracts.moments)


class Trigger(StrictFile):
    """`simplify` (the first simplify of any milestone) or `first_value.direction`."""

    # built from contracts.moments at import: pydantic validates it, mypy cannot read it
    touchpoint: Literal[TOUCHPOINTS]  # type: ignore[valid-type]
    milestone: str | None = None

    @classmethod
    def parse(cls, text: str) -> Trigger:
        milestone, _, touchpoint = text.rpartition(".")
        if touchpoint not in TOUCHPOINTS:
            raise ValueError(
                f"{text!r}: expected one of {', '.join(TOUCHPOINTS)}, optionally after a milestone key (first_value.direction)"
            )
        return cls(touchpoint=touchpoint, milestone=milestone or None)

    def __str__(self) -> str:
        return f"{self.milestone}.{self.touchpoint}" if self.milestone else self.touchpoint


class CustomerStep(StrictFile):
    """One thing the customer (or the CRM) does: `{at: 2h, do: taken, action: dataset_uploaded}`."""

    at: CalendarDuration
    after: str | None = None  # a touchpoint whose sending starts this step's clock
    do: Literal["taken", "failed", "help", "cancel", "unsubscribe"]
    action: str | None = Field(default=None, min_length=1, max_length=128)
    reason: str = Field(default="", max_length=1000)
    message: str = Field(default="", max_length=2000)
    # The product's event id; the same id twice is one event delivered twice (default: one
    # id per step).
    event_id: str | None = Field(default=None, min_length=1, max_length=256)

    @field_validator("after")
    @classmethod
    def _trigger(cls, value: str | None) -> str | None:
        if value is not None:
            Trigger.parse(value)
        return value

    @model_validator(mode="after")
    def _fields_for_kind(self) -> CustomerStep:
        if self.do in ("taken", "failed") and not self.action:
            raise ValueError(f"action: required when do is {self.do!r} (the product event name)")
        if self.do in ("help", "cancel", "unsubscribe") and self.action:
            raise ValueError(f"action: not used when do is {self.do!r}")
        if self.event_id and self.do in ("cancel", "unsubscribe"):
            raise ValueError(f"event_id: not used when do is {self.do!r}")
        if self.reason and self.do not in ("failed", "cancel"):
            raise ValueError("reason: only for do: failed or do: cancel")
        if self.message and self.do != "help":
            raise ValueError("message: only for do: help")
        return self

    @property
    def trigger(self) -> Trigger | None:
        return Trigger.parse(self.after) if self.after else None


class OwnerBehaviour(StrictFile):
    """`acknowledges_after: 1h` (each owner the journey assigns) or `never`."""

    acknowledges_after: Annotated[
        Annotated[CalendarDuration, Tag("After")] | Annotated[Literal["never"], Tag("Never")],
        Discriminator(lambda v: "Never" if v == "never" else "After"),
    ] = "never"


class StaffDecision(StrictFile):
    """How a human answers an escalation: `{resolve: retry, after: 5h}`, counted from the
    escalation's opening."""

    resolve: Literal["retry", "skip", "reassign", "close"]
    after: CalendarDuration
    owner: str | None = None
    by: str = Field(default="staff", min_length=1, max_length=128)
    note: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _owner(self) -> StaffDecision:
        if (self.resolve == "reassign") != (self.owner is not None):
            raise ValueError("owner: required with resolve: reassign, and only then")
        return self


class StaffAction(StrictFile):
    """Something staff do at a moment of their own choosing, escalation or not:
    `{at: 5h, do: pause}`, `{after: simplify, at: 1m, do: extend, until: 6d}` (`until`: the
    new due time, counted from the journey's start), `{at: 2d, do: reassign, owner: leo}`,
    `{at: 3d, do: retry}` (retry, skip, close: resolve the open escalation). The journey may
    refuse one that does not apply then; the timeline shows it refused."""

    at: CalendarDuration
    after: str | None = None  # a touchpoint whose sending starts this action's clock
    do: Literal["pause", "resume", "extend", "reassign", "retry", "skip", "close"]
    owner: str | None = Field(default=None, min_length=1, max_length=128)
    until: CalendarDuration | None = None
    by: str = Field(default="staff", min_length=1, max_length=128)

    @field_validator("after")
    @classmethod
    def _trigger(cls, value: str | None) -> str | None:
        if value is not None:
            Trigger.parse(value)
        return value

    @model_validator(mode="after")
    def _fields_for_kind(self) -> StaffAction:
        if (self.do == "reassign") != (self.owner is not None):
            raise ValueError("owner: required with do: reassign, and only then")
        if (self.do == "extend") != (self.until is not None):
            raise ValueError("until: required with do: extend, and only then")
        return self

    @property
    def trigger(self) -> Trigger | None:
        return Trigger.parse(self.after) if self.after else None


class Closes(StrictFile):
    """When the deal closes, in the customer's time zone: the next `day` at `at` in the lab,
    or a pinned `date` at `at` (a DST-change week, a holiday); exactly one of day and date.
    A pinned date must lie ahead of the lab's clock, which starts at the real time."""

    day: Weekday | None = None
    date: dt.date | None = None
    at: ClockTime

    @model_validator(mode="after")
    def _day_or_date(self) -> Closes:
        if (self.day is None) == (self.date is None):
            raise ValueError("closes: give exactly one of day (mon..sun) and date (YYYY-MM-DD)")
        return self


class AccountSpec(StrictFile):
    id: str | None = None
    name: str | None = None
    timezone: str | None = None
    locale: str | None = None


class ContactSpec(StrictFile):
    email: EmailStr
    name: str = ""
    role: str = ""
    # The contact's own locale, form of address and family name (contracts/deal.py `Contact`).
    locale: str = ""
    form_of_address: str = ""
    family_name: str = ""


class DealSpec(StrictFile):
    """What this persona's deal looks like, over the lab's sample deal (or `--deal`)."""

    segment: str | None = None
    product: str | None = None
    amount: float | None = Field(default=None, ge=0)
    currency: str | None = None
    account: AccountSpec = AccountSpec()
    contacts: list[ContactSpec] | None = None
    closes: Closes | None = None


class Persona(StrictFile):
    name: str = Field(pattern=PERSONA_NAME, max_length=64)
    description: str = ""
    deal: DealSpec = DealSpec()
    customer: Annotated[
        Annotated[list[CustomerStep], Tag("Steps")] | Annotated[Literal["never"], Tag("Never")],
        Discriminator(lambda v: "Never" if isinstance(v, str) else "Steps"),
    ] = "never"
    owner: OwnerBehaviour = OwnerBehaviour()
    # One decision for every escalation, one per escalation in order (later ones go
    # unanswered), or nobody answers.
    staff: Annotated[
        Annotated[StaffDecision, Tag("One")]
        | Annotated[list[StaffDecision], Tag("Each")]
        | Annotated[Literal["never"], Tag("Never")],
        Discriminator(lambda v: "Never" if isinstance(v, str) else "Each" if isinstance(v, list) else "One"),
    ] = "never"
    staff_actions: list[StaffAction] = Field(default_factory=list)
    # The journey continues as new after this many transitions (JourneyInput.continue_as_new_after).
    continue_as_new_after: int | None = Field(default=None, ge=1)
    horizon: CalendarDuration = Duration.model_validate("30d")
    expectations: list[Expectation] = Field(default_factory=list)

    @property
    def steps(self) -> list[CustomerStep]:
        return [] if self.customer == "never" else list(self.customer)

    @property
    def decisions(self) -> tuple[list[StaffDecision], bool]:
        """(decisions, repeat the first for every escalation)."""
        if self.staff == "never":
            return [], False
        if isinstance(self.staff, StaffDecision):
            return [self.staff], True
        return list(self.staff), False


class PersonaFile(BaseModel):
    path: Path
    persona: Persona


def load_persona(path: Path) -> PersonaFile:
    return PersonaFile(path=path, persona=read_yaml(path, Persona))


def load_personas(paths: list[Path] | None = None) -> list[PersonaFile]:
    """The given persona files (a folder means every *.yaml in it), default every playbook's
    shipped personas (each folder of playbooks/personas/). Every bad file is reported, with
    file, field and reason, before anything runs. Names are unique within a folder: two
    playbooks may each have their own `silent`."""
    files: list[Path] = []
    for path in paths or sorted(p for p in PERSONAS_DIR.iterdir() if p.is_dir()):
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise LabError(f"no persona files found in {', '.join(str(p) for p in paths or [PERSONAS_DIR])}")
    loaded, problems = [], []
    for path in files:
        try:
            loaded.append(load_persona(path))
        except LabError as err:
            problems.append(str(err))
    # the shipped set: unique per playbook's folder; files given by hand: unique among them
    seen: dict[tuple[Path | None, str], list[str]] = {}
    for p in loaded:
        seen.setdefault((None if paths else p.path.parent, p.persona.name), []).append(str(p.path))
    for (_, name), where in seen.items():
        if len(where) > 1:
            problems.append(f"persona name {name!r} is used by more than one file: {', '.join(where)}")
    if problems:
        raise LabError("\n".join(problems))
    return loaded
