"""One product event delivered at most once per journey, within the journey's rate: the path
`/events` and a single Segment call share (starters/flood.py says why; docs/http.md "Floods
stop at the edge").

In order: the same event again is answered from the records, without Temporal; a journey
over its rate gets 429; then the signal. A delivery that fails is released, so the sender's
retry delivers it; Temporal's per-run signal limit becomes 429 with Retry-After."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.service import RPCError

from records.intake_events import EventLedger
from starters import flood, journeys, metrics
from starters.delivery import deliver
from starters.deps import Service
from starters.models import EventDeliveryOut, ProductEvent
from starters.temporal import TemporalGateway


@dataclass(frozen=True)
class Delivered:
    deliveries: list[EventDeliveryOut]
    # the same event was delivered before: this is that delivery's answer, nothing was signalled
    duplicate: bool = False


def event_key(source: str, event: ProductEvent) -> str:
    # per journey, as the journey itself de-duplicates: an id reused for another deal is another event
    return f"{source}:{flood.journey_key(event.deal_id, event.account_id)}:{event.event_id}"


async def deliver_once(
    source: str,
    event: ProductEvent,
    *,
    service: Service,
    ledger: EventLedger,
    temporal: TemporalGateway,
    target: journeys.Target,
    **ids: Any,
) -> Delivered:
    settings = service.settings
    key = event_key(source, event)
    claim = await ledger.claim(key, datetime.now(UTC))
    if not claim.mine:
        if claim.answer is None:
            raise flood.in_flight(settings.retry_after_seconds)
        metrics.EDGE_DUPLICATES.labels(source).inc()
        return Delivered([EventDeliveryOut.model_validate(d) for d in claim.answer["deliveries"]], duplicate=True)
    wait = service.limiter.take(flood.journey_key(event.deal_id, event.account_id))
    if wait is not None:
        await ledger.release(key)
        raise flood.too_many(key, wait, settings.journey_event_rate)
    try:
        async with temporal.calls() as client:
            found = await deliver(client, event, target, settings.unknown_account_retry_after_seconds, **ids)
    except BaseException as err:
        await ledger.release(key)
        if isinstance(err, RPCError) and flood.is_signal_limit(err):
            raise flood.signal_limit(settings.journey_signal_limit_retry_after_seconds) from None
        raise
    out = [EventDeliveryOut(workflow_id=d.workflow_id, outcome=d.outcome) for d in found]
    await ledger.delivered(key, {"deliveries": [d.model_dump() for d in out]}, datetime.now(UTC))
    return Delivered(out)
