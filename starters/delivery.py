"""A product event delivered to its journey: by deal (signal-with-start, so an event ahead of
its deal is held), or by account (every running journey of that account; none is a 404 with
Retry-After, so the sender delivers it again rather than it being lost). Shared by `/events`
and `/events/segment`."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from temporalio.client import Client

from starters import journeys
from starters.models import ProductEvent
from starters.problems import Problem

log = structlog.get_logger("starters.delivery")


async def deliver(
    client: Client, event: ProductEvent, target: journeys.Target, retry_after: int, **ids: Any
) -> list[journeys.EventDelivery]:
    """`ids` are identifiers for the logs (webhook id, message id), never content."""
    signal, payload = event.signal()
    if event.deal_id is not None:
        return [await journeys.signal_deal(client, event.deal_id, signal, payload, target)]
    assert event.account_id is not None
    workflow_ids = await journeys.running_journeys_for_account(client, event.account_id, target)
    if not workflow_ids:
        log.warning(
            "event_without_journey", event_id=event.event_id, account_id=event.account_id, type=event.type, **ids
        )
        raise Problem(
            404,
            "journey-not-found",
            "No running journey for this account",
            f"no running journey has CustomerId {event.account_id!r}; the event was not "
            "applied. Deliver it again later (see Retry-After) or send it with deal_id, "
            "which holds it until the deal's journey starts.",
            headers={"Retry-After": str(retry_after)},
        )
    return list(
        await asyncio.gather(*(journeys.signal_running(client, wid, signal, payload, target) for wid in workflow_ids))
    )
