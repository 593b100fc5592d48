"""Read who requested a journey's cancellation. The workflow learns only the request's reason;
the sender's identity is in the `WorkflowExecutionCancelRequested` event of its history, which
an activity can read (with the worker's own client)."""

from __future__ import annotations

from temporalio import activity

from contracts.cancellation import CancellationRequester

MAX_IDENTITY = 100


def readable(identity: str) -> str | None:
    """Any sender sets its identity: keep it printable, on one line and bounded."""
    kept = "".join(c if c.isprintable() else " " for c in identity).strip()
    kept = " ".join(kept.split())
    if not kept:
        return None
    return kept if len(kept) <= MAX_IDENTITY else kept[: MAX_IDENTITY - 1] + "…"


@activity.defn
async def cancellation_requester() -> CancellationRequester:
    """The identity on this journey run's cancellation request (the first, if several)."""
    info = activity.info()
    if not info.workflow_id:  # not run by a journey
        return CancellationRequester()
    handle = activity.client().get_workflow_handle(info.workflow_id, run_id=info.workflow_run_id)
    async for event in handle.fetch_history_events():
        if event.HasField("workflow_execution_cancel_requested_event_attributes"):
            return CancellationRequester(
                identity=readable(event.workflow_execution_cancel_requested_event_attributes.identity)
            )
    return CancellationRequester()
