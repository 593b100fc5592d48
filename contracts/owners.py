"""Owners as a journey knows them: the person accountable and who stands behind them."""

from __future__ import annotations

from pydantic import BaseModel


class Person(BaseModel):
    id: str
    name: str
    email: str
    slack: str = ""
    timezone: str = "UTC"


class OwnerAssignment(BaseModel):
    owner: Person
    backup: Person | None = None
    manager: Person | None = None
    # Defaults keep histories recorded before these fields decoding (docs/owners.md).
    # Every eligible owner was full: `owner` took the journey beyond capacity.
    over_capacity: bool = False
    # Why nobody on the roster could take it (nobody serves the segment, everyone is away);
    # then `owner` is the manager, so the kickoff still goes out "from the team".
    unstaffed: str = ""
