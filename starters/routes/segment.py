"""`POST /events/segment`: Segment's webhook destination (X-Signature, HMAC-SHA1). Mapped
`track` calls become the same signals as `/events`; every other call is acknowledged and
counted (starters/segment.py).

One call is delivered before the answer, as on `/events`. A batch (a JSON array, up to
4,000 calls) is made durable in one step, an intake workflow started before the answer
(starters/batches.py), and delivered by it afterwards: the answer never waits on thousands of
signals, so it comes well within Segment's 10-second timeout."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from records.intake_events import EventLedger
from starters.batches import delivery_key, queue_batch
from starters.deps import (
    EventLedgerDep,
    RefusalsDep,
    Service,
    ServiceDep,
    SettingsDep,
    SignedJson,
    TargetDep,
    TemporalDep,
    Verified,
)
from starters.edge import deliver_once
from starters.intake import validate
from starters.models import (
    SegmentAccepted,
    SegmentBatchAccepted,
    SegmentCallRejected,
    SegmentEventAccepted,
)
from starters.problems import FieldError, Problem, problem_responses
from starters.refusals import keep_segment
from starters.segment import Mapped, Rejected, SegmentCall, batch_calls, map_calls, refusal, verify_segment
from starters.settings import StarterSettings
from starters.temporal import TemporalGateway

log = structlog.get_logger("starters.vendors")
router = APIRouter()


def verify(request: Request, service: Service, body: bytes) -> None:
    verify_segment([s.get_secret_value() for s in service.settings.segment_shared_secret], body, request.headers)


def calls(raw: Any) -> tuple[list[SegmentCall | Rejected], bool]:
    """The calls of a body, each validated on its own, and whether it was a batch (a JSON
    array) or one call."""
    if isinstance(raw, list):
        return batch_calls(raw), True
    try:
        return [validate(SegmentCall, raw)], False
    except Problem as problem:
        if problem.status != 422 or not isinstance(raw, dict):
            raise
        # kept before the 422 (starters/refusals.py): Segment does not send it again
        message_id = raw.get("messageId")
        return [Rejected(0, message_id if isinstance(message_id, str) else None, problem.errors or [], raw)], False


def max_body(settings: StarterSettings) -> int:
    return settings.segment_max_body_bytes


Delivery = Annotated[
    Verified[tuple[list[SegmentCall | Rejected], bool]],
    Depends(SignedJson(verify, calls, title="Sender verification failed", max_body=max_body)),
]


@router.post(
    "/events/segment",
    responses={
        **problem_responses(400, 401, 404, 413, 415, 422, 429, 503),
        202: {"model": SegmentBatchAccepted, "description": "a batch, queued for delivery"},
    },
    response_model=SegmentAccepted,
    response_model_exclude_none=True,
    summary="Segment webhook destination: track calls (X-Signature HMAC-SHA1)",
)
async def segment(
    delivery: Delivery,
    service: ServiceDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    target: TargetDep,
    refusals: RefusalsDep,
    ledger: EventLedgerDep,
) -> Any:
    """One call: `200`, delivered. A batch: `202`, queued (and delivered by its intake).
    Every call refused (a 422 for one call, named in a batch's answer) is kept in the records
    first: for Segment a 4xx is final, so they are the only place it is left."""
    body_calls, batch = delivery.value
    mapped = map_calls(body_calls, settings.segment_mapping, batch)
    _log_ignored(mapped.ignored)
    for rejected in mapped.rejected:
        await keep_segment(refusals, service.converter, rejected)
    if not batch or not mapped.events:
        # nothing in the body can be used and something was wrong: refused as a whole, as before
        if mapped.rejected:
            raise refusal(mapped.rejected)
        if not batch:
            try:
                return await _deliver_one(mapped, service, ledger, temporal, target)
            except Problem as problem:
                if problem.status == 404:  # final for Segment: the call is kept for a retry by staff
                    await keep_segment(refusals, service.converter, _without_journey(body_calls[0], settings))
                raise
    queued_in: list[str] = []
    if mapped.events:
        key = delivery_key([c.messageId for c in body_calls if isinstance(c, SegmentCall)])
        async with temporal.calls() as client:
            queued_in = await queue_batch(client, "segment", key, mapped.events, target, settings.retry_after_seconds)
        log.info("segment_batch_queued", count=len(mapped.events), intake=queued_in)
    for rejected in mapped.rejected:
        # field names and the messageId, never values: they may be the customer's
        log.warning(
            "segment_call_rejected",
            index=rejected.index,
            message_id=rejected.message_id,
            fields=[e.field for e in rejected.errors],
            kept=True,
        )
    answer = SegmentBatchAccepted(
        queued=len(mapped.events),
        ignored=len(mapped.ignored),
        rejected=[
            SegmentCallRejected(index=r.index, message_id=r.message_id, errors=r.errors) for r in mapped.rejected
        ],
        intake=queued_in,
    )
    # not the route's response_model (the one-call answer): documented as the 202 above
    return JSONResponse(answer.model_dump(mode="json"), status_code=202)


def _without_journey(call: SegmentCall | Rejected, settings: StarterSettings) -> Rejected:
    assert isinstance(call, SegmentCall)  # a mapped call
    error = FieldError(
        field=settings.segment_mapping.account_id_path,
        message="no running journey has this account",
        type="journey-not-found",
    )
    return Rejected(0, call.messageId, [error], call.model_dump(mode="json"))


async def _deliver_one(
    mapped: Mapped, service: Service, ledger: EventLedger, temporal: TemporalGateway, target: Any
) -> SegmentAccepted:
    """Once per journey and messageId (Segment retries a call it got no 2xx for, and the
    product may send one twice), within the journey's rate: starters/edge.py."""
    accepted: list[SegmentEventAccepted] = []
    for event in mapped.events:
        done = await deliver_once(
            "segment",
            event,
            service=service,
            ledger=ledger,
            temporal=temporal,
            target=target,
            message_id=event.event_id,
        )
        signal, _ = event.signal()
        accepted.append(
            SegmentEventAccepted(
                message_id=event.event_id, signal=signal, deliveries=done.deliveries, duplicate=done.duplicate or None
            )
        )
    for item in accepted:
        for d in item.deliveries:
            log.info(
                "segment_event_duplicate" if item.duplicate else "segment_event_accepted",
                message_id=item.message_id,
                signal=item.signal,
                workflow_id=d.workflow_id,
                outcome=d.outcome,
            )
    return SegmentAccepted(accepted=accepted, ignored=len(mapped.ignored))


def _log_ignored(ignored: list[str]) -> None:
    if ignored:
        # event names are the product's vocabulary, not the customer's data
        log.info(
            "segment_events_ignored", count=len(ignored), events=dict(Counter(n[:64] for n in ignored).most_common(20))
        )
