"""The owner roster: who can own a journey, their capacity, time off and backup."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic import EmailStr, Field, field_validator, model_validator

from contracts import languages
from contracts.playbook import normalise
from contracts.strict import StrictFile
from playbooks.loader import PlaybookError, read_yaml_model

DEFAULT_ROSTER = Path(__file__).parent / "owners.yaml"


class TimeOff(StrictFile):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> TimeOff:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class Manager(StrictFile):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    email: EmailStr
    slack: str = ""
    # Where the manager's working hours are counted, when a playbook's SLA in business time
    # waits on them (docs/owners.md, "An owner's working hours").
    timezone: str = "UTC"


class RosterOwner(StrictFile):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9._-]+$")
    name: str = Field(min_length=1)
    email: EmailStr
    slack: str = ""
    segments: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    timezone: str = "UTC"
    capacity: int = Field(default=50, ge=1)
    out_of_office: list[TimeOff] = Field(default_factory=list)
    backup: str | None = None
    # The languages the owner answers customers in (`[de, en]`): a customer whose locale is
    # one of them goes to such an owner first, when one has room (docs/owners.md).
    languages: list[str] = Field(default_factory=list)

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        return [languages.canonical(code) for code in value]

    def speaks(self, language: str) -> bool:
        """Whether the owner answers in `language` (`de`; any region of it counts)."""
        return bool(language) and any(code.split("_")[0] == language for code in self.languages)

    def available_on(self, day: date) -> bool:
        return not any(off.start <= day <= off.end for off in self.out_of_office)

    def serves(self, segment: str) -> bool:
        """Names compared as playbook selection compares them (`schema.normalise`): an owner
        of `mid-market` serves a deal the CRM calls `Mid-Market`."""
        wanted = normalise(segment)
        return "*" in self.segments or any(normalise(s) == wanted for s in self.segments)


class Roster(StrictFile):
    manager: Manager | None = None
    owners: list[RosterOwner] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Roster:
        ids = [o.id for o in self.owners]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"owners: duplicate id(s) {dupes}")
        for i, owner in enumerate(self.owners):
            if owner.backup is not None and owner.backup not in ids:
                raise ValueError(f"owners.{i}.backup: no owner with id {owner.backup!r}")
        return self

    def by_id(self, owner_id: str) -> RosterOwner | None:
        return next((o for o in self.owners if o.id == owner_id), None)


def roster_path() -> Path:
    return Path(os.environ.get("ONBOARDING_ROSTER") or DEFAULT_ROSTER)


def load_roster(path: Path | None = None) -> Roster:
    roster, _ = read_yaml_model(path or roster_path(), Roster)
    assert isinstance(roster, Roster)
    return roster


__all__ = ["PlaybookError", "Roster", "RosterOwner", "load_roster", "roster_path"]
