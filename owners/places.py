"""Places with owners: which journeys hold a place with which owner.

Pure data and decisions, no I/O: the owner-roster workflow applies them one update at a
time, and every rule is unit-tested without a server. Capacity is not stored here: the
roster file is the truth for it, and each request brings the candidates' current capacity.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field, PrivateAttr

from contracts.owners import CARRIED_BYTES, Allocate, Candidate, Place, Released


def carried_size(value: str) -> int:
    """Bytes `value` takes in the carried JSON: quoted, escaped, UTF-8, and a separator."""
    return len(json.dumps(value, ensure_ascii=False).encode()) + 1


# An owner's entry besides its journeys: its quoted id, the colon, the brackets.
_OWNER_ENTRY = 3


class Places(BaseModel):
    """Owner id -> the journey workflow ids holding a place with them, in the order given."""

    holders: dict[str, list[str]] = Field(default_factory=dict)
    over_capacity: list[str] = Field(default_factory=list)  # journeys placed beyond capacity
    _owner_of: dict[str, str] = PrivateAttr(default_factory=dict)
    _carried: int = PrivateAttr(default=0)

    def model_post_init(self, _context: object) -> None:
        self._owner_of = {j: owner for owner, journeys in self.holders.items() for j in journeys}
        self._carried = sum(carried_size(o) + _OWNER_ENTRY for o in self.holders) + sum(
            carried_size(j) for j in (*self._owner_of, *self.over_capacity)
        )

    @property
    def total(self) -> int:
        return len(self._owner_of)

    @property
    def carried_bytes(self) -> int:
        """An upper bound of this state's JSON (`model_dump_json`) size, kept as places change."""
        return self._carried + 40  # the two field names and the braces

    def owner_of(self, journey_id: str) -> str | None:
        return self._owner_of.get(journey_id)

    def load(self, owner_id: str) -> int:
        return len(self.holders.get(owner_id, ()))

    def loads(self) -> dict[str, int]:
        return {owner: len(journeys) for owner, journeys in sorted(self.holders.items())}

    def refusal(self, request: Allocate, budget: int = CARRIED_BYTES) -> str | None:
        """Why this request cannot be served now, or None. Only a full ledger refuses: one
        whose state, with this journey added (to a new owner's entry, over capacity), would
        carry more than `budget` bytes."""
        if self.owner_of(request.journey_id) is not None:
            return None  # a journey that holds a place can always ask again
        worst = 2 * carried_size(request.journey_id) + max(carried_size(c.owner_id) for c in request.candidates)
        if self.carried_bytes + worst + _OWNER_ENTRY > budget:
            return (
                f"journey_id: no place left for {request.journey_id!r}: the roster is full "
                f"({self.total} places, {self.carried_bytes} of the {budget} bytes it can carry); "
                "release those of ended journeys (docs/owners.md)"
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
        if chosen.owner_id not in self.holders:
            self._carried += carried_size(chosen.owner_id) + _OWNER_ENTRY
        self.holders.setdefault(chosen.owner_id, []).append(journey)
        self._owner_of[journey] = chosen.owner_id
        self._carried += carried_size(journey)
        if over:
            self.over_capacity.append(journey)
            self._carried += carried_size(journey)
        return Place(owner_id=chosen.owner_id, over_capacity=over, load=self.load(chosen.owner_id))

    def choose(self, request: Allocate) -> Candidate:
        """The preferred owner; else the least-loaded candidate with room who speaks the
        customer's language, else the least-loaded with room; nobody has room, the
        least-loaded candidate (over capacity). Ties go to the earlier candidate."""
        if request.preferred:
            return next(c for c in request.candidates if c.owner_id == request.preferred)
        ranked = sorted(enumerate(request.candidates), key=lambda ic: (self.load(ic[1].owner_id), ic[0]))
        with_room = [c for _, c in ranked if self.load(c.owner_id) < c.capacity]
        speakers = [c for c in with_room if c.speaks_language]
        return (speakers or with_room)[0] if with_room else ranked[0][1]

    def release(self, journey_id: str) -> Released:
        owner = self._owner_of.pop(journey_id, None)
        if owner is not None:
            journeys = self.holders[owner]
            journeys.remove(journey_id)
            self._carried -= carried_size(journey_id)
            if not journeys:
                del self.holders[owner]
                self._carried -= carried_size(owner) + _OWNER_ENTRY
            if journey_id in self.over_capacity:
                self.over_capacity.remove(journey_id)
                self._carried -= carried_size(journey_id)
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
