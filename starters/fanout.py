"""`deliver_product_events`: the intake workflow's hands (workflows/intake.py), run by the
worker; it lives beside the delivery code it shares with the HTTP service. Each event of a
slice is delivered as the HTTP service delivers a single event (starters/journeys.py): by
deal with signal-with-start (a journey not there yet is created waiting for its deal), or to
every running journey of its account.

Paced per journey (JOURNEY_EVENT_RATE after a burst of JOURNEY_EVENT_BURST, as the HTTP
service's single events): a slice holds at most 200 events, so a slice for one journey takes
at most about 85 s at the default 2 per second, well inside the activity's 5 minutes, and
heartbeats after each event.

Idempotent where it counts: the workflow ids are the deals', so a retry never makes a second
journey; the activity heartbeats how far it got, so a retry after a crash resumes from the
last heartbeat the server recorded. The SDK sends heartbeats at most every 80% of the
heartbeat timeout (24 s here), so the events delivered since then reach their journey a
second time; the journey de-duplicates on `event_id`, so they change nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client

from contracts.intake import DELIVER_ACTIVITY, Delivered, DeliverEvents, QueuedEvent
from starters import journeys
from starters.flood import JourneyRateLimiter, journey_key

# Each call to Temporal the activity makes; the activity's own timeout bounds the slice.
RPC_TIMEOUT = timedelta(seconds=10)
# Journeys delivered to side by side (each journey's own events stay one after the other).
LANES = 16


class IntakeActivities:
    def __init__(
        self,
        client: Client,
        rpc_timeout: timedelta = RPC_TIMEOUT,
        lanes: int = LANES,
        pace: JourneyRateLimiter | None = None,
    ) -> None:
        """`pace`: each journey's rate, shared by every slice this worker delivers (by default
        JOURNEY_EVENT_RATE and _BURST, as the HTTP service's): a batch of thousands of calls
        for one deal reaches its journey no faster than single calls may, so the journey can
        continue as new between them (docs/http.md, floods)."""
        self._client = client
        self._rpc_timeout = rpc_timeout
        self._lanes = lanes
        self._pace = pace or JourneyRateLimiter.from_env()

    @activity.defn(name=DELIVER_ACTIVITY)
    async def deliver_product_events(self, request: DeliverEvents) -> Delivered:
        """Each journey's events one after the other, in the sender's order; different
        journeys' side by side, `lanes` at a time."""
        target = journeys.Target(request.journeys_task_queue, self._rpc_timeout)
        done, without_journey = _progress(activity.info().heartbeat_details)
        destinations: dict[str, list[int]] = {}
        for index, event in enumerate(request.events):
            if index not in done:
                destinations.setdefault(journey_key(event.deal_id, event.account_id), []).append(index)
        lanes = asyncio.Semaphore(self._lanes)

        async def one_destination(indexes: list[int]) -> None:
            for index in indexes:
                event = request.events[index]
                # a journey waiting for its pace holds no lane: the others go on meanwhile
                await self._pace.wait(journey_key(event.deal_id, event.account_id))
                async with lanes:
                    if not await self._deliver(event, target):
                        without_journey.append(index)
                done.add(index)
                activity.heartbeat(sorted(done), sorted(without_journey))

        await asyncio.gather(*(one_destination(indexes) for indexes in destinations.values()))
        return Delivered(delivered=len(request.events) - len(without_journey), without_journey=sorted(without_journey))

    async def _deliver(self, event: QueuedEvent, target: journeys.Target) -> bool:
        """False: the event names an account with no running journey."""
        if event.deal_id is not None:
            await journeys.signal_deal(self._client, event.deal_id, event.signal, event.body, target)
            return True
        assert event.account_id is not None  # a QueuedEvent has one or the other
        found = await journeys.running_journeys_for_account(self._client, event.account_id, target)
        await asyncio.gather(
            *(journeys.signal_running(self._client, wid, event.signal, event.body, target) for wid in found)
        )
        return bool(found)


def _progress(details: Any) -> tuple[set[int], list[int]]:
    """What an earlier attempt of this activity did (its last heartbeat): the events it
    handled, and those of them whose account had no running journey."""
    if len(details) >= 2:
        return {int(i) for i in details[0]}, [int(i) for i in details[1]]
    return set(), []
