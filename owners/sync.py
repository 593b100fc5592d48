"""`onboarding roster-sync`: bring the owner roster in line with the journeys that run.

Journeys take and free their places themselves. This repairs what they cannot:
- running journeys the roster does not count (started before the roster existed, i.e.
  the first deploy of it): each gets a place with the owner it already has;
- places held by journeys that are no longer running (terminated by hand, or ended on a
  version that did not release): freed.

Safe to rerun, and safe while workers run: adding is idempotent per journey, and a place is
freed only after `describe` (strongly consistent, unlike the visibility list) says the
journey has ended. docs/owners.md explains when to run it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from contracts.journey import TASK_QUEUE, WORKFLOW_TYPE
from contracts.owners import Allocate, Candidate, Release
from contracts.search_attributes import OWNER
from owners.client import ROSTER_UPDATES_IN_FLIGHT, RosterFull, update_roster
from owners.places import Places
from owners.roster import Roster
from owners.workflow import OwnerRosterWorkflow, roster_workflow_id

T = TypeVar("T")


@dataclass
class SyncReport:
    added: dict[str, str] = field(default_factory=dict)  # journey id -> owner id
    released: dict[str, str] = field(default_factory=dict)  # journey id -> owner id
    skipped: dict[str, str] = field(default_factory=dict)  # journey id -> why

    def summary(self) -> str:
        return (
            f"{len(self.added)} places added (running journeys the roster did not count), "
            f"{len(self.released)} released (journeys no longer running), "
            f"{len(self.skipped)} journeys skipped"
        )


async def held_places(client: Client, task_queue: str) -> Places:
    try:
        return await client.get_workflow_handle(roster_workflow_id(task_queue)).query(OwnerRosterWorkflow.places)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return Places()  # no roster yet: the first add starts it
        raise


async def running_journeys(client: Client, task_queue: str) -> dict[str, str]:
    """Running journeys on `task_queue` -> their owner id ("" before one is assigned)."""
    query = f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TaskQueue = '{task_queue}'"
    return {
        execution.id: execution.typed_search_attributes.get(OWNER) or ""
        async for execution in client.list_workflows(query)
    }


async def has_ended(client: Client, journey_id: str) -> bool:
    try:
        description = await client.get_workflow_handle(journey_id).describe()
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return True  # gone past retention
        raise
    return description.status is not WorkflowExecutionStatus.RUNNING


async def sync_roster(
    client: Client, roster: Roster, task_queue: str = TASK_QUEUE, *, dry_run: bool = False
) -> SyncReport:
    report = SyncReport()
    places = await held_places(client, task_queue)
    running = await running_journeys(client, task_queue)
    manager = roster.manager.id if roster.manager else None
    gate = asyncio.Semaphore(ROSTER_UPDATES_IN_FLIGHT)

    async def gated(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    async def add(journey_id: str, owner_id: str) -> None:
        owner = roster.by_id(owner_id)
        if not owner_id:
            report.skipped[journey_id] = "no owner yet (it is being assigned one)"
        elif owner is None:
            report.skipped[journey_id] = (
                "owned by the manager (unstaffed): holds no place"
                if owner_id == manager
                else f"owner {owner_id!r} is not on the roster"
            )
        elif await gated(lambda: has_ended(client, journey_id)):
            report.skipped[journey_id] = "ended since it was listed"
        else:
            if not dry_run:
                request = Allocate(
                    journey_id=journey_id,
                    candidates=[Candidate(owner_id=owner.id, capacity=owner.capacity)],
                    preferred=owner.id,
                )
                try:
                    await gated(lambda: update_roster(client, task_queue, OwnerRosterWorkflow.allocate, request))
                except RosterFull as full:
                    report.skipped[journey_id] = full.reason
                    return
            report.added[journey_id] = owner.id

    async def release(journey_id: str, owner_id: str) -> None:
        if await gated(lambda: has_ended(client, journey_id)):
            if not dry_run:
                request = Release(journey_id=journey_id)
                await gated(lambda: update_roster(client, task_queue, OwnerRosterWorkflow.release, request))
            report.released[journey_id] = owner_id

    # Frees first, so a full roster has room for the running journeys it did not count.
    await asyncio.gather(
        *(release(j, owner) for owner, journeys in places.holders.items() for j in journeys if j not in running)
    )
    await asyncio.gather(*(add(j, owner) for j, owner in running.items() if places.owner_of(j) is None))
    return report
