"""assign_owner and release_owner: one accountable person per journey, places counted exactly.

The roster file says who is eligible (segment, time off, capacity); the owner-roster
workflow (`owners/workflow.py`) says who holds which place, and hands them out one at a
time. Nobody has room: the least-loaded eligible owner takes the journey over capacity,
flagged. Nobody serves the segment, everyone is away, or the roster is full: the manager
takes it, flagged unstaffed. A journey is never left without an owner (docs/owners.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from contracts.owners import (
    Allocate,
    AssignOwnerRequest,
    Candidate,
    OwnerAssignment,
    Person,
    Place,
    Release,
    Released,
    ReleaseOwnerRequest,
)
from owners.client import ROSTER_UPDATES_IN_FLIGHT, In, Out, RosterFull, update_roster
from owners.roster import Manager, Roster, RosterOwner, load_roster
from owners.workflow import OwnerRosterWorkflow
from playbooks.loader import PlaybookError

log = structlog.get_logger(__name__)


class Staffing(BaseModel):
    """Who may take the journey, in preference order; or why nobody can."""

    candidates: list[RosterOwner] = []
    unstaffed: str = ""


def staffing(roster: Roster, request: AssignOwnerRequest) -> Staffing:
    """Pure, so every rule is unit-tested without a server. Capacity is not looked at
    here: the roster workflow knows the loads and decides who has room."""
    if request.preferred:
        owner = roster.by_id(request.preferred)
        if owner is None:
            raise ApplicationError(f"owner: no owner with id {request.preferred!r} in the roster", non_retryable=True)
        if not owner.available_on(request.as_of):
            raise ApplicationError(f"owner: {owner.id!r} is out of office on {request.as_of}", non_retryable=True)
        return Staffing(candidates=[owner])
    serving = [o for o in roster.owners if o.serves(request.segment)]
    if not serving:
        return Staffing(unstaffed=f"nobody on the roster serves segment {request.segment!r}")
    available = [o for o in serving if o.available_on(request.as_of)]
    if not available:
        return Staffing(unstaffed=f"everyone serving segment {request.segment!r} is out of office on {request.as_of}")
    eligible = [o for o in available if o.id not in request.exclude]
    if not eligible:
        # Only a replacement excludes anyone, and it keeps its current owner.
        raise ApplicationError(
            f"no other owner for segment {request.segment!r} on {request.as_of}: "
            f"everyone available is excluded ({', '.join(sorted(request.exclude))})",
            type="NoEligibleOwner",
            non_retryable=True,
        )
    return Staffing(candidates=sorted(eligible, key=lambda o: o.id))  # ties go by id


def person(owner: RosterOwner) -> Person:
    return Person(id=owner.id, name=owner.name, email=str(owner.email), slack=owner.slack, timezone=owner.timezone)


def manager_person(manager: Manager) -> Person:
    return Person(
        id=manager.id, name=manager.name, email=str(manager.email), slack=manager.slack, timezone=manager.timezone
    )


class OwnerActivities:
    def __init__(self, client: Client, roster: Callable[[], Roster] = load_roster) -> None:
        self._client = client
        self._roster = roster
        self._in_flight = asyncio.Semaphore(ROSTER_UPDATES_IN_FLIGHT)

    @activity.defn
    async def assign_owner(self, request: AssignOwnerRequest) -> OwnerAssignment:
        try:
            roster = self._roster()
        except PlaybookError as err:
            raise ApplicationError(str(err), type="RosterError") from None
        manager = manager_person(roster.manager) if roster.manager else None
        staff = staffing(roster, request)
        if staff.unstaffed:
            return self._unstaffed(request, manager, staff.unstaffed)
        try:
            place = await self._allocate(
                Allocate(
                    journey_id=request.journey_id or activity.info().workflow_id,
                    candidates=[
                        Candidate(owner_id=o.id, capacity=o.capacity, speaks_language=o.speaks(request.language))
                        for o in staff.candidates
                    ],
                    preferred=request.preferred,
                )
            )
        except RosterFull as full:
            # No place can be recorded: the journey still starts, owned by the manager, and
            # says why (a staff member's explicit choice is refused instead, with the reason).
            if request.preferred:
                raise
            return self._unstaffed(request, manager, full.reason)
        owner = roster.by_id(place.owner_id)
        assert owner is not None  # the roster workflow only picks among the candidates
        log.info(
            "owner.assigned",
            deal_id=request.deal_id,
            owner=owner.id,
            load=place.load,
            capacity=owner.capacity,
            over_capacity=place.over_capacity,
        )
        backup = roster.by_id(owner.backup) if owner.backup else None
        return OwnerAssignment(
            owner=person(owner),
            backup=person(backup) if backup else None,
            manager=manager,
            over_capacity=place.over_capacity,
        )

    @staticmethod
    def _unstaffed(request: AssignOwnerRequest, manager: Person | None, reason: str) -> OwnerAssignment:
        """Nobody on the roster can take the journey: the manager owns it, flagged with why."""
        if manager is None:
            raise ApplicationError(
                f"{reason}, and the roster names no manager to take the journey", type="Unstaffed", non_retryable=True
            )
        log.warning("owner.unstaffed", deal_id=request.deal_id, reason=reason, owner=manager.id)
        return OwnerAssignment(owner=manager, manager=manager, unstaffed=reason)

    @activity.defn
    async def release_owner(self, request: ReleaseOwnerRequest) -> Released:
        """The journey ended (activated or closed): its owner's place is free again. A
        reassignment through assign_owner moves the place by itself."""
        released = await self._roster_update(
            OwnerRosterWorkflow.release, Release(journey_id=request.journey_id or activity.info().workflow_id)
        )
        log.info("owner.released", deal_id=request.deal_id, owner=released.owner_id)
        return released

    async def _allocate(self, request: Allocate) -> Place:
        return await self._roster_update(OwnerRosterWorkflow.allocate, request)

    async def _roster_update(
        self, update: workflow.UpdateMethodMultiParam[[OwnerRosterWorkflow, In], Out], request: In
    ) -> Out:
        """Update the roster of this worker's task queue (the journeys' own)."""
        async with self._in_flight:
            return await update_roster(self._client, activity.info().task_queue, update, request)
