"""assign_owner: one accountable person per journey, the least-loaded eligible one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import structlog
from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from playbooks.loader import PlaybookError
from playbooks.roster import Roster, RosterOwner, load_roster
from workflows.models import WORKFLOW_TYPE, OwnerAssignment, Person

log = structlog.get_logger(__name__)

# Running journeys per owner id; the production source is Temporal visibility.
OwnerLoad = Callable[[list[str]], Awaitable[dict[str, int]]]


class AssignOwnerRequest(BaseModel):
    deal_id: str
    segment: str
    as_of: date  # the journey's today (workflow time), for out-of-office checks
    preferred: str | None = None  # a staff member's explicit choice (reassign)
    exclude: list[str] = []


def visibility_load(client: Client) -> OwnerLoad:
    async def count(owner_ids: list[str]) -> dict[str, int]:
        loads = {}
        for owner_id in owner_ids:
            query = (
                f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' "
                f"AND OnboardingOwner = '{owner_id}'"
            )
            loads[owner_id] = (await client.count_workflows(query)).count
        return loads

    return count


def person(owner: RosterOwner | None) -> Person | None:
    if owner is None:
        return None
    return Person(id=owner.id, name=owner.name, email=str(owner.email), slack=owner.slack, timezone=owner.timezone)


def choose(roster: Roster, request: AssignOwnerRequest, loads: dict[str, int]) -> RosterOwner:
    """Least-loaded eligible owner with spare capacity; ties by id, so the choice is
    reproducible. Pure, so it is unit-tested without a server."""
    if request.preferred:
        owner = roster.by_id(request.preferred)
        if owner is None:
            raise ApplicationError(f"owner: no owner with id {request.preferred!r} in the roster", non_retryable=True)
        if not owner.available_on(request.as_of):
            raise ApplicationError(f"owner: {owner.id!r} is out of office on {request.as_of}", non_retryable=True)
        return owner
    eligible = [
        o
        for o in roster.owners
        if o.serves(request.segment)
        and o.available_on(request.as_of)
        and o.id not in request.exclude
        and loads.get(o.id, 0) < o.capacity
    ]
    if not eligible:
        raise ApplicationError(
            f"no eligible owner for segment {request.segment!r} on {request.as_of}: "
            "everyone serving it is out of office, excluded or at capacity",
            type="NoEligibleOwner",
        )
    return min(eligible, key=lambda o: (loads.get(o.id, 0), o.id))


class ReleaseOwnerRequest(BaseModel):
    journey_id: str
    owner_id: str
    deal_id: str = ""


class OwnerActivities:
    def __init__(self, load: OwnerLoad, roster: Callable[[], Roster] = load_roster) -> None:
        self._load = load
        self._roster = roster

    @activity.defn
    async def assign_owner(self, request: AssignOwnerRequest) -> OwnerAssignment:
        try:
            roster = self._roster()
        except PlaybookError as err:
            raise ApplicationError(str(err), type="RosterError") from None
        loads = await self._load([o.id for o in roster.owners]) if not request.preferred else {}
        owner = choose(roster, request, loads)
        log.info("owner.assigned", deal_id=request.deal_id, owner=owner.id, load=loads.get(owner.id))
        manager = roster.manager
        return OwnerAssignment(
            owner=person(owner),  # type: ignore[arg-type]
            backup=person(roster.by_id(owner.backup)) if owner.backup else None,
            manager=Person(id=manager.id, name=manager.name, email=str(manager.email), slack=manager.slack)
            if manager
            else None,
        )

    @activity.defn
    async def release_owner(self, request: ReleaseOwnerRequest) -> None:
        """The journey no longer holds a place with this owner (ended, or moved on). Load is
        counted from running journeys, so there is nothing to give back here."""
        log.info("owner.released", journey_id=request.journey_id, owner=request.owner_id)
