"""Places with owners: which journeys hold a place with which owner.

Pure data and decisions, no I/O: the owner-roster workflow applies them one update at a
time, and every rule is unit-tested without a server. Capacity is not stored here: the
roster file is the truth for it, and each request brings the candidates' current capacity.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

# Bounds on what the roster carries across continue-as-new: 10,000 places of ids up to 128
# characters is at most ~1.4 MB of JSON, under Temporal's 2 MB payload limit (a typical
# `onboarding-D-12345` id makes it ~250 KB).
MAX_PLACES = 10_000
ID_LENGTH = 128
MAX_CANDIDATES = 1_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Candidate(_Strict):
    owner_id: str = Field(min_length=1, max_length=ID_LENGTH)
    capacity: int = Field(ge=1)


class Allocate(_Strict):
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


class Place(BaseModel):
    owner_id: str
    over_capacity: bool = False  # the owner was full when the place was given
    load: int  # places the owner holds, this one included


class Release(_Strict):
    journey_id: str = Field(min_length=1, max_length=ID_LENGTH)


class Released(BaseModel):
    journey_id: str
    owner_id: str | None = None  # None: the journey held no place (already released)


class Places(BaseModel):
    """Owner id -> the journey workflow ids holding a place with them, in the order given."""

    holders: dict[str, list[str]] = Field(default_factory=dict)
    over_capacity: list[str] = Field(default_factory=list)  # journeys placed beyond capacity
    _owner_of: dict[str, str] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context: object) -> None:
        self._owner_of = {j: owner for owner, journeys in self.holders.items() for j in journeys}

    @property
    def total(self) -> int:
        return len(self._owner_of)

    def owner_of(self, journey_id: str) -> str | None:
        return self._owner_of.get(journey_id)

    def load(self, owner_id: str) -> int:
        return len(self.holders.get(owner_id, ()))

    def loads(self) -> dict[str, int]:
        return {owner: len(journeys) for owner, journeys in sorted(self.holders.items())}

    def refusal(self, request: Allocate) -> str | None:
        """Why this request cannot be served now, or None. Only a full ledger refuses."""
        if self.owner_of(request.journey_id) is None and self.total >= MAX_PLACES:
            return (
                f"journey_id: no place left for {request.journey_id!r}: the roster holds "
                f"{MAX_PLACES} places; release those of ended journeys (docs/owners.md)"
            )
        return None

    def allocate(self, request: Allocate) -> Place:
        """Idempotent by journey: a journey that already holds a place with an acceptable
        owner keeps it; one whose owner is no longer acceptable (excluded, or a different
        explicit choice) moves, freeing the old place."""
        journey = request.journey_id
        current = self.owner_of(journey)
        if current is not None:
            acceptable = (
                current == request.preferred
                if request.preferred
                else any(c.owner_id == current for c in request.candidates)
            )
            if acceptable:
                return Place(owner_id=current, over_capacity=journey in self.over_capacity, load=self.load(current))
            self.release(journey)
        chosen = self.choose(request)
        over = self.load(chosen.owner_id) >= chosen.capacity
        self.holders.setdefault(chosen.owner_id, []).append(journey)
        self._owner_of[journey] = chosen.owner_id
        if over:
            self.over_capacity.append(journey)
        return Place(owner_id=chosen.owner_id, over_capacity=over, load=self.load(chosen.owner_id))

    def choose(self, request: Allocate) -> Candidate:
        """The preferred owner; else the least-loaded candidate with room; nobody has room,
        the least-loaded candidate (over capacity). Ties go to the earlier candidate."""
        if request.preferred:
            return next(c for c in request.candidates if c.owner_id == request.preferred)
        ranked = sorted(enumerate(request.candidates), key=lambda ic: (self.load(ic[1].owner_id), ic[0]))
        with_room = [c for _, c in ranked if self.load(c.owner_id) < c.capacity]
        return with_room[0] if with_room else ranked[0][1]

    def release(self, journey_id: str) -> Released:
        owner = self._owner_of.pop(journey_id, None)
        if owner is not None:
            journeys = self.holders[owner]
            journeys.remove(journey_id)
            if not journeys:
                del self.holders[owner]
            if journey_id in self.over_capacity:
                self.over_capacity.remove(journey_id)
        return Released(journey_id=journey_id, owner_id=owner)

    def describe(self) -> str:
        """Markdown for the Web UI's current details: what staff see on the roster."""
        if not self.holders:
            return "No places held."
        rows = "\n".join(f"| {owner} | {load} |" for owner, load in self.loads().items())
        return (
            f"**{self.total} places held**, {len(self.over_capacity)} of them over capacity "
            f"(list those journeys with `OwnerOverCapacity = true`).\n\n| owner | places |\n|---|---|\n{rows}"
        )
