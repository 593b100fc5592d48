"""Owners: the person accountable for a journey and who stands behind them; what the
journey asks the owner activities (assign, release), and what those ask the owner roster
(a place with an owner, or its release; owners/workflow.py)."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from contracts.strict import Carried, Strict


class Person(Carried):
    id: str
    name: str
    email: str
    slack: str = ""
    timezone: str = "UTC"


class OwnerAssignment(Carried):
    owner: Person
    backup: Person | None = None
    manager: Person | None = None
    # Defaults keep histories recorded before these fields decoding (docs/owners.md).
    # Every eligible owner was full: `owner` took the journey beyond capacity.
    over_capacity: bool = False
    # Why nobody on the roster could take it (nobody serves the segment, everyone is away);
    # then `owner` is the manager, so the kickoff still goes out "from the team".
    unstaffed: str = ""


# --- the owner activities ----------------------------------------------------------------------


class AssignOwnerRequest(Carried):
    deal_id: str
    segment: str
    as_of: date  # the journey's today (workflow time), for out-of-office checks
    preferred: str | None = None  # a staff member's explicit choice (reassign)
    exclude: list[str] = Field(default_factory=list)
    # The journey holding the place; empty means the workflow calling the activity.
    journey_id: str = ""
    # The customer's language (`de`; from the contact's locale, else the account's): an owner
    # who speaks it is preferred. Empty: no preference (and in requests made before it).
    language: str = ""


class ReleaseOwnerRequest(Carried):
    deal_id: str = ""  # for the log line only
    journey_id: str = ""  # empty means the workflow calling the activity


# --- places in the owner roster ------------------------------------------------------------------

# The roster carries every place across continue-as-new in one payload, and Temporal refuses
# a payload over 2 MB. So the bound is on the bytes carried, not on a count of places: about
# 68,000 journeys with ids like `onboarding-D-123456`, 11,000 with ids of the longest kind
# (128 characters); a place over capacity is listed twice, so it counts twice. The rest of the
# 2 MB is headroom for the envelope and the codec.
CARRIED_BYTES = 1_500_000
ID_LENGTH = 128
MAX_CANDIDATES = 1_000


class Candidate(Strict):
    owner_id: str = Field(min_length=1, max_length=ID_LENGTH)
    capacity: int = Field(ge=1)
    # Speaks the customer's language: chosen before the others while they have room. False
    # in every allocation recorded before it existed, which therefore replays as decided.
    speaks_language: bool = False


class Allocate(Strict):
    """Give `journey_id` a place with one of `candidates` (eligible owners, in preference
    order), or with `preferred` whatever its load (a staff member's explicit choice)."""

    journey_id: str = Field(min_length=1, max_length=ID_LENGTH)
    candidates: list[Candidate] = Field(min_length=1, max_length=MAX_CANDIDATES)
    preferred: str | None = Field(default=None, min_length=1, max_length=ID_LENGTH)

    @model_validator(mode="after")
    def _consistent(self) -> Allocate:
        ids = [c.owner_id for c in self.candidates]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"candidates: owner id(s) listed twice {dupes}")
        if self.preferred is not None and self.preferred not in ids:
            raise ValueError(f"preferred: {self.preferred!r} is not among the candidates")
        return self


class Place(Carried):
    owner_id: str
    over_capacity: bool = False  # the owner was full when the place was given
    load: int  # places the owner holds, this one included


class Release(Strict):
    journey_id: str = Field(min_length=1, max_length=ID_LENGTH)


class Released(Carried):
    journey_id: str
    owner_id: str | None = None  # None: the journey held no place (already released)
