"""`POST /events/segment`: Segment's webhook destination (X-Signature, HMAC-SHA1). Mapped
`track` calls become the same signals as `/events`; every other call is acknowledged and
counted (starters/segment.py)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request

from starters.delivery import deliver
from starters.deps import Service, SettingsDep, SignedJson, TargetDep, TemporalDep, Verified
from starters.intake import validate, validate_adapter
from starters.models import EventDeliveryOut, SegmentAccepted, SegmentEventAccepted
from starters.problems import problem_responses
from starters.segment import SegmentBatch, SegmentCall, to_product_events, verify_segment

log = structlog.get_logger("starters.vendors")
router = APIRouter()


def verify(request: Request, service: Service, body: bytes) -> None:
    verify_segment([s.get_secret_value() for s in service.settings.segment_shared_secret], body, request.headers)


def calls(raw: Any) -> tuple[list[SegmentCall], bool]:
    """The calls of a body, and whether it was a batch (a JSON array) or one call."""
    if isinstance(raw, list):
        return validate_adapter(SegmentBatch, raw), True
    return [validate(SegmentCall, raw)], False


Delivery = Annotated[
    Verified[tuple[list[SegmentCall], bool]], Depends(SignedJson(verify, calls, title="Sender verification failed"))
]


@router.post(
    "/events/segment",
    responses=problem_responses(400, 401, 404, 413, 415, 422, 503),
    summary="Segment webhook destination: track calls (X-Signature HMAC-SHA1)",
)
async def segment(
    delivery: Delivery, settings: SettingsDep, temporal: TemporalDep, target: TargetDep
) -> SegmentAccepted:
    batch_calls, batch = delivery.value
    events, ignored = to_product_events(batch_calls, settings.segment_mapping, batch)
    accepted: list[SegmentEventAccepted] = []
    if events:
        async with temporal.calls() as client:
            # one after the other: a batch keeps the order the product sent
            for event in events:
                deliveries = await deliver(
                    client, event, target, settings.unknown_account_retry_after_seconds, message_id=event.event_id
                )
                signal, _ = event.signal()
                accepted.append(
                    SegmentEventAccepted(
                        message_id=event.event_id,
                        signal=signal,
                        deliveries=[EventDeliveryOut(workflow_id=d.workflow_id, outcome=d.outcome) for d in deliveries],
                    )
                )
    for item in accepted:
        for d in item.deliveries:
            log.info(
                "segment_event_accepted",
                message_id=item.message_id,
                signal=item.signal,
                workflow_id=d.workflow_id,
                outcome=d.outcome,
            )
    if ignored:
        # event names are the product's vocabulary, not the customer's data
        log.info(
            "segment_events_ignored", count=len(ignored), events=dict(Counter(n[:64] for n in ignored).most_common(20))
        )
    return SegmentAccepted(accepted=accepted, ignored=len(ignored))
