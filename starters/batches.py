"""A batch of product events made durable before the sender is answered: started as the
intake workflow (workflows/intake.py, contracts/intake.py), which delivers each event to its
journey afterwards. Answering a large batch never waits on thousands of signals, and a
batch answered 2xx is never partly delivered.

The intake's id comes from the batch (its source and a digest of its message ids), so the
same batch delivered again starts nothing new: a running intake is joined (conflict policy
USE_EXISTING), a finished one is not run again (reuse policy REJECT_DUPLICATE). A batch whose
events, encoded, would pass Temporal's 2 MB limit on a workflow's input is started as
several intakes of at most `CHUNK_BYTES` each, each journey's events kept in one of them
(`chunks`)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Sequence

import structlog
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contracts.intake import INTAKE_WORKFLOW_TYPE, Intake, QueuedEvent, intake_task_queue
from starters.journeys import Target
from starters.models import ProductEvent
from starters.problems import Problem

log = structlog.get_logger("starters.batches")

# The JSON of one intake's events: half of Temporal's 2 MB, leaving room for the codec's
# envelope and the rest of the input.
CHUNK_BYTES = 1_000_000


def queued(event: ProductEvent) -> QueuedEvent:
    signal, body = event.signal()
    return QueuedEvent.model_validate(
        {"signal": signal, "body": body, "deal_id": event.deal_id, "account_id": event.account_id}
    )


def delivery_key(message_ids: Sequence[str]) -> str:
    """The batch's identity: the same calls in the same order are the same batch."""
    digest = hashlib.sha256()
    for message_id in message_ids:
        digest.update(message_id.encode() + b"\n")
    return digest.hexdigest()[:40]


def chunks(events: list[QueuedEvent], limit: int = CHUNK_BYTES) -> list[list[QueuedEvent]]:
    """The events in parts of at most `limit` bytes of JSON: all of them in one part when they
    fit (nearly always). Otherwise the parts run side by side, so each journey's events are
    kept together in one part, in the sender's order; only one journey's events past `limit`
    on their own (hundreds of long help requests in one batch) are split, in order, over
    consecutive parts."""
    sizes = [len(event.model_dump_json()) + 1 for event in events]
    if sum(sizes) <= limit:
        return [events]
    groups: dict[str, list[tuple[QueuedEvent, int]]] = {}
    for event, size in zip(events, sizes, strict=True):
        key = f"deal:{event.deal_id}" if event.deal_id is not None else f"account:{event.account_id}"
        groups.setdefault(key, []).append((event, size))
    parts: list[list[QueuedEvent]] = [[]]
    used = 0
    for group in groups.values():
        if parts[-1] and used + sum(size for _, size in group) > limit:
            parts.append([])
            used = 0
        for event, size in group:
            if parts[-1] and used + size > limit:
                parts.append([])
                used = 0
            parts[-1].append(event)
            used += size
    return parts


async def queue_batch(
    client: Client, source: str, key: str, events: list[ProductEvent], target: Target, retry_after: int
) -> list[str]:
    """Start the intake(s) of a batch; their workflow ids. Raises TemporalUnavailable (and the
    like) when nothing was started; a 503 Problem saying so when only some parts were."""
    parts = chunks([queued(e) for e in events])
    ids = [f"intake-{source}-{key}-{i + 1}-of-{len(parts)}" for i in range(len(parts))]
    results = await asyncio.gather(
        *(_start(client, wid, source, part, target) for wid, part in zip(ids, parts, strict=True)),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed and len(failed) == len(parts):
        raise failed[0]
    if failed:
        log.warning("batch_partly_queued", source=source, queued=len(parts) - len(failed), parts=len(parts))
        raise Problem(
            503,
            "batch-partly-queued",
            "Part of the batch could not be queued",
            f"{len(parts) - len(failed)} of {len(parts)} parts of this batch were queued; deliver it "
            "again after Retry-After seconds: the parts already queued are not delivered twice",
            headers={"Retry-After": str(retry_after)},
        )
    return ids


async def _start(client: Client, workflow_id: str, source: str, events: list[QueuedEvent], target: Target) -> None:
    # A WorkflowAlreadyStartedError: this batch was queued before and its intake has finished.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            INTAKE_WORKFLOW_TYPE,
            Intake(source=source, journeys_task_queue=target.task_queue, events=events),
            id=workflow_id,
            task_queue=intake_task_queue(target.task_queue),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            rpc_timeout=target.rpc_timeout,
        )
