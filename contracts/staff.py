"""What staff ask of a journey: the updates' requests (resolve_escalation, reassign_owner,
extend_deadline, pause, resume) and the decisions an escalation takes."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import Field, field_validator, model_validator

from contracts.strict import Strict


class Decision(str, Enum):
    retry = "retry"
    skip = "skip"
    reassign = "reassign"
    close = "close"


class ResolveEscalation(Strict):
    decision: Decision
    owner: str | None = Field(default=None, max_length=128)
    note: str = Field(default="", max_length=2000)
    by: str = Field(min_length=1, max_length=128)

    @model_validator(mode="after")
    def _owner_only_for_reassign(self) -> ResolveEscalation:
        if self.decision is Decision.reassign and not self.owner:
            raise ValueError("owner: required when decision is 'reassign'")
        if self.decision is not Decision.reassign and self.owner:
            raise ValueError("owner: only allowed when decision is 'reassign'")
        return self


class ReassignOwner(Strict):
    owner: str = Field(min_length=1, max_length=128)
    by: str = Field(min_length=1, max_length=128)
    note: str = Field(default="", max_length=2000)


# How far staff may move a due time: far enough for any real plan, near enough that the
# timer arithmetic never overflows.
EXTEND_AT_MOST_DAYS = 365


class ExtendDeadline(Strict):
    until: datetime
    by: str = Field(min_length=1, max_length=128)
    note: str = Field(default="", max_length=2000)

    @field_validator("until")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone offset, e.g. 2026-11-27T09:00:00+09:00")
        if value.year >= 9999:
            raise ValueError("must be a real date, within a year from now")
        return value


class Pause(Strict):
    by: str = Field(min_length=1, max_length=128)
    reason: str = Field(default="", max_length=2000)


class Resume(Strict):
    by: str = Field(min_length=1, max_length=128)
    note: str = Field(default="", max_length=2000)
