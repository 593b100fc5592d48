"""`deliver_product_events`: the intake workflow's hands (workflows/intake.py), run by the
worker; it lives beside the delivery code it shares with the HTTP service. Each event of a
slice is delivered as the HTTP service delivers a single event (starters/journeys.py): by
deal with signal-with-start (a journey not there yet is created waiting for its deal), or to
every running journey of its account.

Idempotent where it counts: the workflow ids are the deals', so a retry never makes a second
journey; the activity heartbeats how far it got, so a retry after a crash resumes there and
at most the one event in flight reaches its journey twice (the journey de-duplicates on
`event_id`)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client

from contracts.intake import DELIVER_ACTIVITY, Delivered, DeliverEvents
from starters import journeys

# Each call to Temporal the activity makes; the activity's own timeout bounds the slice.
RPC_TIMEOUT = timedelta(seconds=10)


class IntakeActivities:
    def __init__(self, client: Client, rpc_timeout: timedelta = RPC_TIMEOUT) -> None:
        self._client = client
        self._rpc_timeout = rpc_timeout

    @activity.defn(name=DELIVER_ACTIVITY)
    async def deliver_product_events(self, request: DeliverEvents) -> Delivered:
        target = journeys.Target(request.journeys_task_queue, self._rpc_timeout)
        start, without_journey = _progress(activity.info().heartbeat_details)
        for index in range(start, len(request.events)):
            event = request.events[index]
            if event.deal_id is not None:
                await journeys.signal_deal(self._client, event.deal_id, event.signal, event.body, target)
            else:
                assert event.account_id is not None  # QueuedEvent's are made with one or the other
                found = await journeys.running_journeys_for_account(self._client, event.account_id, target)
                if not found:
                    without_journey.append(index)
                await asyncio.gather(
                    *(journeys.signal_running(self._client, wid, event.signal, event.body, target) for wid in found)
                )
            activity.heartbeat(index + 1, without_journey)
        return Delivered(delivered=len(request.events) - len(without_journey), without_journey=without_journey)


def _progress(details: Any) -> tuple[int, list[int]]:
    """Where an earlier attempt of this activity stopped (its last heartbeat)."""
    if len(details) >= 2:
        return int(details[0]), [int(i) for i in details[1]]
    return 0, []
