"""Recording the journey's business moments from workflow code (docs/records.md, Moments).

Each moment goes to the `record_moments` activity as a local activity: no round trip through
the server, a marker in the history so a replay never runs it again, and an idempotency key
built from the workflow id (never the run id) so a retried workflow task, a restarted worker
or a new run writes a given moment once. A moment is analytics, not a step of the journey:
if the records stay unreachable past RECORD_FOR, the journey logs it and goes on.

Since v3.2 (`versions.FEWER_COMMANDS`) a step's moments are held and written together by
one `record_moments` call: the kickoff's `started`, `owner_assigned` and `told`, a move's
`first_action`, `milestone_completed` and the next `told`. Journeys started earlier replay
their one `record_moment` call per moment.

Since v3.9 (`versions.MOMENTS_BY_ACTIVITY`) that call is a regular activity: under load a
local activity's result could reach the workflow a workflow task after its marker was
recorded, and a signal arriving meanwhile then ran in another order in a replay
(workflows/versions.py). Runs started earlier replay their local activities."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.moments import MomentActivities
    from contracts.deal import DealClosed
    from contracts.moments import MomentKind, MomentRequest, MomentsRequest, Touchpoint, moment_key
    from contracts.playbook import PlaybookSnapshot

RECORD_FOR = timedelta(minutes=10)
# how each recording activity runs (one moment or a step's), local (before v3.9) or not
_RECORDING: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "schedule_to_close_timeout": RECORD_FOR,
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}


def moment(
    kind: MomentKind,
    deal: DealClosed,
    snapshot: PlaybookSnapshot,
    *,
    journey_version: str,
    owner: str | None,
    milestone: str | None = None,
    touchpoint: Touchpoint | None = None,
    occurrence: int | str | None = None,
    variant: str | None = None,
    detail: dict[str, Any] | None = None,
) -> MomentRequest:
    """The moment as the journey sees it now. `occurrence` tells repeated moments of one kind
    apart (the escalation number, the message sequence, the assignment count)."""
    workflow_id = workflow.info().workflow_id
    parts = [p for p in (milestone, occurrence) if p is not None]
    return MomentRequest(
        key=moment_key(workflow_id, kind, *parts),
        kind=kind,
        at=workflow.now(),
        workflow_id=workflow_id,
        deal_id=deal.deal_id,
        account_id=deal.account.id,
        segment=deal.segment,
        product=deal.product,
        playbook=snapshot.playbook.name,
        playbook_hash=snapshot.digest,
        journey_version=journey_version,
        variant=variant,
        owner=owner,
        milestone=milestone,
        touchpoint=touchpoint,
        detail=detail or {},
    )


async def record(request: MomentRequest) -> None:
    try:
        await workflow.execute_local_activity_method(
            MomentActivities.record_moment,
            request,
            **_RECORDING,
            summary=f"record moment {request.kind.value}",
        )
    except ActivityError:
        workflow.logger.warning("moment not recorded", extra={"moment": request.kind.value})


async def record_all(batch: list[MomentRequest], *, by_activity: bool) -> None:
    """A step's moments, by one regular activity (`by_activity`, v3.9) or one local activity."""
    kinds = ", ".join(m.kind.value for m in batch)
    request = MomentsRequest(moments=batch)
    try:
        execute = workflow.execute_activity_method if by_activity else workflow.execute_local_activity_method
        await execute(MomentActivities.record_moments, request, **_RECORDING, summary=f"record moments {kinds}")
    except ActivityError:
        workflow.logger.warning("moments not recorded", extra={"moments": kinds})
